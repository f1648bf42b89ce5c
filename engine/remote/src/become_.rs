//! `become`: run a target's commands as another user through `sudo`, the
//! way Ansible's `become: true` does. The host does it; plugins never see it.

use super::{Chunk, ExecOutput, ExecRequest, RemoteError, Running, append_capped};

/// Whom to become, and where the sudo password comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Become {
    /// The user to run as (`root` by default).
    pub user: String,
    /// The password, read from this environment variable when needed
    /// (never stored). Without it or `password`, sudo must not ask (`-n`).
    pub password_env: Option<String>,
    /// The password itself, when the caller read it from the secrets
    /// store (an unattended run); it wins over `password_env`.
    pub password: Option<SudoPassword>,
}

/// A sudo password held in memory for one run. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SudoPassword(String);

impl SudoPassword {
    /// Holds `password`.
    pub fn new(password: impl Into<String>) -> Self {
        SudoPassword(password.into())
    }

    /// The password, for masking it out of what a run records.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SudoPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SudoPassword(***)")
    }
}

impl Become {
    /// Wraps a request in `sudo -n`: sudo must not ask for a password. The
    /// environment moves inside sudo (which resets its own).
    pub fn wrap_no_password(&self, request: &ExecRequest) -> ExecRequest {
        let mut argv: Vec<String> = ["sudo", "-n", "-u", &self.user, "--"]
            .map(String::from)
            .to_vec();
        argv.extend(env_and_argv(request));
        ExecRequest {
            argv,
            stdin: request.stdin.clone(),
            env: Vec::new(),
            cwd: request.cwd.clone(),
        }
    }

    /// Wraps a request in `sudo -S` with the dialog's own prompt; once sudo
    /// lets the command start, a shell first prints the dialog's marker on
    /// stderr. Nothing is put on stdin here: the dialog's `converse` sends the
    /// password only after the prompt, and the command's input only after
    /// the marker.
    pub fn wrap_with_prompt(&self, request: &ExecRequest, dialog: &Dialog) -> ExecRequest {
        let mut argv: Vec<String> = vec![
            "sudo".into(),
            "-S".into(),
            "-p".into(),
            dialog.prompt.clone(),
            "-u".into(),
            self.user.clone(),
            "--".into(),
            "sh".into(),
            "-c".into(),
            format!("printf '%s\\n' {} >&2; exec \"$@\"", dialog.marker),
            "capstan-become".into(),
        ];
        argv.extend(env_and_argv(request));
        ExecRequest {
            argv,
            stdin: None,
            env: Vec::new(),
            cwd: request.cwd.clone(),
        }
    }

    /// Whether sudo may be given a password (else it must not ask: `-n`).
    pub fn has_password(&self) -> bool {
        self.password.is_some() || self.password_env.is_some()
    }

