//! Turning argv into the one command line SSH carries. The remote login
//! shell parses it, so every word is single-quoted: nothing a plugin passes
//! can expand, chain or redirect.

use super::ExecRequest;

/// Quotes one word for a POSIX shell.
pub fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// What the command line prints as its first line of output, before the
/// process id it runs as (see [`command_line`]).
pub const PID_MARKER: &str = "capstan-pid:";

/// The command line for `request`:
/// `cd DIR && exec sh -c 'echo capstan-pid:$$ && exec "$@"' capstan env K=V... argv...`.
///
/// The command first says its process id on a line of its own (which the
/// transport takes off its output): sshd makes each session's process lead
/// its own process group, so that id is how a command given up on — and
/// every process it started — is stopped on the host, whatever user it
/// logged in as. (OpenSSH's `signal` request is refused for root logins.)
/// `sh -c` keeps `$$` POSIX whatever the login shell is. A request that
/// is already `sh -c SCRIPT ARGS...` (without environment) becomes
/// `exec sh -c 'echo capstan-pid:$$<newline>SCRIPT' ARGS...`.
pub fn command_line(request: &ExecRequest) -> String {
    let mut line = String::new();
    if let Some(dir) = &request.cwd {
        line.push_str("cd ");
        line.push_str(&quote(dir));
        line.push_str(" && ");
    }
    // A script (`sh -c SCRIPT ...`) says its id itself: one `sh` less
    // to start on the host for each of the many commands that are one.
    if let [sh, c, script, rest @ ..] = request.argv.as_slice()
        && sh == "sh"
        && c == "-c"
        && request.env.is_empty()
    {
        line.push_str("exec sh -c ");
        line.push_str(&quote(&format!("echo {PID_MARKER}$$\n{script}")));
        for word in rest {
            line.push(' ');
            line.push_str(&quote(word));
        }
        return line;
    }
    line.push_str("exec sh -c 'echo ");
    line.push_str(PID_MARKER);
    line.push_str("$$ && exec \"$@\"' capstan");
    if !request.env.is_empty() {
        line.push_str(" env");
        for (key, value) in &request.env {
            line.push(' ');
            line.push_str(&quote(&format!("{key}={value}")));
        }
    }
    for word in &request.argv {
        line.push(' ');
        line.push_str(&quote(word));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_so_nothing_expands() {
        assert_eq!(quote("ls"), "ls");
        assert_eq!(quote("/etc/hosts"), "/etc/hosts");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn a_request_becomes_one_exec_line() {
        let request = ExecRequest {
            argv: vec!["echo".into(), "a;b".into()],
            env: vec![("GREETING".into(), "hi there".into())],
            cwd: Some("/tmp/x y".into()),
            stdin: None,
        };
        assert_eq!(
            command_line(&request),
            "cd '/tmp/x y' && exec sh -c 'echo capstan-pid:$$ && exec \"$@\"' capstan env 'GREETING=hi there' echo 'a;b'"
        );
        let bare = ExecRequest {
            argv: vec!["true".into()],
            env: vec![],
            cwd: None,
            stdin: None,
        };
        assert_eq!(
            command_line(&bare),
            "exec sh -c 'echo capstan-pid:$$ && exec \"$@\"' capstan true"
        );
        let script = ExecRequest {
            argv: vec![
                "sh".into(),
                "-c".into(),
                "cat \"$1\"".into(),
                "name".into(),
                "a b".into(),
            ],
            env: vec![],
            cwd: None,
            stdin: None,
        };
        assert_eq!(
            command_line(&script),
            "exec sh -c 'echo capstan-pid:$$\ncat \"$1\"' name 'a b'"
        );
    }
}
