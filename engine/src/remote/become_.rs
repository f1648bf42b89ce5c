//! `become`: run a target's commands as another user through `sudo`, the
//! way Ansible's `become: true` does. The host does it; plugins never see it.

use super::{ExecOutput, ExecRequest, RemoteError};

/// Whom to become, and where the sudo password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    /// The user to run as (`root` by default).
    pub user: String,
    /// The password, read from this environment variable when needed
    /// (never stored). Without it sudo must not ask (`-n`).
    pub password_env: Option<String>,
}

impl Become {
    /// Wraps a request in `sudo`. The environment moves inside sudo (which
    /// resets its own). With `send_password` (only when sudo was seen to ask:
    /// a sudo that does not ask would pass the password on to the command),
    /// the password goes first on stdin.
    pub fn wrap(
        &self,
        request: &ExecRequest,
        send_password: bool,
    ) -> Result<ExecRequest, RemoteError> {
        let mut argv: Vec<String> = vec!["sudo".into()];
        let mut stdin = request.stdin.clone();
        match &self.password_env {
            Some(var) if send_password => {
                let password = std::env::var(var).map_err(|_| {
                    RemoteError::Failed(format!(
                        "become: the sudo password variable {var} is not set"
                    ))
                })?;
                argv.extend(["-S".into(), "-p".into(), String::new()]);
                let mut input = format!("{password}\n").into_bytes();
                input.extend(stdin.take().unwrap_or_default());
                stdin = Some(input);
            }
            _ => argv.push("-n".into()),
        }
        argv.extend(["-u".into(), self.user.clone(), "--".into()]);
        if !request.env.is_empty() {
            argv.push("env".into());
            argv.extend(request.env.iter().map(|(k, v)| format!("{k}={v}")));
        }
        argv.extend(request.argv.iter().cloned());
        Ok(ExecRequest {
            argv,
            stdin,
            env: Vec::new(),
            cwd: request.cwd.clone(),
        })
    }

    /// The command that tells whether sudo asks for a password.
    pub fn probe(&self) -> ExecRequest {
        ExecRequest {
            argv: ["sudo", "-n", "-u", &self.user, "--", "true"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        }
    }

    /// Reads the probe's answer: true when sudo wants a password.
    pub fn asks_for_password(output: &ExecOutput) -> bool {
        output.exit_code != Some(0)
            && String::from_utf8_lossy(&output.stderr).contains("password is required")
    }

    /// Turns sudo's own refusals into errors that say what to do.
    pub fn check(&self, output: ExecOutput, target: &str) -> Result<ExecOutput, RemoteError> {
        if output.exit_code == Some(0) {
            return Ok(output);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let refused = |why: String| {
            Err(RemoteError::Failed(format!(
                "become {} on {target}: {why}",
                self.user
            )))
        };
        if stderr.contains("a password is required") {
            return refused(
                "sudo asks for a password; give it with --become-password-env VAR".into(),
            );
        }
        if stderr.contains("incorrect password") || stderr.contains("Sorry, try again") {
            return refused("sudo refused the password".into());
        }
        if stderr.contains("not in the sudoers file")
            || stderr.contains("is not allowed to execute")
        {
            return refused("this login may not use sudo for that".into());
        }
        if stderr.contains("unknown user") {
            return refused(format!("there is no user {}", self.user));
        }
        if output.exit_code == Some(127) && stderr.contains("sudo") {
            return refused("sudo is not installed".into());
        }
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_wraps_argv_and_moves_env_inside() {
        let become_root = Become {
            user: "root".into(),
            password_env: None,
        };
        let request = ExecRequest {
            argv: vec!["id".into(), "-un".into()],
            env: vec![("A".into(), "1".into())],
            cwd: Some("/tmp".into()),
            stdin: None,
        };
        let wrapped = become_root.wrap(&request, false).unwrap();
        assert_eq!(
            wrapped.argv,
            ["sudo", "-n", "-u", "root", "--", "env", "A=1", "id", "-un"]
        );
        assert!(wrapped.env.is_empty());
        assert_eq!(wrapped.cwd.as_deref(), Some("/tmp"));
    }

    #[test]
    fn a_password_goes_first_on_stdin_only_when_sudo_asks() {
        // SAFETY: this test owns the variable; no other test reads it.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("CAPSTAN_TEST_SUDO_PW", "s3cret")
        };
        let become_root = Become {
            user: "root".into(),
            password_env: Some("CAPSTAN_TEST_SUDO_PW".into()),
        };
        let request = ExecRequest {
            argv: vec!["cat".into()],
            stdin: Some(b"data".to_vec()),
            ..Default::default()
        };
        let wrapped = become_root.wrap(&request, true).unwrap();
        assert_eq!(&wrapped.argv[..4], ["sudo", "-S", "-p", ""]);
        assert_eq!(wrapped.stdin.as_deref(), Some(&b"s3cret\ndata"[..]));
        let wrapped = become_root.wrap(&request, false).unwrap();
        assert_eq!(&wrapped.argv[..2], ["sudo", "-n"]);
        assert_eq!(wrapped.stdin.as_deref(), Some(&b"data"[..]));
    }

    #[test]
    fn sudo_refusals_say_what_to_do() {
        let become_root = Become {
            user: "root".into(),
            password_env: None,
        };
        let refused = |stderr: &str| {
            become_root
                .check(
                    ExecOutput {
                        exit_code: Some(1),
                        stdout: vec![],
                        stderr: stderr.as_bytes().to_vec(),
                    },
                    "web-1",
                )
                .unwrap_err()
                .to_string()
        };
        assert!(refused("sudo: a password is required\n").contains("--become-password-env"));
        assert!(refused("deploy is not in the sudoers file.\n").contains("may not use sudo"));
        let plain_failure = ExecOutput {
            exit_code: Some(1),
            stdout: vec![],
            stderr: b"grep: no match".to_vec(),
        };
        assert!(
            become_root.check(plain_failure, "web-1").is_ok(),
            "the command's own failure is its result"
        );
    }
}
