//! The SSH transport: one connection per host, opened on first use and
//! reused for every command and file of the run; host keys checked against
//! Capstan's known_hosts file.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::Disconnect;
use russh::client::{self, Handle};
use russh::keys::known_hosts::{known_host_keys_path, learn_known_hosts_path};
use russh::keys::{PrivateKeyWithHashAlg, PublicKey};
use tokio::sync::OnceCell;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::quote::command_line;

mod running;

use super::via_exec::{self, ExecPort};
use super::{ExecOutput, ExecRequest, FileInfo, RemoteError, Running};
pub use running::SshRunning;
use running::{STOP_AFTER_KILL, STOP_GRACE};

/// How to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshAuth {
    /// A private key file (OpenSSH or PEM format, without a passphrase).
    KeyFile(PathBuf),
    /// The keys of the running ssh-agent (`SSH_AUTH_SOCK`).
    Agent,
    /// A password read from this environment variable when connecting, so
    /// it is never stored.
    PasswordFromEnv(String),
}

/// Which host keys to accept. Any key recorded for a host and port pins
/// it: a host that shows another key, of any type, is refused unless the
/// user re-pins it to a fingerprint they give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Refuse a key not recorded, naming its fingerprint.
    RequireKnown,
    /// Record a key when nothing is recorded for the host (the user said
    /// `--trust-new-hosts`).
    TrustNew,
    /// Record a key when nothing is recorded for the host, and only if its
    /// `SHA256:…` fingerprint is this one: the key the user was shown.
    TrustFingerprint(String),
    /// Replace whatever is recorded for the host with the key whose
    /// fingerprint is this one (a host whose key was changed on purpose).
    Repin(String),
}

impl HostKeyPolicy {
    /// The policy of a `--trust-new-hosts` flag: record a new host's key
    /// when set, refuse it otherwise.
    pub fn trusting_new(trust_new_hosts: bool) -> HostKeyPolicy {
        if trust_new_hosts {
            HostKeyPolicy::TrustNew
        } else {
            HostKeyPolicy::RequireKnown
        }
    }

    /// The fingerprint this policy accepts, without an algorithm prefix.
    fn wanted(&self) -> Option<&str> {
        match self {
            HostKeyPolicy::TrustFingerprint(f) | HostKeyPolicy::Repin(f) => {
                Some(f.split_whitespace().last().unwrap_or(f))
            }
            _ => None,
        }
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct SshSettings {
    /// The inventory name, for messages.
    pub name: String,
    /// Address or host name.
    pub address: String,
    /// The SSH port (22 unless the inventory says otherwise).
    pub port: u16,
    /// Login user.
    pub user: String,
    /// How to authenticate.
    pub auth: SshAuth,
    /// Capstan's known_hosts file.
    pub known_hosts: PathBuf,
    /// Unknown host keys: refuse or trust.
    pub policy: HostKeyPolicy,
    /// How long to wait for the TCP connection and the handshake.
    pub connect_timeout: Duration,
}

/// A host reached over SSH, connected on first use.
pub struct SshTransport {
    settings: SshSettings,
    connection: OnceCell<Arc<Handle<HostKeyCheck>>>,
    /// The connect error, kept so every later call reports the same cause.
    failed: Mutex<Option<RemoteError>>,
    /// Commands being stopped on the host (their caller gave up on them);
    /// [`SshTransport::close`] lets them finish before it hangs up.
    stopping: TaskTracker,
}

impl std::fmt::Debug for SshTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshTransport")
            .field("settings", &self.settings)
            .finish()
    }
}

impl SshTransport {
    /// A transport that connects when first used.
    pub fn new(settings: SshSettings) -> Self {
        SshTransport {
            settings,
            connection: OnceCell::new(),
            failed: Mutex::new(None),
            stopping: TaskTracker::new(),
        }
    }

    /// The user it logs in as.
    pub fn user(&self) -> &str {
        &self.settings.user
    }

    /// A transport to the same host that logs in as `user` with the same
    /// credentials (a task's `remote_user`), connected on first use.
    pub fn as_user(&self, user: &str) -> SshTransport {
        SshTransport::new(SshSettings {
            user: user.to_string(),
            ..self.settings.clone()
        })
    }

