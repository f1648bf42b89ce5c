//! A run's target: a name, how it is reached (this machine or SSH),
//! `become`, and its Docker engine. It stands above `remote` and `docker`,
//! which know nothing of each other's callers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use capstan_docker::{DockerError, Engine, EngineCell};
use capstan_remote::stream::{self, ByteStream, StreamFailure};
use capstan_remote::via_exec;
use capstan_remote::{
    Become, Dialog, ExecOutput, ExecRequest, FileInfo, LocalTransport, RemoteError, SshSettings,
    SshTransport, Transport,
};

/// A named target of a run and how to reach it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The name plugins and results use.
    pub name: String,
    /// How it is reached.
    pub transport: Transport,
    /// Run everything as another user through sudo.
    pub become_user: Option<Become>,
    /// Variables added to every command's environment (a task's
    /// `environment:`); a command's own win.
    pub env: Arc<[(String, String)]>,
    /// Its Docker engine, connected on first use.
    docker: Arc<EngineCell>,
    /// On this computer: folders no file call may reach (Capstan's data
    /// folder and compiled-code cache), as canonical paths.
    off_limits: Arc<[PathBuf]>,
}

impl Target {
    /// This machine, as the target `local`.
    pub fn local() -> Target {
        Target {
            name: "local".into(),
            transport: Transport::Local(LocalTransport),
            become_user: None,
            env: Arc::new([]),
            docker: Arc::default(),
            off_limits: Arc::new([]),
        }
    }

    /// This machine under another name (an inventory host with
    /// `ansible_connection: local`).
    pub fn local_named(name: &str) -> Target {
        Target {
            name: name.to_string(),
            ..Target::local()
        }
    }

    /// A host reached over SSH.
    pub fn ssh(settings: SshSettings) -> Target {
        Target {
            name: settings.name.clone(),
            transport: Transport::Ssh(Arc::new(SshTransport::new(settings))),
            become_user: None,
            env: Arc::new([]),
            docker: Arc::default(),
            off_limits: Arc::new([]),
        }
    }

    /// The same host reached by a login as `user` (a task's
    /// `remote_user`): over SSH a connection of its own with the same
    /// credentials, opened on first use; `None` on this machine (Ansible's
    /// local connection ignores the user too) or when it already logs in
    /// as `user`.
    pub fn logged_in_as(&self, user: &str) -> Option<Target> {
        match &self.transport {
            Transport::Ssh(ssh) if ssh.user() != user => Some(Target {
                transport: Transport::Ssh(Arc::new(ssh.as_user(user))),
                docker: Arc::default(),
                ..self.clone()
            }),
            _ => None,
        }
    }

