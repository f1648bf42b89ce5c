//! `remote.exec` and `remote.files`: commands and files on the run's
//! targets, and only on them.

use std::sync::Arc;

use super::{Capability, HostError, SharedGrants};
use crate::target::Target;
use capstan_remote::{ExecOutput, ExecRequest, FileInfo, RemoteError};

/// The remote capabilities of one call.
pub struct RemoteCapability {
    grants: SharedGrants,
    targets: Arc<Vec<Target>>,
    output_limit: u64,
    /// Why a target could not be reached, once one could not.
    unreachable: Option<String>,
}

impl RemoteCapability {
    /// Access to `targets`, with reads and outputs capped at `output_limit`.
    pub fn new(grants: SharedGrants, targets: Arc<Vec<Target>>, output_limit: u64) -> Self {
        RemoteCapability {
            grants,
            targets,
            output_limit,
            unreachable: None,
        }
    }

    /// Why a target of this call could not be reached, if one could not.
    pub fn unreachable(&self) -> Option<&str> {
        self.unreachable.as_deref()
    }

    /// Maps a transport error, remembering unreachability.
    fn fail(&mut self, e: RemoteError) -> HostError {
        if let RemoteError::Unreachable(m) = &e {
            self.unreachable.get_or_insert_with(|| m.clone());
        }
        remote_error(e)
    }

    /// Checks the grant and that `name` is one of the run's targets.
    fn target(&self, cap: Capability, name: &str) -> Result<&Target, HostError> {
        super::run_target(&self.grants, cap, &self.targets, name)
    }

    /// Runs a command on a target.
    pub async fn exec(
        &mut self,
        target: &str,
        request: ExecRequest,
    ) -> Result<ExecOutput, HostError> {
        let target = self.target(Capability::RemoteExec, target)?.clone();
        check_exec_request(&request)?;
        let result = target.exec(&request, self.output_limit).await;
        result.map_err(|e| self.fail(e))
    }

    /// Reads a file on a target.
    pub async fn read_file(&mut self, target: &str, path: &str) -> Result<Vec<u8>, HostError> {
        let target = self.target(Capability::RemoteFiles, target)?.clone();
        check_path(path)?;
        let result = target.read_file(path, self.output_limit).await;
        result.map_err(|e| self.fail(e))
    }

    /// Writes a file on a target.
    pub async fn write_file(
        &mut self,
        target: &str,
        path: &str,
        contents: &[u8],
        mode: Option<u32>,
    ) -> Result<(), HostError> {
        let target = self.target(Capability::RemoteFiles, target)?.clone();
        check_path(path)?;
        if let Some(mode) = mode
            && mode > 0o7777
        {
            return Err(HostError::Invalid(format!(
                "mode {mode:o} has bits beyond 7777"
            )));
        }
        let result = target.write_file(path, contents, mode).await;
        result.map_err(|e| self.fail(e))
    }

    /// Describes a path on a target.
    pub async fn stat(&mut self, target: &str, path: &str) -> Result<Option<FileInfo>, HostError> {
        let target = self.target(Capability::RemoteFiles, target)?.clone();
        check_path(path)?;
        let result = target.stat(path).await;
        result.map_err(|e| self.fail(e))
    }
}

fn remote_error(e: RemoteError) -> HostError {
    match e {
        RemoteError::Unreachable(m) | RemoteError::Unavailable(m) => HostError::Unavailable(m),
        RemoteError::TooLarge(m) => HostError::Limit(m),
        RemoteError::Failed(m) => HostError::Failed(m),
    }
}

/// Refuses argv and environments a program could not receive intact.
fn check_exec_request(request: &ExecRequest) -> Result<(), HostError> {
    let Some(program) = request.argv.first() else {
        return Err(HostError::Invalid("argv is empty: name a program".into()));
    };
    if program.is_empty() {
        return Err(HostError::Invalid("argv[0] is empty".into()));
    }
    if program.contains('=') {
        return Err(HostError::Invalid(format!(
            "argv[0] `{}` contains '=': name a program, pass variables in env",
            program.escape_debug()
        )));
    }
    if let Some(i) = request.argv.iter().position(|a| a.contains('\0')) {
        return Err(HostError::Invalid(format!("argv[{i}] contains a NUL byte")));
    }
    for (key, value) in &request.env {
        // A POSIX name: anything else could reach `env` as an option (a
        // leading `-`) or a shell as something other than a variable.
        let valid_name = key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_name {
            return Err(HostError::Invalid(format!(
                "environment variable name `{}` must be letters, digits and '_', not starting with a digit",
                key.escape_debug()
            )));
        }
        if value.contains('\0') {
            return Err(HostError::Invalid(format!(
                "environment variable `{key}` holds a NUL byte"
            )));
        }
    }
    if let Some(cwd) = &request.cwd {
        check_path(cwd)?;
    }
    Ok(())
}

/// Paths on a target must be absolute and free of NUL bytes.
fn check_path(path: &str) -> Result<(), HostError> {
    if path.contains('\0') {
        return Err(HostError::Invalid(format!(
            "path `{}` contains a NUL byte",
            path.escape_debug()
        )));
    }
    if !path.starts_with('/') {
        return Err(HostError::Invalid(format!(
            "path `{}` must be absolute",
            path.escape_debug()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_requests_that_cannot_reach_a_program_intact_are_refused() {
        let bad = |argv: &[&str], env: &[(&str, &str)], cwd: Option<&str>| {
            check_exec_request(&ExecRequest {
                argv: argv.iter().map(|s| s.to_string()).collect(),
                env: env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                cwd: cwd.map(String::from),
                stdin: None,
            })
            .unwrap_err()
            .to_string()
        };
        assert!(bad(&[], &[], None).contains("argv is empty"));
        assert!(bad(&["ls", "a\0b"], &[], None).contains("argv[1]"));
        assert!(bad(&["ls"], &[("A=B", "c")], None).contains("A=B"));
        assert!(bad(&["ls"], &[("-i", "c")], None).contains("`-i` must be letters"));
        assert!(bad(&["ls"], &[("1A", "c")], None).contains("not starting with a digit"));
        assert!(bad(&["ls"], &[("A", "c\0")], None).contains("NUL"));
        assert!(bad(&["ls"], &[], Some("relative/dir")).contains("must be absolute"));
    }
}
