//! Which tasks a run takes: `--tags`/`--skip-tags`, and the names
//! `--start-at-task` matches.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::PlaybookOptions;
use super::model::{Play, Task};
use super::template::{Origin, Scope, Templates};

/// Whether a task (or include) tagged `own`, in a play tagged
/// `play_tags`, runs under `--tags` and `--skip-tags`, as Ansible decides
/// it: `always` runs unless skipped by name, `never` only when named, a
/// task without tags is `untagged`, and `tagged`/`all` stand for what
/// their names say.
pub(crate) fn selected_by_tags(
    own: &[String],
    play_tags: &[String],
    options: &PlaybookOptions,
) -> bool {
    let mut tags: Vec<&str> = own.iter().chain(play_tags).map(String::as_str).collect();
    let untagged = tags.is_empty();
    if untagged {
        tags.push("untagged");
    }
    let has = |t: &str| tags.contains(&t);
    let named = |list: &[String]| list.iter().any(|t| has(t));
    let only = &options.tags;
    let run = only.is_empty()
        || has("always")
        || (only.iter().any(|t| t == "all") && !has("never"))
        || named(only)
        || (only.iter().any(|t| t == "tagged") && !untagged && !has("never"));
    if !run {
        return false;
    }
    let skip = &options.skip_tags;
    if skip.iter().any(|t| t == "all") {
        return has("always") && !skip.iter().any(|t| t == "always");
    }
    if named(skip) || (skip.iter().any(|t| t == "tagged") && !untagged) {
        return false;
    }
    // Without --tags, Ansible's `all`: `never` stays out.
    !only.is_empty() || !has("never") || has("always")
}

/// Tags as a run reads them: one written as a template (`"{{ the_tags }}"`)
/// rendered with the play's vars under the extra vars (a list gives each
/// of its items, text is split at commas); one that cannot be rendered
/// stays as written.
pub(crate) fn rendered_tags<'a>(
    tags: &'a [String],
    play: &Play,
    templates: &Templates,
    options: &PlaybookOptions,
) -> Cow<'a, [String]> {
    if !tags.iter().any(|t| Templates::is_template(t)) {
        return Cow::Borrowed(tags);
    }
    let play_vars: serde_json::Map<String, Json> = play.vars.iter().cloned().collect();
    let scope = Scope::layered([
        (&play_vars, Origin::Written),
        (&options.extra_vars, Origin::Written),
    ]);
    let mut out = Vec::new();
    for tag in tags {
        match templates.render_value(tag, &scope) {
            Ok(_) if !Templates::is_template(tag) => out.push(tag.clone()),
            Ok(Json::Array(items)) => out.extend(items.iter().map(|i| match i {
                Json::String(text) => text.clone(),
                other => other.to_string(),
            })),
            Ok(Json::String(text)) => out.extend(text.split(',').map(|t| t.trim().to_string())),
            Ok(other) => out.push(other.to_string()),
            Err(_) => out.push(tag.clone()),
        }
    }
    Cow::Owned(out)
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
