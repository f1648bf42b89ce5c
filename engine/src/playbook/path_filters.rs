//! Ansible's filters on paths, applied as text on the controller as
//! Ansible's are: `expanduser`, `path_join`, `splitext`, `realpath`.

use std::path::PathBuf;

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};

/// Adds these filters to a template engine.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("expanduser", expanduser);
    env.add_filter("path_join", path_join);
    env.add_filter("splitext", splitext);
    env.add_filter("realpath", |p: String| {
        std::fs::canonicalize(&p).map_or(p, |r| r.to_string_lossy().into_owned())
    });
}

/// `~` and `~/…` become the controller user's home (another user's `~name`
/// is left as written).
fn expanduser(path: String) -> String {
    let home = || std::env::var("HOME").ok().filter(|h| !h.is_empty());
    match (path.as_str(), home()) {
        ("~", Some(home)) => home,
        (p, Some(home)) if p.starts_with("~/") => format!("{home}{}", &p[1..]),
        _ => path,
    }
}

/// `['/a', 'b'] | path_join`: the parts joined, an absolute part
/// restarting the path as Python's `os.path.join` does.
fn path_join(parts: Value) -> Result<String, Error> {
    let mut path = PathBuf::new();
    if let Some(single) = parts.as_str() {
        return Ok(single.to_string());
    }
    for part in parts.try_iter()? {
        let Some(text) = part.as_str() else {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("path_join needs strings, not `{part}`"),
            ));
        };
        path.push(text);
    }
    Ok(path.to_string_lossy().into_owned())
}

/// `'a/b.tar.gz' | splitext` → `['a/b.tar', '.gz']`.
fn splitext(path: String) -> Value {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    let name = &path[name_start..];
    match name.rfind('.') {
        Some(dot) if name[..dot].chars().any(|c| c != '.') => {
            let at = name_start + dot;
            Value::from(vec![path[..at].to_string(), path[at..].to_string()])
        }
        _ => Value::from(vec![path.clone(), String::new()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitext_keeps_dot_files_whole_and_splits_the_last_suffix() {
        let split = |p: &str| splitext(p.into()).to_string();
        assert_eq!(split("a/b.tar.gz"), r#"["a/b.tar", ".gz"]"#);
        assert_eq!(split("a/.bashrc"), r#"["a/.bashrc", ""]"#);
        assert_eq!(split("noext"), r#"["noext", ""]"#);
    }

    #[test]
    fn path_join_restarts_at_an_absolute_part() {
        let joined = path_join(Value::from(vec!["/a", "b", "/c", "d"])).unwrap();
        assert_eq!(joined, "/c/d");
    }
}