    /// The host's name in the inventory.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// Connects now (or reuses the connection) and returns it.
    pub async fn connect(&self) -> Result<Arc<Handle<HostKeyCheck>>, RemoteError> {
        if let Some(error) = self
            .failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(error);
        }
        let result = self
            .connection
            .get_or_try_init(|| {
                let span = tracing::debug_span!(
                    "ssh_connect",
                    host = %self.settings.name,
                    address = %self.settings.address,
                    port = self.settings.port
                );
                async {
                    let started = std::time::Instant::now();
                    let opened = self.open().await.map(Arc::new);
                    match &opened {
                        Ok(_) => tracing::debug!(
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "logged in"
                        ),
                        Err(e) => tracing::debug!(error = %e, "could not log in"),
                    }
                    opened
                }
                .instrument(span)
            })
            .await
            .cloned();
        if let Err(error) = &result {
            *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.clone());
        }
        result
    }

    async fn open(&self) -> Result<Handle<HostKeyCheck>, RemoteError> {
        let s = &self.settings;
        let unreachable = |why: String| {
            RemoteError::Unreachable(format!("{} ({}:{}): {why}", s.name, s.address, s.port))
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(Duration::from_secs(3600)),
            keepalive_interval: Some(Duration::from_secs(30)),
            // Each command is a few small packets answered by the host:
            // with Nagle's algorithm on, each waits for the host's delayed
            // ACK (40 ms on Linux), which made a one-command task take
            // 35 ms on loopback.
            nodelay: true,
            ..Default::default()
        });
        let problem = Arc::new(Mutex::new(None));
        let check = HostKeyCheck {
            name: s.name.clone(),
            host: s.address.clone(),
            port: s.port,
            known_hosts: s.known_hosts.clone(),
            policy: s.policy.clone(),
            problem: problem.clone(),
        };
        let connecting = client::connect(config, (s.address.as_str(), s.port), check);
        let mut handle = match tokio::time::timeout(s.connect_timeout, connecting).await {
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} s",
                    s.connect_timeout.as_secs()
                )));
            }
            Ok(Err(e)) => {
                if let Some(problem) = problem.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    return Err(problem);
                }
                return Err(unreachable(describe_connect_error(&e)));
            }
            Ok(Ok(handle)) => handle,
        };
        let authenticated = self.authenticate(&mut handle).await?;
        if !authenticated {
            return Err(RemoteError::Unreachable(format!(
                "{} ({}:{}): the server refused {} for user {}",
                s.name,
                s.address,
                s.port,
                describe_auth(&s.auth),
                s.user
            )));
        }
        Ok(handle)
    }

    async fn authenticate(&self, handle: &mut Handle<HostKeyCheck>) -> Result<bool, RemoteError> {
        let s = &self.settings;
        let failed = |why: String| {
            RemoteError::Unreachable(format!("{} ({}:{}): {why}", s.name, s.address, s.port))
        };
        // RSA keys sign with the best hash the server takes; others ignore it.
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .ok()
            .flatten()
            .flatten();
        match &s.auth {
            SshAuth::KeyFile(path) => {
                let key = russh::keys::load_secret_key(path, None)
                    .map_err(|e| failed(format!("cannot use key file {}: {e}", path.display())))?;
                let result = handle
                    .authenticate_publickey(
                        &s.user,
                        PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                    )
                    .await
                    .map_err(|e| failed(format!("authentication failed: {e}")))?;
                Ok(result.success())
            }
            SshAuth::PasswordFromEnv(var) => {
                let password = std::env::var(var)
                    .map_err(|_| failed(format!("the password variable {var} is not set")))?;
                let result = handle
                    .authenticate_password(&s.user, password)
                    .await
                    .map_err(|e| failed(format!("authentication failed: {e}")))?;
                Ok(result.success())
            }
            SshAuth::Agent => {
                let agent = open_agent().await.map_err(failed)?;
                authenticate_with_agent(handle, &s.user, hash, agent)
                    .await
                    .map_err(failed)
            }
        }
    }

    /// Runs a command, collecting at most `max_output` bytes of each stream.
    pub async fn exec(
        &self,
        request: &ExecRequest,
        max_output: u64,
    ) -> Result<ExecOutput, RemoteError> {
        let program = &request.argv[0];
        let mut running = Running::Ssh(self.start(request).await?);
        running.send_input(request.stdin.clone()).await?;
        let output = running
            .collect(ExecOutput::default(), max_output, program)
            .await?;
        // The remote shell says 127 when `exec` finds no such program.
        if output.program_missing(program) {
            return Err(RemoteError::Unavailable(format!(
                "command not found on {}: {program}",
                self.settings.name
            )));
        }
        Ok(output)
    }

    /// Starts a command with its input left open, for a caller that
    /// answers what the command asks (sudo's password prompt).
    pub async fn start(&self, request: &ExecRequest) -> Result<SshRunning, RemoteError> {
        let handle = self.connect().await?;
        let lost = |e: russh::Error| {
            RemoteError::Unreachable(format!("{}: connection lost: {e}", self.settings.name))
        };
        let channel = handle.channel_open_session().await.map_err(lost)?;
        channel
            .exec(true, command_line(request))
            .await
            .map_err(lost)?;
        Ok(SshRunning::new(
            channel,
            handle,
            self.stopping.clone(),
            &self.settings.name,
            &request.argv[0],
        ))
    }

    /// Reads a file with `cat`.
    pub async fn read_file(&self, path: &str, max_size: u64) -> Result<Vec<u8>, RemoteError> {
        via_exec::read_file(self, path, max_size).await
    }

    /// Writes through a temporary file beside the target and a rename.
    pub async fn write_file(
        &self,
        path: &str,
        contents: &[u8],
        mode: Option<u32>,
    ) -> Result<(), RemoteError> {
        via_exec::write_file(self, path, contents, mode).await
    }

    /// Describes a path with `stat`.
    pub async fn stat(&self, path: &str) -> Result<Option<FileInfo>, RemoteError> {
        via_exec::stat(self, path).await
    }

    /// Says goodbye to the server, if connected, once the commands being
    /// stopped are gone (a hang-up alone would leave them running).
    pub async fn close(&self) {
        self.stopping.close();
        let _ = tokio::time::timeout(STOP_GRACE + STOP_AFTER_KILL, self.stopping.wait()).await;
        self.stopping.reopen();
        if let Some(handle) = self.connection.get() {
            let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
        }
    }
}

