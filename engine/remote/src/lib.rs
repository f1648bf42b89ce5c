//! Reaching a target: run a command, read, write or inspect a file, on the
//! machine running Capstan (like Ansible's `connection: local`) or on a host
//! over SSH, behind the same calls; `become` wraps either in sudo.

mod become_;
mod local;
pub mod private_file;
mod quote;
mod ssh;
pub mod stream;
pub mod via_exec;

use std::sync::Arc;

pub use become_::Dialog;
pub use become_::{Become, SudoPassword};
pub use local::{LocalRunning, LocalTransport};
pub use quote::{command_line, quote};
pub use ssh::{HostKeyPolicy, SshAuth, SshRunning, SshSettings, SshTransport};

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

impl ExecOutput {
    /// Whether the shell that was to start `program` found no such
    /// program (exit 127, `PROGRAM: not found`); not a program that ran
    /// and itself failed to find another (a shell line's missing command).
    pub fn program_missing(&self, program: &str) -> bool {
        self.exit_code == Some(127)
            && String::from_utf8_lossy(&self.stderr).contains(&format!("{program}: not found"))
    }
}

/// A piece of what a running command says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Bytes on standard output.
    Stdout(Vec<u8>),
    /// Bytes on standard error.
    Stderr(Vec<u8>),
    /// The command ended with this exit code (`None`: killed by a signal).
    Exit(Option<i32>),
}

/// A command started with its input still open: the caller writes as the
/// conversation goes (sudo's password, only once sudo has asked for it).
pub enum Running {
    /// On this machine.
    Local(LocalRunning),
    /// Over SSH.
    Ssh(SshRunning),
}

impl Running {
    /// Writes to the command's stdin.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), RemoteError> {
        match self {
            Running::Local(r) => r.send(bytes).await,
            Running::Ssh(r) => r.send(bytes).await,
        }
    }

    /// Writes the command's input, if any, and closes its stdin.
    pub async fn send_input(&mut self, input: Option<Vec<u8>>) -> Result<(), RemoteError> {
        match self {
            Running::Local(r) => r.send_input(input).await,
            Running::Ssh(r) => r.send_input(input).await,
        }
    }

    /// The next piece of output; `Exit` comes last, then `None`.
    pub async fn next(&mut self) -> Result<Option<Chunk>, RemoteError> {
        match self {
            Running::Local(r) => r.next().await,
            Running::Ssh(r) => r.next().await,
        }
    }

    /// Stops the command.
    pub async fn abort(self) {
        match self {
            Running::Local(r) => r.abort().await,
            Running::Ssh(r) => r.abort().await,
        }
    }

    /// Reads the rest of the output into `output` until the command ends,
    /// stopping it once either stream passes `max_output` bytes.
    pub async fn collect(
        mut self,
        mut output: ExecOutput,
        max_output: u64,
        program: &str,
    ) -> Result<ExecOutput, RemoteError> {
        while let Some(chunk) = self.next().await? {
            let appended = match chunk {
                Chunk::Stdout(data) => {
                    append_capped(&mut output.stdout, &data, max_output, "stdout", program)
                }
                Chunk::Stderr(data) => {
                    append_capped(&mut output.stderr, &data, max_output, "stderr", program)
                }
                Chunk::Exit(code) => {
                    output.exit_code = code;
                    Ok(())
                }
            };
            if let Err(too_large) = appended {
                self.abort().await;
                return Err(too_large);
            }
        }
        Ok(output)
    }
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

/// Why a transport call failed. Each message is whole: the host, the
/// program or the path and what happened, in the OS's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The host itself could not be reached: refused, timed out, unknown or
    /// changed host key, login refused, connection lost.
    #[error("{0}")]
    Unreachable(String),
    /// The target, program or path could not be reached or found.
    #[error("{0}")]
    Unavailable(String),
    /// Output or a file was larger than the run allows.
    #[error("{0}")]
    TooLarge(String),
    /// Anything else, in the OS's words.
    #[error("{0}")]
    Failed(String),
}

/// Appends `data` to a command's output, or says which stream of which
/// program passed the limit.
pub(crate) fn append_capped(
    buf: &mut Vec<u8>,
    data: &[u8],
    limit: u64,
    stream: &str,
    program: &str,
) -> Result<(), RemoteError> {
    if buf.len() as u64 + data.len() as u64 > limit {
        return Err(RemoteError::TooLarge(format!(
            "{stream} of `{program}` passed the {limit}-byte output limit; it was stopped"
        )));
    }
    buf.extend_from_slice(data);
    Ok(())
}

/// How a target is reached.
#[derive(Debug, Clone)]
pub enum Transport {
    /// This machine.
    Local(LocalTransport),
    /// A host over SSH (one connection, shared by the run's calls).
    Ssh(Arc<SshTransport>),
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
            Transport::Ssh(t) => t.exec(request, max_output).await,
        }
    }

    /// Starts a command with its input left open.
    pub async fn start(&self, request: &ExecRequest) -> Result<Running, RemoteError> {
        match self {
            Transport::Local(t) => t.start(request).await.map(Running::Local),
            Transport::Ssh(t) => t.start(request).await.map(Running::Ssh),
        }
    }

    /// Reads a whole file of at most `max_size` bytes.
    pub async fn read_file(&self, path: &str, max_size: u64) -> Result<Vec<u8>, RemoteError> {
        match self {
            Transport::Local(t) => t.read_file(path, max_size).await,
            Transport::Ssh(t) => t.read_file(path, max_size).await,
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
            Transport::Ssh(t) => t.write_file(path, contents, mode).await,
        }
    }

    /// Describes a path without following symlinks.
    pub async fn stat(&self, path: &str) -> Result<Option<FileInfo>, RemoteError> {
        match self {
            Transport::Local(t) => t.stat(path).await,
            Transport::Ssh(t) => t.stat(path).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_program_itself_missing_counts_as_missing() {
        let said = |stderr: &str| ExecOutput {
            exit_code: Some(127),
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
        };
        assert!(said("sh: 1: exec: getfacl: not found\n").program_missing("getfacl"));
        assert!(said("bash: line 1: exec: /bin/nope: not found").program_missing("/bin/nope"));
        // A shell line whose command is missing: the shell itself ran.
        assert!(!said("/bin/sh: 1: getfacl: not found\n").program_missing("/bin/sh"));
        assert!(!said("sh: 1: getfacl: not found\n").program_missing("sh"));
    }
}
