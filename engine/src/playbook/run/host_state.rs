//! One host's variables and standing through a run: its layers of
//! variables in Ansible's order of strength, the facts and results it
//! gathers, the handlers it has notified, and its recap.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::results::ItemResult;
use crate::jobs::ResultStatus;
use crate::playbook::actions::IncludedVars;
use crate::playbook::context::RunHost;
use crate::playbook::model::{Play, RoleScope, Task};
use crate::playbook::report::Recap;
use crate::playbook::task_error::TaskError;
use crate::playbook::template::{Origin, Scope, Templates};
use crate::vault::Vault;
use capstan_plugin_host::target::Target;

/// The hosts of a play as a batch of it starts, by name.
#[derive(Debug, Default, Clone)]
pub(super) struct PlayHosts {
    /// Every host the play chose.
    pub all: Arc<Vec<String>>,
    /// Those that have not failed or been lost.
    pub left: Arc<Vec<String>>,
    /// This batch's.
    pub batch: Arc<Vec<String>>,
}

/// Facts a task gathered (`setup`) or set (`set_fact`) on behalf of its
/// delegate (`delegate_facts: true`).
#[derive(Debug, Clone)]
pub(super) struct DelegatedFacts {
    /// The host they belong to.
    pub host: String,
    /// A `setup` result (with `ansible_facts`), or `set_fact`'s values.
    pub values: Map<String, Json>,
    /// Whether they were set with `set_fact`.
    pub set: bool,
}

/// One host's state through the run.
pub(super) struct HostState {
    pub name: String,
    pub target: Target,
    pub inventory: Map<String, Json>,
    pub facts: Map<String, Json>,
    /// The play's roles' defaults: under every other variable.
    pub role_defaults: Map<String, Json>,
    pub play_vars: Map<String, Json>,
    /// The play's roles' `vars/`: over the play's vars.
    pub role_vars: Map<String, Json>,
    /// `register:` and `set_fact:` results.
    pub set: Map<String, Json>,
    /// `include_vars:` variables: written in the playbook's files, so
    /// templates, rendered when used (under `set`, as in Ansible).
    pub included: Map<String, Json>,
    /// The current play's hosts (after `--limit`): what its tasks may reach.
    pub play_hosts: Arc<Vec<String>>,
    pub notified: Vec<String>,
    /// Handlers (by their place among the play's) a handler notified
    /// after they had their turn in a flush: they run in the next one.
    pub handlers_due: Vec<usize>,
    /// The last task that failed here and its result, until a block's
    /// `rescue:` hands them on as `ansible_failed_task` and
    /// `ansible_failed_result`.
    pub last_failure: Option<(Json, Json)>,
    pub failed: bool,
    /// Failed, but running the handlers it notified (`force_handlers`).
    pub forced: bool,
    pub unreachable: bool,
    /// A `meta: clear_host_errors` ran here: a failure an enclosing
    /// block's `always:` would restore stays cleared.
    pub errors_cleared: bool,
    /// Every host's variables as `hostvars`, when the run uses them: set
    /// before each task.
    pub hostvars: Option<minijinja::Value>,
    /// Facts gathered or set here for another host (`delegate_facts`):
    /// handed over when the task ends.
    pub facts_for_others: Vec<DelegatedFacts>,
    /// Other logins to this host (or a delegate) than its own, by
    /// `user@host`: a task's `remote_user`, opened on first use and kept
    /// for the run.
    pub logins: Vec<(String, Target)>,
    /// The inventory names this host's login (`ansible_user`), which a
    /// `remote_user` keyword does not change.
    pub user_given: bool,
    /// The roles (with their parameters) that ran here in this play.
    pub roles_ran: Vec<Arc<str>>,
    /// Takes no more tasks in this play, without having failed (its batch
    /// was stopped by `any_errors_fatal` or `max_fail_percentage`).
    pub ended: bool,
    pub recap: Recap,
}

impl HostState {
    /// A host at the start of the run: its inventory variables only.
    pub fn new(host: RunHost) -> HostState {
        HostState {
            recap: Recap {
                host: host.name.clone(),
                ..Recap::default()
            },
            name: host.name,
            target: host.target,
            inventory: host.vars,
            facts: Map::new(),
            role_defaults: Map::new(),
            play_vars: Map::new(),
            role_vars: Map::new(),
            set: Map::new(),
            included: Map::new(),
            play_hosts: Arc::default(),
            notified: Vec::new(),
            handlers_due: Vec::new(),
            last_failure: None,
            failed: false,
            forced: false,
            unreachable: false,
            errors_cleared: false,
            ended: false,
            roles_ran: Vec::new(),
            logins: Vec::new(),
            user_given: host.user_given,
            facts_for_others: Vec::new(),
            hostvars: None,
        }
    }