fn describe_auth(auth: &SshAuth) -> String {
    match auth {
        SshAuth::KeyFile(path) => format!("the key {}", path.display()),
        SshAuth::Agent => "every ssh-agent key".into(),
        SshAuth::PasswordFromEnv(var) => format!("the password from {var}"),
    }
}

fn describe_connect_error(e: &russh::Error) -> String {
    match e {
        russh::Error::IO(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        russh::Error::IO(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// Checks the server's key against known_hosts during the handshake.
pub struct HostKeyCheck {
    name: String,
    host: String,
    port: u16,
    known_hosts: PathBuf,
    policy: HostKeyPolicy,
    problem: Arc<Mutex<Option<RemoteError>>>,
}

impl HostKeyCheck {
    fn refuse(&self, error: RemoteError) -> bool {
        *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
        false
    }

    fn check(&self, key: &PublicKey) -> bool {
        let fingerprint = key.fingerprint(russh::keys::HashAlg::Sha256).to_string();
        let algorithm = key.algorithm();
        let shown = format!("{algorithm} {fingerprint}");
        if let Some(wanted) = self.policy.wanted()
            && wanted != fingerprint
        {
            return self.refuse(RemoteError::Unreachable(format!(
                "{} ({}:{}): the host shows {shown}, not {wanted} as you confirmed; \
                 nothing was recorded: someone may be intercepting the connection",
                self.name, self.host, self.port
            )));
        }
        if matches!(self.policy, HostKeyPolicy::Repin(_)) {
            return self.record(key, &shown, true);
        }
        let recorded = match known_host_keys_path(&self.host, self.port, &self.known_hosts) {
            Ok(recorded) => recorded,
            Err(e) => {
                return self.refuse(RemoteError::Failed(format!(
                    "could not read {}: {e}",
                    self.known_hosts.display()
                )));
            }
        };
        if recorded.iter().any(|(_, known)| known == key) {
            return true;
        }
        if let Some((_, known)) = recorded.first() {
            let was = format!(
                "{} {}",
                known.algorithm(),
                known.fingerprint(russh::keys::HashAlg::Sha256)
            );
            return self.refuse(RemoteError::Unreachable(format!(
                "{} ({}:{}): HOST KEY CHANGED (recorded {was}, now {shown}), refusing to connect: \
                 someone may be intercepting the connection. If the host's key was changed on \
                 purpose, compare the new fingerprint with the host's own and pin it with \
                 `capstan hosts trust {} --fingerprint {fingerprint}` (known_hosts: {})",
                self.name,
                self.host,
                self.port,
                self.name,
                self.known_hosts.display()
            )));
        }
        match &self.policy {
            HostKeyPolicy::RequireKnown => self.refuse(RemoteError::Unreachable(format!(
                "{} ({}:{}): unknown host key {shown}; if that is the host's key, trust it with \
                 `capstan hosts trust {} --fingerprint {fingerprint}` (or run with --trust-new-hosts)",
                self.name, self.host, self.port, self.name
            ))),
            _ => self.record(key, &shown, false),
        }
    }

    /// Records `key` for this host and port, first forgetting every key
    /// recorded for them when `replace`.
    fn record(&self, key: &PublicKey, shown: &str, replace: bool) -> bool {
        let result = (|| {
            if replace {
                forget_host(&self.known_hosts, &self.host, self.port)?;
            }
            learn_known_hosts_path(&self.host, self.port, key, &self.known_hosts)
                .map_err(std::io::Error::other)?;
            crate::private_file::make_private(&self.known_hosts)
        })();
        match result {
            Ok(()) => {
                tracing::info!(host = %self.name, key = %shown, "recorded a host key");
                true
            }
            Err(e) => self.refuse(RemoteError::Failed(format!(
                "could not record the host key of {} in {}: {e}",
                self.name,
                self.known_hosts.display()
            ))),
        }
    }
}

/// Rewrites known_hosts without the plain entries for `host` and `port`
/// (a line naming other hosts too keeps them).
fn forget_host(path: &std::path::Path, host: &str, port: u16) -> std::io::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let wanted = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    let mut kept = String::with_capacity(text.len());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let kept_line = match line.split_once(' ') {
            Some((hosts, rest)) if !line.starts_with('#') => {
                let others: Vec<&str> = hosts.split(',').filter(|h| *h != wanted).collect();
                if others.is_empty() {
                    continue;
                }
                format!("{} {rest}", others.join(","))
            }
            _ => line.to_string(),
        };
        kept.push_str(&kept_line);
        kept.push('\n');
    }
    if kept.is_empty() {
        return std::fs::remove_file(path);
    }
    let temp = path.with_extension("capstan-new");
    crate::private_file::write_private(&temp, kept.as_bytes())?;
    std::fs::rename(&temp, path)
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => Ok(self.check(key)),
            russh::keys::PublicKeyOrCertificate::Certificate(_) => Ok(self.refuse(RemoteError::Unreachable(format!(
                "{}: the server offered a host certificate; Capstan checks plain host keys only",
                self.name
            )))),
        }
    }
}

