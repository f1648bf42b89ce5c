//! Reaching a target: run a command, read, write or inspect a file. Today
//! the only transport is `local` (the machine running Capstan, like
//! Ansible's `connection: local`); SSH plugs in behind the same calls.

mod local;

use std::fmt;

pub use local::LocalTransport;

/// A command to run, as argv: no shell ever parses it.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Bytes written to standard input, then closed.
    pub stdin: Option<Vec<u8>>,
    /// Variables added to the environment.
    pub env: Vec<(String, String)>,
    /// Working directory (absolute).
    pub cwd: Option<String>,
}

/// What a finished command produced.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    /// Exit code; `None` when killed by a signal.
    pub exit_code: Option<i32>,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

/// The kind of a file system entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (not followed).
    Symlink,
    /// Anything else (socket, device, fifo).
    Other,
}

/// What `stat` reports of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Kind of entry.
    pub kind: FileKind,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Where a symlink points.
    pub link_target: Option<String>,
}

/// Why a transport call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteError {
    /// The target, program or path could not be reached or found.
    Unavailable(String),
    /// Output or a file was larger than the run allows.
    TooLarge(String),
    /// Anything else, in the OS's words.
    Failed(String),
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteError::Unavailable(m) | RemoteError::TooLarge(m) | RemoteError::Failed(m) => {
                f.write_str(m)
            }
        }
    }
}

/// How a target is reached.
#[derive(Debug, Clone)]
pub enum Transport {
    /// This machine.
    Local(LocalTransport),
}

impl Transport {
    /// Runs a command; `max_output` caps stdout and stderr each.
    pub async fn exec(
        &self,
        request: &ExecRequest,
        max_output: u64,
    ) -> Result<ExecOutput, RemoteError> {
        match self {
            Transport::Local(t) => t.exec(request, max_output).await,
        }
    }

    /// Reads a whole file of at most `max_size` bytes.
    pub async fn read_file(&self, path: &str, max_size: u64) -> Result<Vec<u8>, RemoteError> {
        match self {
            Transport::Local(t) => t.read_file(path, max_size).await,
        }
    }

    /// Writes a whole file atomically.
    pub async fn write_file(
        &self,
        path: &str,
        contents: &[u8],
        mode: Option<u32>,
    ) -> Result<(), RemoteError> {
        match self {
            Transport::Local(t) => t.write_file(path, contents, mode).await,
        }
    }

    /// Describes a path without following symlinks.
    pub async fn stat(&self, path: &str) -> Result<Option<FileInfo>, RemoteError> {
        match self {
            Transport::Local(t) => t.stat(path).await,
        }
    }
}

/// A named target of a run and how to reach it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The name plugins and results use.
    pub name: String,
    /// How it is reached.
    pub transport: Transport,
}

impl Target {
    /// Resolves a target name. Only `local` (alias `localhost`) exists
    /// until the inventory lands.
    pub fn resolve(name: &str) -> crate::Result<Target> {
        match name {
            "local" | "localhost" => Ok(Target {
                name: "local".into(),
                transport: Transport::Local(LocalTransport),
            }),
            other => Err(crate::Error::BadInput(format!(
                "unknown target `{other}`: the only target so far is `local` (this machine)"
            ))),
        }
    }
}