    /// Whether the host is still in the run (it has not failed or been
    /// lost); one that ended a play comes back for the next.
    pub fn in_run(&self) -> bool {
        !self.failed && !self.unreachable
    }

    /// Whether the host still takes tasks (it has not failed, been lost
    /// or ended the play).
    pub fn active(&self) -> bool {
        (!self.failed || self.forced) && !self.unreachable && !self.ended
    }

    /// Whether forced handlers may still run on it: failed, but neither
    /// lost nor ended.
    pub fn forcible(&self) -> bool {
        !self.unreachable && !self.ended
    }

    /// Variables in Ansible's order of strength: role defaults,
    /// inventory, facts, play vars, role vars, task vars, registered and
    /// set facts, extra vars. What the user wrote may hold templates;
    /// facts and results are data.
    pub fn scope(&self, task_vars: &Map<String, Json>, extra: &Map<String, Json>) -> Scope {
        self.scope_in(None, task_vars, extra)
    }

    /// [`Self::scope`] for a task an `include_role` brought: its role's
    /// defaults over the play's roles' defaults, its vars over theirs.
    pub fn scope_in(
        &self,
        role: Option<&RoleScope>,
        task_vars: &Map<String, Json>,
        extra: &Map<String, Json>,
    ) -> Scope {
        let none = Map::new();
        let (role_defaults, role_vars) = role.map_or((&none, &none), |r| (&r.defaults, &r.vars));
        Scope::layered([
            (&self.role_defaults, Origin::Written),
            (role_defaults, Origin::Written),
            (&self.inventory, Origin::Written),
            (&self.facts, Origin::Data),
            (&self.play_vars, Origin::Written),
            (&self.role_vars, Origin::Written),
            (role_vars, Origin::Written),
            (task_vars, Origin::Written),
            (&self.included, Origin::Written),
            (&self.set, Origin::Data),
            (extra, Origin::Written),
        ])
        .with_hostvars(self.hostvars.clone())
    }

    /// Whether `role` (with its parameters) has not run here yet in this
    /// play; it counts as run from now on.
    pub fn first_run_of(&mut self, role: &Arc<str>) -> bool {
        if self.roles_ran.contains(role) {
            return false;
        }
        self.roles_ran.push(role.clone());
        true
    }

