//! The `diff` Ansible's file module returns: the path on both sides, and
//! beside it each thing that changed (the state, a link's source, mode,
//! owner, group, times) with what it was and what it becomes. A path left
//! as it was has a diff that holds its path alone.

use serde_json::{Map, Value as Json};

/// A file task's before and after, as Ansible's file module reports them.
#[derive(Debug, Clone, Default)]
pub struct StateDiff {
    before: Map<String, Json>,
    after: Map<String, Json>,
}

impl StateDiff {
    /// The diff of a task that changes nothing at `path` (yet).
    pub fn new(path: &str) -> StateDiff {
        let mut diff = StateDiff::default();
        diff.change("path", path, path);
        diff
    }

    /// Records that `key` was `before` and becomes `after`.
    pub fn change(&mut self, key: &str, before: impl Into<Json>, after: impl Into<Json>) {
        self.before.insert(key.to_string(), before.into());
        self.after.insert(key.to_string(), after.into());
    }

    /// Records what `key` was, with nothing after (what a removed folder
    /// held).
    pub fn before_only(&mut self, key: &str, before: impl Into<Json>) {
        self.before.insert(key.to_string(), before.into());
    }

    /// `{"before": {...}, "after": {...}}`, as the result's `diff`.
    pub fn to_json(&self) -> Json {
        serde_json::json!({ "before": self.before, "after": self.after })
    }

    /// The diff as `--diff` shows it: a line per side of each change.
    pub fn text(&self, path: &str) -> String {
        let mut text = format!("--- before: {path}\n+++ after: {path}\n");
        for (key, after) in self.after.iter().filter(|(key, _)| *key != "path") {
            let before = self.before.get(key).unwrap_or(&Json::Null);
            text.push_str(&format!(
                "-{key}: {}\n+{key}: {}\n",
                shown(before),
                shown(after)
            ));
        }
        text
    }
}

/// A value on a diff line: a string without its quotes.
fn shown(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_path_has_its_path_alone() {
        let diff = StateDiff::new("/srv/a");
        assert_eq!(
            diff.to_json(),
            serde_json::json!({"before": {"path": "/srv/a"}, "after": {"path": "/srv/a"}})
        );
        assert_eq!(
            diff.text("/srv/a"),
            "--- before: /srv/a\n+++ after: /srv/a\n"
        );
    }

    #[test]
    fn each_change_has_both_sides() {
        let mut diff = StateDiff::new("/srv/a");
        diff.change("state", "absent", "touch");
        diff.change("mode", "0644", "0600");
        let json = diff.to_json();
        assert_eq!(json["before"]["mode"], "0644");
        assert_eq!(json["after"]["state"], "touch");
        assert_eq!(
            diff.text("/srv/a"),
            "--- before: /srv/a\n+++ after: /srv/a\n-mode: 0644\n+mode: 0600\n-state: absent\n+state: touch\n"
        );
    }
}
