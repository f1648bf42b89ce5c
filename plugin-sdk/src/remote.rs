//! Commands and files on the run's targets (capabilities `remote.exec` and
//! `remote.files`).

use crate::bindings::capstan::plugin::remote as wit;
pub use crate::bindings::capstan::plugin::types::HostError;

pub use expand_vars::{absolute_path, absolute_paths, expand_vars};
pub use one_trip::{PathInfo, Placed, Put, parse_stat, path_info, put, read_if_present, validate};
pub use wit::{ExecOutput, FileInfo, FileKind};

mod expand_vars;
mod one_trip;

/// A command to run on a target, as argv: the host never goes through a
/// shell, so arguments need no quoting.
#[derive(Debug, Clone)]
pub struct Command {
    inner: wit::Command,
}

impl Command {
    /// A command from its program and arguments.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command {
            inner: wit::Command {
                argv: argv.into_iter().map(Into::into).collect(),
                stdin: None,
                env: Vec::new(),
                cwd: None,
            },
        }
    }

    /// Bytes to feed on standard input.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.inner.stdin = Some(bytes.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.inner.env.push((key.into(), value.into()));
        self
    }

    /// Runs in this directory (an absolute path).
    pub fn cwd(mut self, dir: &str) -> Self {
        self.inner.cwd = Some(dir.into());
        self
    }

    /// Runs the command on `target` and waits for it.
    pub fn run(&self, target: &str) -> Result<ExecOutput, HostError> {
        wit::exec(target, &self.inner)
    }

    /// Runs the command and fails unless it exits 0, quoting the command
    /// line and what it printed on stderr (or stdout, when stderr is empty).
    pub fn run_checked(&self, target: &str) -> Result<ExecOutput, crate::Error> {
        let out = self.run(target)?;
        if out.success() {
            return Ok(out);
        }
        let stderr = out.stderr_text();
        let why = if stderr.trim().is_empty() {
            out.stdout_text()
        } else {
            stderr
        };
        Err(crate::Error::msg(format!(
            "`{}` failed: {}",
            self.inner.argv.join(" "),
            why.trim()
        )))
    }
}

impl ExecOutput {
    /// True when the command exited with code 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Reads a whole file from `target`.
pub fn read_file(target: &str, path: &str) -> Result<Vec<u8>, HostError> {
    wit::read_file(target, path)
}

/// Writes a whole file on `target`, atomically.
pub fn write_file(
    target: &str,
    path: &str,
    contents: &[u8],
    mode: Option<u32>,
) -> Result<(), HostError> {
    wit::write_file(target, path, contents, mode)
}

/// Describes a path on `target`; `None` when nothing is there.
pub fn stat(target: &str, path: &str) -> Result<Option<FileInfo>, HostError> {
    wit::stat(target, path)
}

/// Copies `path` to `PATH.YYYY-MM-DD@HH:MM:SS~` beside it, keeping its
/// mode and owner (Ansible's `backup: true`); returns the copy's path.
pub fn backup_file(target: &str, path: &str) -> Result<String, crate::Error> {
    let stamp = Command::new(["date", "+%Y-%m-%d@%H:%M:%S"]).run_checked(target)?;
    let name = format!("{path}.{}~", stamp.stdout_text().trim());
    Command::new(["cp", "-p", "--", path, &name])
        .run_checked(target)
        .map_err(|e| crate::Error::msg(format!("backup of {path} failed: {e}")))?;
    Ok(name)
}
