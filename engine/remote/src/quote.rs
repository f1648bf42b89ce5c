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

/// The command line for `request`: `cd DIR && exec env K=V... argv...`.
pub fn command_line(request: &ExecRequest) -> String {
    let mut line = String::new();
    if let Some(dir) = &request.cwd {
        line.push_str("cd ");
        line.push_str(&quote(dir));
        line.push_str(" && ");
    }
    line.push_str("exec");
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
            "cd '/tmp/x y' && exec env 'GREETING=hi there' echo 'a;b'"
        );
    }
}
