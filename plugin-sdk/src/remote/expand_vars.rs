//! `$NAME` and `${NAME}` in a command's words or a path, replaced by the
//! host's environment variables as Ansible's modules replace them
//! (Python's `os.path.expandvars`): a name that is not set stays as
//! written, and nothing else (no `$(...)`) is touched.

use std::collections::HashMap;

use crate::Error;

/// `words` with the host's environment variables in them, and a leading
/// `~/` as the user's home when `home_too` (a path, as Ansible's `path`
/// options read it). One look at the host's environment, only when a word
/// names a variable.
pub fn expand_vars(target: &str, words: Vec<String>, home_too: bool) -> Result<Vec<String>, Error> {
    let home = |w: &String| home_too && (w == "~" || w.starts_with("~/"));
    if !words.iter().any(|w| wanted(w) || home(w)) {
        return Ok(words);
    }
    let printed = super::Command::new(["env", "-0"]).run_checked(target)?;
    let env = parse_env(&printed.stdout);
    Ok(words
        .into_iter()
        .map(|w| match (home(&w), env.get("HOME")) {
            (true, Some(dir)) => expand(&format!("{dir}{}", &w[1..]), &env),
            _ => expand(&w, &env),
        })
        .collect())
}

/// Paths as Ansible's modules read their `path` options: `~/` and `$VAR`
/// expanded as [`expand_vars`] does, and a relative path taken from the
/// folder commands start in on the target (Capstan's own working folder
/// on the local machine, the login's home over SSH), as a module's
/// process resolves one there. An empty path stays empty. A look at the
/// target only when a path needs one.
pub fn absolute_paths(target: &str, paths: Vec<String>) -> Result<Vec<String>, Error> {
    let mut paths = expand_vars(target, paths, true)?;
    let relative = |p: &String| !p.is_empty() && !p.starts_with('/');
    if !paths.iter().any(relative) {
        return Ok(paths);
    }
    let printed = super::Command::new(["pwd", "-P"]).run_checked(target)?;
    let start = printed.stdout_text();
    let start = start.trim_end_matches('\n').trim_end_matches('/');
    for path in paths.iter_mut().filter(|p| relative(p)) {
        *path = under(start, path);
    }
    Ok(paths)
}

/// One path as [`absolute_paths`] reads it.
pub fn absolute_path(target: &str, path: String) -> Result<String, Error> {
    Ok(absolute_paths(target, vec![path])?.remove(0))
}

/// `path` (relative) under the folder `start`, without `./` steps.
fn under(start: &str, path: &str) -> String {
    let mut rest = path;
    while let Some(after) = rest.strip_prefix("./") {
        rest = after.trim_start_matches('/');
    }
    match rest {
        "" | "." => format!("{start}/"),
        rest => format!("{start}/{rest}"),
    }
}

/// Whether `word` has something [`expand`] could replace.
fn wanted(word: &str) -> bool {
    word.contains('$')
}

/// `word` with each `$NAME` (letters, digits, `_`) and `${NAME}` that
/// `env` sets replaced by its value.
fn expand(word: &str, env: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, written_len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match env.get(name).filter(|_| written_len > 0) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[at..at + 1 + written_len]),
        }
        rest = &after[written_len..];
    }
    out.push_str(rest);
    out
}

/// The environment `env -0` printed: NUL-separated `NAME=value` pairs.
fn parse_env(printed: &[u8]) -> HashMap<String, String> {
    printed
        .split(|b| *b == 0)
        .filter_map(|pair| {
            let text = String::from_utf8_lossy(pair);
            let (name, value) = text.split_once('=')?;
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names_are_replaced_and_others_kept_as_written() {
        let env = parse_env(b"TEST=z\0HOME=/root\0EMPTY=\0");
        assert_eq!(expand(r#"echo "\$TEST""#, &env), r#"echo "\z""#);
        assert_eq!(expand("${HOME}/x:$HOME.", &env), "/root/x:/root.");
        assert_eq!(expand("$NOPE ${NOPE} $ $1x", &env), "$NOPE ${NOPE} $ $1x");
        assert_eq!(expand("a${EMPTY}b ${unclosed", &env), "ab ${unclosed");
        assert_eq!(expand("price: 5$", &env), "price: 5$");
    }

    #[test]
    fn relative_paths_go_under_the_start_folder() {
        assert_eq!(under("/home/u", "a.txt"), "/home/u/a.txt");
        assert_eq!(under("/home/u", "./sub/dir/"), "/home/u/sub/dir/");
        assert_eq!(under("/home/u", ".//x"), "/home/u/x");
        assert_eq!(under("", "x"), "/x");
        assert_eq!(under("/home/u", "."), "/home/u/");
    }
}
