//! Which tasks a run takes: `--tags`/`--skip-tags`, and the names
//! `--start-at-task` matches.

use super::PlaybookOptions;
use super::model::Task;

/// Whether a task (or include) tagged `own`, in a play tagged
/// `play_tags`, runs under `--tags` and `--skip-tags` (`always` and
/// `never` read as Ansible reads them).
pub(crate) fn selected_by_tags(
    own: &[String],
    play_tags: &[String],
    options: &PlaybookOptions,
) -> bool {
    let tags: Vec<&String> = own.iter().chain(play_tags).collect();
    let has = |t: &str| tags.iter().any(|x| x.as_str() == t);
    if options.skip_tags.iter().any(|t| has(t)) {
        return false;
    }
    if options.tags.is_empty() || options.tags.iter().any(|t| t == "all") {
        return !has("never");
    }
    has("always") || options.tags.iter().any(|t| has(t))
}

/// The names `--start-at-task` matches a task by: its name as shown and,
/// for a role's task, `ROLE : NAME`.
pub(crate) fn task_names(task: &Task) -> Vec<String> {
    let name = task.display_name();
    match &task.role {
        Some(role) => vec![format!("{} : {name}", role.name), name],
        None => vec![name],
    }
}

/// Whether `name` matches `pattern`, a shell-style pattern (`*` any text,
/// `?` one character), as Ansible matches `--start-at-task`.
pub(crate) fn glob_matches(pattern: &str, name: &str) -> bool {
    fn from(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| from(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && from(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && from(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    from(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn start_at_task_patterns_match_as_shell_patterns() {
        assert!(glob_matches("install nginx", "install nginx"));
        assert!(glob_matches("install *", "install nginx"));
        assert!(glob_matches("web : *", "web : reload"));
        assert!(glob_matches("?nstall", "install"));
        assert!(!glob_matches("install", "install nginx"));
        assert!(!glob_matches("x*z", "xyzy"));
    }
}
