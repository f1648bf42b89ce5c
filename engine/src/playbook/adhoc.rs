//! Ad-hoc commands (Ansible's `ansible PATTERN -m MODULE -a ARGS`): one
//! module on the hosts a pattern names, run as a playbook of one play and
//! one task, so it has everything a playbook's task has (inventory,
//! variables, become, check mode, the recap, a recorded job).

use serde_json::{Map, Value as Json, json};

/// One ad-hoc command.
#[derive(Debug, Clone, Default)]
pub struct AdHoc {
    /// The hosts it runs on (`all`, `web:!web-3`).
    pub pattern: String,
    /// The module (`command` unless told).
    pub module: String,
    /// Its arguments as `-a` gives them: `key=value ...` (free-form text
    /// for `command`, `shell`, `raw`), or a JSON object.
    pub args: Option<String>,
    /// Play keywords the command line sets: `connection`, `remote_user`,
    /// `become`, `become_user`, `become_method`.
    pub keywords: Map<String, Json>,
}

impl AdHoc {
    /// The playbook it runs, as YAML text (JSON is YAML): nothing in it is
    /// read as YAML syntax, whatever the pattern or arguments hold.
    pub fn playbook_text(&self) -> String {
        let args = match self.args.as_deref().map(str::trim) {
            None | Some("") => Json::Null,
            Some(text) => match serde_json::from_str::<Json>(text) {
                Ok(object @ Json::Object(_)) => object,
                _ => Json::String(text.to_string()),
            },
        };
        let mut task = Map::new();
        task.insert(self.module.clone(), args);
        let mut play = Map::new();
        play.insert("name".into(), json!("Ansible Ad-Hoc"));
        play.insert("hosts".into(), json!(self.pattern));
        play.insert("gather_facts".into(), json!(false));
        play.extend(self.keywords.clone());
        play.insert("tasks".into(), json!([task]));
        Json::Array(vec![Json::Object(play)]).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_becomes_a_play_of_one_task() {
        let adhoc = AdHoc {
            pattern: "web:!web-3".into(),
            module: "shell".into(),
            args: Some("echo '{{ x }}' # not: yaml".into()),
            keywords: [("become".to_string(), json!(true))].into_iter().collect(),
        };
        let plays: Json = serde_json::from_str(&adhoc.playbook_text()).unwrap();
        assert_eq!(plays[0]["hosts"], "web:!web-3");
        assert_eq!(plays[0]["become"], true);
        assert_eq!(plays[0]["gather_facts"], false);
        assert_eq!(plays[0]["tasks"][0]["shell"], "echo '{{ x }}' # not: yaml");
        let json_args = AdHoc {
            module: "copy".into(),
            args: Some(r#"{"content": "x", "dest": "/tmp/x"}"#.into()),
            ..adhoc
        };
        let plays: Json = serde_json::from_str(&json_args.playbook_text()).unwrap();
        assert_eq!(plays[0]["tasks"][0]["copy"]["dest"], "/tmp/x");
    }
}