    /// The sudo password: the one given, or its environment variable's.
    fn password(&self) -> Option<String> {
        if let Some(SudoPassword(given)) = &self.password {
            return Some(given.clone());
        }
        std::env::var(self.password_env.as_deref()?).ok()
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

/// `env K=V... argv...`: the request's environment set inside sudo.
fn env_and_argv(request: &ExecRequest) -> Vec<String> {
    let mut words = Vec::new();
    if !request.env.is_empty() {
        words.push("env".into());
        words.extend(request.env.iter().map(|(k, v)| format!("{k}={v}")));
    }
    words.extend(request.argv.iter().cloned());
    words
}

/// One sudo conversation: a prompt and a start marker no one can guess,
/// so the password is typed only where sudo itself asked for it.
pub struct Dialog {
    prompt: String,
    marker: String,
}

impl Default for Dialog {
    /// A fresh prompt and marker, as [`Dialog::new`] makes.
    fn default() -> Self {
        Dialog::new()
    }
}

impl Dialog {
    /// A fresh prompt and marker for one command.
    pub fn new() -> Dialog {
        let nonce = nonce();
        Dialog {
            prompt: format!("[capstan-sudo-{nonce}] password: "),
            marker: format!("CAPSTAN-BECOME-{nonce}"),
        }
    }

    /// Runs the conversation: answers sudo's prompt once with the password
    /// (a second prompt means sudo refused it), and sends the command's
    /// input only after the marker shows the command has started. What
    /// comes before the marker is sudo's, and never the command's.
    pub async fn converse(
        &self,
        become_user: &Become,
        mut running: Running,
        request: &ExecRequest,
        max_output: u64,
        target: &str,
    ) -> Result<ExecOutput, RemoteError> {
        let program = &request.argv[0];
        let refused = |why: &str| {
            RemoteError::Failed(format!("become {} on {target}: {why}", become_user.user))
        };
        let marker_line = format!("{}\n", self.marker);
        let mut output = ExecOutput::default();
        let mut sudo_said: Vec<u8> = Vec::new();
        let mut prompts = 0;
        loop {
            let data = match running.next().await? {
                Some(Chunk::Stderr(data)) => data,
                Some(Chunk::Stdout(data)) => {
                    append_capped(&mut output.stdout, &data, max_output, "stdout", program)?;
                    continue;
                }
                Some(Chunk::Exit(code)) => {
                    // sudo's own refusal: its words go to `check`.
                    output.exit_code = code;
                    output.stderr = sudo_said;
                    return Ok(output);
                }
                None => return Ok(output),
            };
            sudo_said.extend_from_slice(&data);
            if sudo_said.len() as u64 > max_output.max(64 << 10) {
                running.abort().await;
                return Err(refused("sudo said more than expected before the command"));
            }
            if let Some(at) = find(&sudo_said, self.prompt.as_bytes()) {
                sudo_said.drain(at..at + self.prompt.len());
                prompts += 1;
                if prompts > 1 {
                    running.abort().await;
                    return Err(refused("sudo refused the password"));
                }
                let Some(password) = become_user.password() else {
                    running.abort().await;
                    return Err(refused(&format!(
                        "sudo asks for a password and the variable {} is not set",
                        become_user.password_env.as_deref().unwrap_or_default()
                    )));
                };
                running.send(format!("{password}\n").as_bytes()).await?;
            }
            if let Some(at) = find(&sudo_said, marker_line.as_bytes()) {
                // The command runs: what follows the marker is its own.
                let after = &sudo_said[at + marker_line.len()..];
                append_capped(&mut output.stderr, after, max_output, "stderr", program)?;
                break;
            }
        }
        running.send_input(request.stdin.clone()).await?;
        let output = running.collect(output, max_output, program).await?;
        if output.program_missing(program) {
            return Err(RemoteError::Unavailable(format!(
                "command not found on {target}: {program}"
            )));
        }
        Ok(output)
    }
}

/// 128 random bits as hex, from the OS.
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS gives random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_wraps_argv_and_moves_env_inside() {
        let become_root = Become {
            user: "root".into(),
            password_env: None,
            ..Default::default()
        };
        let request = ExecRequest {
            argv: vec!["id".into(), "-un".into()],
            env: vec![("A".into(), "1".into())],
            cwd: Some("/tmp".into()),
            stdin: None,
        };
        let wrapped = become_root.wrap_no_password(&request);
        assert_eq!(
            wrapped.argv,
            ["sudo", "-n", "-u", "root", "--", "env", "A=1", "id", "-un"]
        );
        assert!(wrapped.env.is_empty());
        assert_eq!(wrapped.cwd.as_deref(), Some("/tmp"));
    }

    #[test]
    fn with_a_password_nothing_is_put_on_stdin_up_front() {
        let become_root = Become {
            user: "root".into(),
            password_env: Some("CAPSTAN_TEST_SUDO_PW".into()),
            ..Default::default()
        };
        let request = ExecRequest {
            argv: vec!["cat".into()],
            stdin: Some(b"data".to_vec()),
            ..Default::default()
        };
        let dialog = Dialog::new();
        let wrapped = become_root.wrap_with_prompt(&request, &dialog);
        assert_eq!(&wrapped.argv[..4], ["sudo", "-S", "-p", &dialog.prompt]);
        assert_eq!(wrapped.stdin, None);
        assert_ne!(
            Dialog::new().prompt,
            dialog.prompt,
            "a prompt is never reused"
        );
    }

    /// Runs `script` as a stand-in for sudo (`$1` is the prompt, `$2` the
    /// marker) through the dialog, with `data` as the command's input.
    async fn converse_with(script: &str) -> Result<ExecOutput, RemoteError> {
        // SAFETY: this test module owns the variable; nothing else reads it.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("CAPSTAN_TEST_SUDO_PW", "s3cret")
        };
        let become_root = Become {
            user: "root".into(),
            password_env: Some("CAPSTAN_TEST_SUDO_PW".into()),
            ..Default::default()
        };
        let dialog = Dialog::new();
        let fake_sudo = ExecRequest {
            argv: ["sh", "-c", script, "sudo", &dialog.prompt, &dialog.marker]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        };
        let running = crate::LocalTransport
            .start(&fake_sudo)
            .await
            .map(Running::Local)?;
        let request = ExecRequest {
            argv: vec!["cat".into()],
            stdin: Some(b"data".to_vec()),
            ..Default::default()
        };
        dialog
            .converse(&become_root, running, &request, 1 << 20, "web-1")
            .await
    }

    #[tokio::test]
    async fn the_password_is_typed_only_at_the_prompt_and_input_follows_the_marker() {
        let asks = r#"printf '%s' "$1" >&2; read pw; [ "$pw" = s3cret ] || exit 9
printf 'lecture\n%s\nwarning\n' "$2" >&2; exec cat"#;
        let out = converse_with(asks).await.unwrap();
        assert_eq!(out.stdout, b"data");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "warning\n");

        // A sudo with a cached login does not ask: the password is never sent.
        let cached = r#"printf '%s\n' "$2" >&2; exec cat"#;
        let out = converse_with(cached).await.unwrap();
        assert_eq!(out.stdout, b"data");

        let refuses =
            r#"while :; do printf '%s' "$1" >&2; read pw; printf 'Sorry, try again.\n' >&2; done"#;
        let err = converse_with(refuses).await.unwrap_err().to_string();
        assert!(err.contains("sudo refused the password"), "{err}");

        let forbidden = r#"printf 'x is not in the sudoers file.\n' >&2; exit 1"#;
        let out = converse_with(forbidden).await.unwrap();
        assert!(String::from_utf8_lossy(&out.stderr).contains("sudoers"));
    }

    #[test]
    fn sudo_refusals_say_what_to_do() {
        let become_root = Become {
            user: "root".into(),
            password_env: None,
            ..Default::default()
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