    /// The same target, with `folders` out of reach of its file calls when
    /// it is this computer (Capstan's data folder, with its database,
    /// grants and known hosts, and the compiled-code cache).
    pub fn guarding<'a>(mut self, folders: impl IntoIterator<Item = &'a Path>) -> Target {
        if self.is_local() {
            self.off_limits = folders
                .into_iter()
                .map(|folder| {
                    folder
                        .canonicalize()
                        .unwrap_or_else(|_| folder.to_path_buf())
                })
                .collect();
        }
        self
    }

    /// Refuses a path inside a folder this target guards, wherever a
    /// symlink or `..` would lead.
    fn check_reach(&self, path: &str) -> Result<(), RemoteError> {
        if self.off_limits.is_empty() {
            return Ok(());
        }
        let path = Path::new(path);
        // Where it leads: resolved, beside its resolved parent (a file not
        // there yet), and as written.
        let resolved = path.canonicalize().ok();
        let beside = path
            .parent()
            .and_then(|p| p.canonicalize().ok())
            .map(|parent| parent.join(path.file_name().unwrap_or_default()));
        let places = [resolved, beside, Some(path.to_path_buf())];
        for folder in self.off_limits.iter() {
            if places.iter().flatten().any(|p| p.starts_with(folder)) {
                return Err(RemoteError::Failed(format!(
                    "{} is inside {}, Capstan's own folder, which no plugin may read or change",
                    path.display(),
                    folder.display()
                )));
            }
        }
        Ok(())
    }

    /// Refuses a command one of whose words (or its folder) is a path
    /// inside a folder this target guards: a file module that works
    /// through a script (`sh -c SCRIPT NAME PATH`) is kept out as its
    /// file calls are. (Paths written inside a command line's text are
    /// not looked for: see SECURITY.md.)
    fn check_words(&self, request: &ExecRequest) -> Result<(), RemoteError> {
        if self.off_limits.is_empty() {
            return Ok(());
        }
        request
            .argv
            .iter()
            .chain(request.cwd.iter())
            .filter(|word| word.starts_with('/') && !word.contains('\n'))
            .try_for_each(|path| self.check_reach(path))
    }

    /// The same target, with its Docker engine on `socket` instead of the
    /// default socket (an inventory's `docker_host`).
    pub fn with_docker_socket(mut self, socket: String) -> Target {
        self.docker = Arc::new(EngineCell::new(Some(socket)));
        self
    }

    /// Whether this target is this computer (`local`, or an inventory host
    /// with `ansible_connection: local`).
    pub fn is_local(&self) -> bool {
        matches!(self.transport, Transport::Local(_))
    }

    /// Its Docker engine, connected on first use and shared by the run.
    pub async fn docker(&self) -> Result<Engine, DockerError> {
        self.docker.engine(&self.transport, &self.name).await
    }

    /// `request` with this target's environment under its own.
    fn with_env<'a>(&self, request: &'a ExecRequest) -> std::borrow::Cow<'a, ExecRequest> {
        if self.env.is_empty() {
            return std::borrow::Cow::Borrowed(request);
        }
        let mut env: Vec<(String, String)> = self
            .env
            .iter()
            .filter(|(name, _)| !request.env.iter().any(|(own, _)| own == name))
            .cloned()
            .collect();
        env.extend(request.env.iter().cloned());
        std::borrow::Cow::Owned(ExecRequest {
            env,
            ..request.clone()
        })
    }

    /// Runs a command, through sudo when this target has `become`.
    pub async fn exec(
        &self,
        request: &ExecRequest,
        max_output: u64,
    ) -> Result<ExecOutput, RemoteError> {
        self.check_words(request)?;
        let request = &*self.with_env(request);
        match &self.become_user {
            None => self.transport.exec(request, max_output).await,
            Some(become_user) if !become_user.has_password() => {
                let output = self
                    .transport
                    .exec(&become_user.wrap_no_password(request), max_output)
                    .await?;
                become_user.check(output, &self.name)
            }
            Some(become_user) => {
                // The password goes to sudo only when sudo asks for it, and
                // the command's own input only after sudo let it start.
                let dialog = Dialog::new();
                let running = self
                    .transport
                    .start(&become_user.wrap_with_prompt(request, &dialog))
                    .await?;
                let output = dialog
                    .converse(become_user, running, request, max_output, &self.name)
                    .await?;
                become_user.check(output, &self.name)
            }
        }
    }

    /// Runs a command whose standard output is streamed as it comes, for
    /// bodies too big to hold (an image tar, a build context), stopping at
    /// `limit` bytes. Under `become` with a sudo password the output is
    /// gathered first (within the same limit): sudo's dialog needs it.
    pub async fn stream_stdout(
        &self,
        request: &ExecRequest,
        limit: u64,
    ) -> Result<(ByteStream, StreamFailure), RemoteError> {
        self.check_words(request)?;
        let request = &*self.with_env(request);
        let program = request.argv.first().cloned().unwrap_or_default();
        let mut running = match &self.become_user {
            None => self.transport.start(request).await?,
            Some(become_user) if !become_user.has_password() => {
                self.transport
                    .start(&become_user.wrap_no_password(request))
                    .await?
            }
            Some(_) => {
                let output = self.exec(request, limit).await?;
                if output.exit_code != Some(0) {
                    return Err(RemoteError::Failed(format!(
                        "`{program}` failed: {}",
                        String::from_utf8_lossy(&output.stderr).trim()
                    )));
                }
                return Ok((
                    stream::bytes_stream(output.stdout),
                    StreamFailure::default(),
                ));
            }
        };
        running.send_input(request.stdin.clone()).await?;
        Ok(stream::stdout_stream(running, limit, &program))
    }

    /// Streams a regular file (as the `become` user when set), stopping at
    /// `limit` bytes; a device or FIFO is refused before anything is read.
    pub async fn stream_file(
        &self,
        path: &str,
        limit: u64,
    ) -> Result<(ByteStream, StreamFailure), RemoteError> {
        self.check_reach(path)?;
        self.stream_stdout(&via_exec::read_command(path), limit)
            .await
    }

    /// Reads a file (as the `become` user when set).
    pub async fn read_file(&self, path: &str, max_size: u64) -> Result<Vec<u8>, RemoteError> {
        self.check_reach(path)?;
        match &self.become_user {
            None => self.transport.read_file(path, max_size).await,
            Some(_) => via_exec::read_file(self, path, max_size).await,
        }
    }

    /// Writes a file atomically (as the `become` user when set).
    pub async fn write_file(
        &self,
        path: &str,
        contents: &[u8],
        mode: Option<u32>,
    ) -> Result<(), RemoteError> {
        self.check_reach(path)?;
        match &self.become_user {
            None => self.transport.write_file(path, contents, mode).await,
            Some(_) => via_exec::write_file(self, path, contents, mode).await,
        }
    }

    /// Describes a path (as the `become` user when set).
    pub async fn stat(&self, path: &str) -> Result<Option<FileInfo>, RemoteError> {
        self.check_reach(path)?;
        match &self.become_user {
            None => self.transport.stat(path).await,
            Some(_) => via_exec::stat(self, path).await,
        }
    }

    /// Closes the connection, if it has one.
    pub async fn close(&self) {
        if let Transport::Ssh(t) = &self.transport {
            t.close().await;
        }
    }
}

impl via_exec::ExecPort for Target {
    async fn run(&self, request: &ExecRequest, max_output: u64) -> Result<ExecOutput, RemoteError> {
        self.exec(request, max_output).await
    }
}
