//! A fleet of real `sshd` processes on loopback, one per test host, each
//! with its own host key, port and authorized client key.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use capstan_engine::inventory::{Host, HostAuth};

const SSHD: &str = "/usr/sbin/sshd";

/// One sshd on 127.0.0.1, stopped when dropped.
pub struct Sshd {
    child: Child,
    /// Its port.
    pub port: u16,
    /// Its folder: keys, config, log.
    pub dir: tempfile::TempDir,
    /// A private key it accepts.
    pub client_key: PathBuf,
    /// The login user (the one running the tests).
    pub user: String,
}

impl Sshd {
    /// Starts an sshd with a fresh host key on a free port.
    pub fn start() -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        Self::start_in(dir, port)
    }

    /// Starts an sshd with a new host key on the same port as `self`,
    /// after stopping `self` (a "reinstalled" host).
    pub fn reinstall(self) -> Sshd {
        let port = self.port;
        drop(self);
        Self::start_in(tempfile::tempdir().unwrap(), port)
    }

    /// Like [`Sshd::reinstall`], with a host key of another type
    /// (`rsa`, `ecdsa`).
    pub fn reinstall_with_key_type(self, key_type: &str) -> Sshd {
        let port = self.port;
        drop(self);
        Self::start_with(tempfile::tempdir().unwrap(), port, key_type)
    }

    /// The `SHA256:…` fingerprint of its host key.
    pub fn host_key_fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.dir.path().join("host_key.pub"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    }

    /// Starts an sshd that logs in normally but answers every command the
    /// way `behaviour` says, whatever was asked.
    pub fn start_hostile(behaviour: Hostile) -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("answer.sh");
        std::fs::write(&script, behaviour.script()).unwrap();
        let extra = format!("ForceCommand /bin/sh {}\n", script.display());
        Self::start_configured(dir, free_port(), "ed25519", &extra)
    }

    fn start_in(dir: tempfile::TempDir, port: u16) -> Sshd {
        Self::start_with(dir, port, "ed25519")
    }

    fn start_with(dir: tempfile::TempDir, port: u16, host_key_type: &str) -> Sshd {
        Self::start_configured(dir, port, host_key_type, "")
    }

    fn start_configured(
        dir: tempfile::TempDir,
        port: u16,
        host_key_type: &str,
        extra_config: &str,
    ) -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (`./dev test` does it)"
        );
        let d = dir.path();
        keygen(&d.join("host_key"), host_key_type);
        keygen(&d.join("client_key"), "ed25519");
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nAuthorizedKeysFile {auth}\n\
             PidFile {pid}\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nLogLevel VERBOSE\n\
             MaxStartups 200\nMaxSessions 100\nSubsystem sftp internal-sftp\n{extra_config}",
            host_key = d.join("host_key").display(),
            auth = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let _ = std::fs::create_dir_all("/run/sshd");
        let log = std::fs::File::create(d.join("sshd.log")).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen on {port}: {}",
                read(&d.join("sshd.log"))
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Sshd {
            child,
            port,
            client_key: d.join("client_key"),
            user,
            dir,
        }
    }

    /// An inventory entry for this sshd.
    pub fn host(&self, name: &str) -> Host {
        Host {
            name: name.into(),
            address: "127.0.0.1".into(),
            port: self.port,
            user: self.user.clone(),
            auth: HostAuth::KeyFile(self.client_key.to_string_lossy().into_owned()),
            environment: Some("dev".into()),
            groups: vec![],
            vars: Default::default(),
        }
    }

    /// Kills this sshd and every connection it serves, as a host that
    /// dies would drop them.
    pub fn kill_with_connections(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// How many logins sshd accepted so far.
    pub fn logins(&self) -> usize {
        read(&self.dir.path().join("sshd.log"))
            .matches("Accepted publickey")
            .count()
    }
}

/// How a hostile host answers every command.
#[derive(Clone, Copy, Debug)]
pub enum Hostile {
    /// 64 KiB of random bytes on stdout, then exit 0.
    Garbage,
    /// 1 GiB of output on stdout.
    Flood,
    /// Never answers (sleeps a minute).
    Hang,
    /// Kills its own session: the connection closes mid-command.
    CloseChannel,
}

impl Hostile {
    fn script(self) -> &'static str {
        match self {
            Hostile::Garbage => "head -c 65536 /dev/urandom\nexit 0\n",
            Hostile::Flood => "head -c 1073741824 /dev/zero | tr '\\0' 'x'\n",
            Hostile::Hang => "exec sleep 60\n",
            // The shell's parent is sshd's process for this session.
            Hostile::CloseChannel => "kill -9 $PPID\nsleep 5\n",
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path, key_type: &str) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", key_type, "-N", "", "-C", "capstan-test", "-f"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "ssh-keygen failed");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An Ansible INI inventory listing each sshd as `h1`, `h2`, ... in group
/// `web`, followed by `extra` lines.
pub fn inventory_text(fleet: &[&Sshd], extra: &str) -> String {
    let mut text = String::from("[web]\n");
    for (i, sshd) in fleet.iter().enumerate() {
        text.push_str(&format!(
            "h{} ansible_host=127.0.0.1 ansible_port={} ansible_user={} ansible_ssh_private_key_file={}\n",
            i + 1,
            sshd.port,
            sshd.user,
            sshd.client_key.display()
        ));
    }
    text.push_str(extra);
    text
}