impl ExecPort for SshTransport {
    async fn run(&self, request: &ExecRequest, max_output: u64) -> Result<ExecOutput, RemoteError> {
        self.exec(request, max_output).await
    }
}

/// The user's ssh-agent: `SSH_AUTH_SOCK` on Unix; on Windows the pipe it
/// names, else the OpenSSH agent's pipe.
#[cfg(unix)]
async fn open_agent()
-> Result<russh::keys::agent::client::AgentClient<tokio::net::UnixStream>, String> {
    russh::keys::agent::client::AgentClient::connect_env()
        .await
        .map_err(|e| format!("no ssh-agent (SSH_AUTH_SOCK): {e}"))
}

/// The user's ssh-agent: `SSH_AUTH_SOCK` on Unix; on Windows the pipe it
/// names, else the OpenSSH agent's pipe.
#[cfg(windows)]
async fn open_agent() -> Result<
    russh::keys::agent::client::AgentClient<tokio::net::windows::named_pipe::NamedPipeClient>,
    String,
> {
    let pipe = std::env::var("SSH_AUTH_SOCK")
        .unwrap_or_else(|_| r"\\.\pipe\openssh-ssh-agent".to_string());
    russh::keys::agent::client::AgentClient::connect_named_pipe(&pipe)
        .await
        .map_err(|e| {
            format!(
                "no ssh-agent at {pipe} (is the OpenSSH Authentication Agent service running?): {e}"
            )
        })
}

/// Tries each key the agent holds until the server takes one.
async fn authenticate_with_agent<S>(
    handle: &mut Handle<HostKeyCheck>,
    user: &str,
    hash: Option<russh::keys::HashAlg>,
    mut agent: russh::keys::agent::client::AgentClient<S>,
) -> Result<bool, String>
where
    S: russh::keys::agent::client::AgentStream + Send + Unpin + 'static,
{
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| format!("ssh-agent: {e}"))?;
    for identity in identities {
        let russh::keys::agent::AgentIdentity::PublicKey { key, .. } = identity else {
            continue;
        };
        if let Ok(result) = handle
            .authenticate_publickey_with(user, key, hash, &mut agent)
            .await
            && result.success()
        {
            return Ok(true);
        }
    }
    Ok(false)
}