    /// Makes an `include_role: {public: true}`'s defaults and vars the
    /// play's, for the tasks after it.
    pub fn publish_role(&mut self, role: &RoleScope) {
        self.role_defaults
            .extend(role.defaults.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.role_vars
            .extend(role.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    /// What `hostvars[this host]` shows: its inventory and magic variables,
    /// facts, and what it registered or set.
    pub fn visible_vars(&self) -> Map<String, Json> {
        let mut vars = self.inventory.clone();
        vars.extend(self.facts.clone());
        vars.extend(self.included.clone());
        vars.extend(self.set.clone());
        vars
    }

    /// Starts a play (or its next `serial:` batch) on this host: the
    /// play's hosts (`ansible_play_hosts_all`), those still in it
    /// (`ansible_play_hosts`), its batch (`ansible_play_batch`), and no
    /// play vars or notifications left from before.
    pub fn enter_play(&mut self, hosts: &PlayHosts) {
        self.play_hosts = hosts.all.clone();
        self.play_vars.clear();
        self.role_defaults.clear();
        self.role_vars.clear();
        self.notified.clear();
        self.roles_ran.clear();
        self.ended = false;
        for (name, hosts) in [
            ("ansible_play_hosts_all", &hosts.all),
            ("ansible_play_hosts", &hosts.left),
            ("ansible_play_batch", &hosts.batch),
            ("play_hosts", &hosts.batch),
        ] {
            self.play_vars
                .insert(name.into(), Json::from(hosts.as_slice()));
        }
    }

    /// Adds the play's `vars:` and `vars_files:` (file names rendered with
    /// what the host knows so far), kept as written: each is rendered when
    /// a task uses it, as Ansible's lazy variables are, so one may use a
    /// result registered later.
    pub fn load_play_vars(
        &mut self,
        play: &Play,
        templates: &Templates,
        dir: &Path,
        extra: &Map<String, Json>,
        vault: &Vault,
    ) -> Result<(), TaskError> {
        let mut vars: Vec<(String, Json)> = play.vars.clone();
        for (file, pos) in &play.vars_files {
            let scope = self.scope(&Map::new(), extra);
            let name = templates
                .render_text(file, &scope)
                .map_err(TaskError::in_part(format!("{pos}: vars_files")))?;
            let path = dir.join(&name);
            let node = vault
                .read_yaml(&path, capstan_yaml::TopLevel::Mapping, "vars file")
                .map_err(|e| match e {
                    crate::vault::ReadError::File(e) => TaskError::VarsFile(format!("{pos}: {e}")),
                    crate::vault::ReadError::Yaml(e) => TaskError::VarsFile(e.to_string()),
                })?;
            vars.extend(
                crate::playbook::model::vars(&node)
                    .map_err(|e| TaskError::VarsFile(e.to_string()))?,
            );
        }
        self.play_vars.extend(vars);
        self.role_defaults = play.role_defaults.iter().cloned().collect();
        self.role_vars = play.role_vars.iter().cloned().collect();
        Ok(())
    }

    /// Counts a task's result in the recap and acts on it: a failure or a
    /// lost host stops the host, a change notifies `notify` (the task's
    /// handlers, their names rendered).
    /// Returns whether the failure was ignored (`ignore_errors`), which
    /// Ansible counts as ok, and as changed when the module changed
    /// something.
    pub fn record(
        &mut self,
        task: &Task,
        status: ResultStatus,
        changed: bool,
        notify: &[String],
    ) -> bool {
        match status {
            // As Ansible counts an unreachable host it was told to ignore.
            ResultStatus::Unreachable if task.ignore_unreachable == Some(true) => {
                self.recap.ignored += 1;
                self.recap.ok += 1;
                return true;
            }
            ResultStatus::Unreachable => {
                self.unreachable = true;
                self.recap.unreachable = 1;
            }
            ResultStatus::Failed if task.ignores_errors() => {
                self.recap.ignored += 1;
                self.recap.ok += 1;
                if changed {
                    self.recap.changed += 1;
                }
                return true;
            }
            ResultStatus::Failed => {
                self.failed = true;
                self.recap.failed += 1;
            }
            ResultStatus::Skipped => self.recap.skipped += 1,
            ResultStatus::Changed => {
                self.recap.ok += 1;
                self.recap.changed += 1;
                for name in notify {
                    if !self.notified.contains(name) {
                        self.notified.push(name.clone());
                    }
                }
            }
            ResultStatus::Ok => self.recap.ok += 1,
        }
        false
    }

    /// Takes back the failure that stopped this host, for a block's
    /// `rescue:`: the host goes on, the failure counts as rescued (not
    /// failed, as Ansible counts it), and the task that failed and its
    /// result become `ansible_failed_task` and `ansible_failed_result`.
    pub fn rescue(&mut self) {
        self.failed = false;
        self.recap.failed = self.recap.failed.saturating_sub(1);
        self.recap.rescued += 1;
        if let Some((task, result)) = self.last_failure.take() {
            self.set.insert("ansible_failed_task".into(), task);
            self.set.insert("ansible_failed_result".into(), result);
        }
    }

    /// Takes facts another host's task gathered or set for this one.
    pub fn take_delegated(&mut self, facts: DelegatedFacts) {
        if facts.set {
            self.set.extend(facts.values);
        } else {
            self.absorb_facts(&facts.values);
        }
    }

    /// Keeps the facts a `setup` result carries, both as `ansible_x` and
    /// under `ansible_facts.x`.
    pub fn absorb_facts(&mut self, result: &Map<String, Json>) {
        let Some(Json::Object(facts)) = result.get("ansible_facts") else {
            return;
        };
        // Added to the facts the host has (a `getent` after `setup`).
        let mut short = match self.facts.remove("ansible_facts") {
            Some(Json::Object(known)) => known,
            _ => Map::new(),
        };
        for (key, value) in facts {
            self.facts.insert(key.clone(), value.clone());
            short.insert(
                key.strip_prefix("ansible_").unwrap_or(key).to_string(),
                value.clone(),
            );
        }
        self.facts
            .insert("ansible_facts".into(), Json::Object(short));
    }

    /// `include_vars`: binds the variables read from `files` on this host
    /// (as strong as `set_fact`).
    pub fn include_vars(&mut self, included: IncludedVars) -> ItemResult {
        let IncludedVars {
            files,
            mut vars,
            merge_hashes,
        } = included;
        let names: Vec<String> = vars.keys().cloned().collect();
        for (k, v) in &mut vars {
            match self.included.get(k) {
                Some(old @ Json::Object(_)) if merge_hashes && v.is_object() => {
                    let mut merged = old.clone();
                    crate::playbook::filters::merge_recursively(&mut merged, v.take());
                    *v = merged;
                }
                _ => {}
            }
            self.included.insert(k.clone(), v.clone());
        }
        let mut result = Map::new();
        result.insert("ansible_facts".into(), Json::Object(vars));
        result.insert(
            "ansible_included_var_files".into(),
            Json::from(
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>(),
            ),
        );
        result.insert("changed".into(), Json::Bool(false));
        result.insert("failed".into(), Json::Bool(false));
        ItemResult {
            status: ResultStatus::Ok,
            summary: format!(
                "{} from {}",
                names.join(", "),
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            diff: None,
            result,
            unreachable: false,
        }
    }

    /// `set_fact`: binds each (rendered) parameter on this host; with
    /// `cacheable: true` they are facts as well, kept by a fact cache.
    pub fn set_fact(&mut self, params: Json) -> ItemResult {
        let cacheable = params
            .get("cacheable")
            .is_some_and(crate::playbook::template::truthy_json);
        let facts = Self::facts_of(params);
        let result = Self::fact_result(&facts);
        if cacheable {
            self.absorb_facts(&Map::from_iter([(
                "ansible_facts".to_string(),
                Json::Object(facts.clone()),
            )]));
        }
        self.set.extend(facts);
        result
    }

    /// The facts a fact cache keeps for this host: what `setup` gathered
    /// and cacheable `set_fact`s set, by their full names.
    pub fn facts_to_keep(&self) -> Map<String, Json> {
        self.facts
            .iter()
            .filter(|(k, _)| *k != "ansible_facts")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The values a `set_fact` sets (all its parameters but `cacheable`).
    pub fn facts_of(params: Json) -> Map<String, Json> {
        let mut facts = match params {
            Json::Object(map) => map,
            _ => Map::new(),
        };
        facts.remove("cacheable");
        facts
    }

    /// A `set_fact`'s result, as Ansible gives it.
    pub fn fact_result(facts: &Map<String, Json>) -> ItemResult {
        let names: Vec<&str> = facts.keys().map(String::as_str).collect();
        let mut result = Map::new();
        result.insert("ansible_facts".into(), Json::Object(facts.clone()));
        result.insert("changed".into(), Json::Bool(false));
        result.insert("failed".into(), Json::Bool(false));
        ItemResult {
            status: ResultStatus::Ok,
            summary: format!("set {}", names.join(", ")),
            diff: None,
            result,
            unreachable: false,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::*;
    use crate::playbook::modules::Module;
    use crate::playbook::template::Templates;
    use capstan_yaml::Pos;

    fn host() -> HostState {
        HostState::new(RunHost {
            name: "web-1".into(),
            target: Target::local_named("web-1"),
            vars: Map::from_iter([
                ("port".to_string(), json!(80)),
                ("who".to_string(), json!("inventory")),
            ]),
            user_given: false,
        })
    }

    fn pos() -> Pos {
        Pos {
            file: "site.yml".into(),
            line: 3,
            column: 5,
        }
    }

    /// A play with nothing in it, for the tests that need one.
    pub(in crate::playbook::run) fn empty_play() -> Play {
        Play {
            name: "test".into(),
            gather_facts: Some(false),
            ..Play::new("all".into(), pos())
        }
    }

    fn task() -> Task {
        Task::new(Module::Command, "command", pos())
    }

    fn value(state: &HostState, task_vars: &Map<String, Json>, extra: &Map<String, Json>) -> Json {
        Templates::new()
            .render_value("{{ who }}", &state.scope(task_vars, extra))
            .unwrap()
    }

    #[test]
    fn each_layer_of_variables_overrides_the_ones_below_it() {
        let mut state = host();
        let none = Map::new();
        assert_eq!(value(&state, &none, &none), json!("inventory"));
        state.facts.insert("who".into(), json!("facts"));
        assert_eq!(value(&state, &none, &none), json!("facts"));
        state.play_vars.insert("who".into(), json!("play"));
        assert_eq!(value(&state, &none, &none), json!("play"));
        let task_vars = Map::from_iter([("who".to_string(), json!("task"))]);
        assert_eq!(value(&state, &task_vars, &none), json!("task"));
        state.set.insert("who".into(), json!("registered"));
        assert_eq!(value(&state, &task_vars, &none), json!("registered"));
        let extra = Map::from_iter([("who".to_string(), json!("extra"))]);
        assert_eq!(value(&state, &task_vars, &extra), json!("extra"));
    }

    #[test]
    fn a_new_play_clears_the_last_ones_vars_and_notifications() {
        let mut state = host();
        state.play_vars.insert("old".into(), json!(1));
        state.notified.push("restart".into());
        state.ended = true;
        state.enter_play(&PlayHosts {
            all: Arc::new(vec!["web-1".into(), "web-2".into(), "web-3".into()]),
            left: Arc::new(vec!["web-1".into(), "web-2".into()]),
            batch: Arc::new(vec!["web-1".into()]),
        });
        assert!(state.notified.is_empty() && state.active());
        assert_eq!(
            Json::Object(state.play_vars.clone()),
            json!({
                "ansible_play_hosts_all": ["web-1", "web-2", "web-3"],
                "ansible_play_hosts": ["web-1", "web-2"],
                "ansible_play_batch": ["web-1"],
                "play_hosts": ["web-1"],
            })
        );
    }

    #[test]
    fn facts_are_kept_long_and_short() {
        let mut state = host();
        state.absorb_facts(&Map::from_iter([(
            "ansible_facts".to_string(),
            json!({"ansible_os_family": "Debian"}),
        )]));
        assert_eq!(state.facts["ansible_os_family"], json!("Debian"));
        assert_eq!(state.facts["ansible_facts"], json!({"os_family": "Debian"}));
        // A result without facts changes nothing.
        state.absorb_facts(&Map::new());
        assert_eq!(state.facts.len(), 2);
    }

    #[test]
    fn set_fact_binds_its_values_but_not_cacheable() {
        let mut state = host();
        let item = state.set_fact(json!({"a": 1, "b": "x", "cacheable": true}));
        assert_eq!(item.summary, "set a, b");
        assert_eq!(state.set["a"], json!(1));
        assert!(!state.set.contains_key("cacheable"));
        assert_eq!(item.result["ansible_facts"], json!({"a": 1, "b": "x"}));
    }

    #[test]
    fn the_recap_counts_as_ansible_does() {
        let mut notifying = task();
        notifying.notify = vec!["restart".into()];
        let mut state = host();
        assert!(!state.record(&notifying, ResultStatus::Changed, true, &notifying.notify));
        assert!(!state.record(&notifying, ResultStatus::Changed, true, &notifying.notify));
        assert_eq!(state.notified, ["restart"], "each handler is notified once");
        state.record(&task(), ResultStatus::Ok, false, &[]);
        state.record(&task(), ResultStatus::Skipped, false, &[]);
        let mut ignoring = task();
        ignoring.ignore_errors = Some(true);
        assert!(state.record(&ignoring, ResultStatus::Failed, true, &[]));
        assert!(state.active(), "an ignored failure keeps the host");
        let recap = &state.recap;
        assert_eq!(
            (
                recap.ok,
                recap.changed,
                recap.skipped,
                recap.ignored,
                recap.failed
            ),
            (4, 3, 1, 1, 0)
        );
        state.record(&task(), ResultStatus::Failed, false, &[]);
        assert!(!state.active());
        assert_eq!(state.recap.failed, 1);
        let mut lost = host();
        lost.record(&task(), ResultStatus::Unreachable, false, &[]);
        assert!(lost.unreachable && !lost.active());
        assert_eq!(lost.recap.unreachable, 1);
    }

    #[test]
    fn a_missing_vars_file_fails_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("web.yml"), "port: 8080\n").unwrap();
        let mut play = empty_play();
        play.vars_files = vec![("{{ role }}.yml".into(), pos())];
        let mut state = host();
        state.inventory.insert("role".into(), json!("web"));
        let load = |state: &mut HostState| {
            let vault = crate::vault::Vault::default();
            state.load_play_vars(&play, &Templates::new(), dir.path(), &Map::new(), &vault)
        };
        load(&mut state).unwrap();
        assert_eq!(state.play_vars["port"], json!(8080));

        state.inventory.insert("role".into(), json!("db"));
        let error = load(&mut state).unwrap_err();
        assert!(matches!(error, TaskError::VarsFile(_)), "{error:?}");
        assert!(error.to_string().contains("db.yml"), "{error}");
    }
}
