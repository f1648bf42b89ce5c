//! A playbook as Capstan understands it: plays, tasks, blocks and handlers
//! read from the YAML tree (with the task files it imports), every keyword
//! outside the supported subset refused at its file position.
//!
//! - `tasks`: task lists: tasks, blocks, imported task files and roles;
//! - `handed`: what a block, an import or a role hands down to its tasks;
//! - `roles`: a role's folder as files (defaults, vars, meta, tasks);
//! - `loader`: the files and role folders a playbook reads beyond itself;
//! - `scalars`: reading one keyword's value (a string, a list, a boolean).

mod handed;
mod loader;
mod roles;
mod scalars;
mod tasks;
#[cfg(test)]
mod tests;

use crate::vault::Vault;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;

use super::modules::Module;
use super::template::Templates;
use super::{NodeError, PlaybookError};
use capstan_yaml::{self as yaml, Node, Pos, TopLevel, Yaml};
pub use handed::{HandedDown, rescope, rescope_task};
use loader::Loader;
pub(crate) use loader::folder_of;
pub use loader::roles_search_path;
use scalars::{boolean, entries, list, start_of, string, strings};
pub use scalars::{is_identifier, is_variable_name, vars};

/// A parsed playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// Its file.
    pub path: PathBuf,
    /// The folder relative paths (`vars_files`, `src`) start from.
    pub dir: PathBuf,
    /// Its plays, in order.
    pub plays: Vec<Play>,
}

/// One play: hosts and what to do on them.
#[derive(Debug, Clone)]
pub struct Play {
    /// Its name (or its hosts pattern).
    pub name: String,
    /// Host pattern (`all`, `web:db`, `web:!old`).
    pub hosts: String,
    /// `vars:` in file order.
    pub vars: Vec<(String, Json)>,
    /// `vars_files:` (templated, relative to the playbook).
    pub vars_files: Vec<(String, Pos)>,
    /// `become:` for all its tasks.
    pub become_: Option<bool>,
    /// `become_user:` for all its tasks.
    pub become_user: Option<String>,
    /// `remote_user:` for all its tasks that name none (may hold a
    /// template).
    pub remote_user: Option<String>,
    /// `no_log:` for all its tasks.
    pub no_log: Option<bool>,
    /// `gather_facts:` as written (unwritten, it gathers unless an
    /// `ansible.cfg` says `gathering = explicit`): see
    /// [`Play::gathers_facts`].
    pub gather_facts: Option<bool>,
    /// Tags every task inherits.
    pub tags: Vec<String>,
    /// `pre_tasks:`, run before the roles (their handlers right after).
    pub pre_tasks: Vec<Step>,
    /// `roles:`, each read into a block (its dependencies first).
    pub roles: Vec<Step>,
    /// Tasks and blocks, in order, after the roles.
    pub tasks: Vec<Step>,
    /// `post_tasks:`, run after the tasks' handlers.
    pub post_tasks: Vec<Step>,
    /// The defaults of every role the play reads, in order: under every
    /// other variable.
    pub role_defaults: Vec<(String, Json)>,
    /// The `vars/` of every role the play reads, in order: over the
    /// play's vars, under a task's.
    pub role_vars: Vec<(String, Json)>,
    /// Handlers, in definition order: its roles' first, then its own.
    pub handlers: Vec<Task>,
    /// `serial:` batch sizes (none: every host at once).
    pub serial: Vec<BatchSize>,
    /// `max_fail_percentage:`: more failed hosts in a batch than this
    /// share stops the run.
    pub max_fail_percentage: Option<f64>,
    /// `any_errors_fatal:`: one failed host stops the run.
    pub any_errors_fatal: bool,
    /// `force_handlers:`: handlers also run on hosts that failed after
    /// notifying them (unwritten: the run's `--force-handlers`).
    pub force_handlers: Option<bool>,
    /// `gather_subset:`: which facts the play gathers (none: all).
    pub gather_subset: Vec<String>,
    /// Handlers of the roles its `include_role`s name: notified by name
    /// only once the include ran (then they join `handlers`).
    pub included_handlers: Vec<Task>,
    /// `environment:` for every task (under theirs).
    pub environment: Vec<Json>,
    /// `strategy:`: hosts in step (linear) or each at its own pace (free).
    pub strategy: Strategy,
    /// `connection: local`: every host's tasks run on this machine (its
    /// variables stay the host's), as Ansible's local connection does.
    pub connection_local: bool,
    /// Where the play starts.
    pub pos: Pos,
}

/// How a play moves its hosts through its tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Every host finishes a task before any starts the next.
    Linear,
    /// Each host goes through the play at its own pace.
    Free,
    /// A template (`"{{ test_strategy | default('linear') }}"`), read
    /// with the play's and the extra variables when the play starts.
    Template(String),
}

impl Strategy {
    /// `strategy: linear`, `free` or `host_pinned` (free here; Mitogen's
    /// `mitogen_*` are the same to Capstan), or a template of one.
    fn read(node: &Node) -> Result<Strategy, PlaybookError> {
        let written = node.as_str().map(str::trim).unwrap_or_default();
        if crate::playbook::template::Templates::is_template(written) {
            return Ok(Strategy::Template(written.to_string()));
        }
        Strategy::named(written).map_err(|e| node.error(e))
    }

    /// The strategy a name gives.
    pub fn named(name: &str) -> Result<Strategy, String> {
        match name.trim() {
            "linear" | "mitogen_linear" => Ok(Strategy::Linear),
            // `host_pinned` is free with each host kept on one of
            // Ansible's workers; Capstan has no workers to pin to.
            "free" | "mitogen_free" | "host_pinned" | "mitogen_host_pinned" => Ok(Strategy::Free),
            other => Err(format!(
                "strategy `{other}` is not supported; Capstan runs `linear`, `free` and `host_pinned`"
            )),
        }
    }
}

/// What a `meta:` task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaAction {
    /// `flush_handlers`: runs the handlers notified so far.
    FlushHandlers,
    /// `end_play`: ends the play for every host, later batches too.
    EndPlay,
    /// `end_batch`: ends the play for the batch's hosts.
    EndBatch,
    /// `end_host`: ends the play for each host whose `when` holds.
    EndHost,
    /// `clear_host_errors`: the batch's failed hosts take tasks again
    /// (their recap still counts the failure).
    ClearHostErrors,
    /// `noop`, `refresh_inventory`, `reset_connection`: nothing to do
    /// (Capstan reads the inventory once and connects on demand).
    Noop,
}

impl MetaAction {
    /// The names `meta:` takes.
    pub const NAMES: &[&str] = &[
        "flush_handlers",
        "end_play",
        "end_batch",
        "end_host",
        "clear_host_errors",
        "noop",
        "refresh_inventory",
        "reset_connection",
    ];

    /// The action `meta: NAME` names.
    pub fn parse(name: &str) -> Option<MetaAction> {
        Some(match name.trim() {
            "flush_handlers" => MetaAction::FlushHandlers,
            "end_play" => MetaAction::EndPlay,
            "end_batch" => MetaAction::EndBatch,
            "end_host" => MetaAction::EndHost,
            "clear_host_errors" => MetaAction::ClearHostErrors,
            "noop" | "refresh_inventory" | "reset_connection" => MetaAction::Noop,
            _ => return None,
        })
    }
}

/// One `serial:` batch size.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchSize {
    /// So many hosts (0: all that are left).
    Count(usize),
    /// So many percent of the play's hosts (at least one).
    Percent(usize),
    /// A template, rendered when the play starts.
    Template(String),
}

impl BatchSize {
    /// `5`, `30%` (whole percentages, as Ansible's); `None` otherwise.
    pub fn parse(text: &str) -> Option<BatchSize> {
        match text.strip_suffix('%') {
            Some(pct) => pct.trim().parse().ok().map(BatchSize::Percent),
            None => text.parse().ok().map(BatchSize::Count),
        }
    }
}

/// A task's module arguments as written.
#[derive(Debug, Clone)]
pub enum Args {
    /// `module: key=value ...` or a free-form command line.
    Inline(String),
    /// `module: {key: value}`.
    Map(Json),
}

/// `loop:`, `with_items:` or another `with_*` form.
#[derive(Debug, Clone)]
pub struct LoopSpec {
    /// What the keyword was given, with any templates in it.
    pub items: Json,
    /// Which keyword: how its value turns into items.
    pub kind: LoopKind,
}

/// The loop keywords, each turning its value into items its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopKind {
    /// `loop:`: the list as it is.
    List,
    /// `with_list:`: the list as it is; a lone value is one item.
    WithList,
    /// `with_items:`: flattened one level; a lone value is one item.
    Items,
    /// `with_dict:`: a mapping's entries as `{key, value}`.
    Dict,
    /// `with_fileglob:`: the controller's files matching the patterns.
    Fileglob,
    /// `with_nested:`: every combination of the lists.
    Nested,
    /// `with_sequence:`: numbers as text (`start=1 end=5 format=%02d`).
    Sequence,
    /// `with_together:`: the lists side by side.
    Together,
    /// `with_subelements:`: each element with each member of its list.
    Subelements,
    /// `with_first_found:`: the first of the controller's files named that
    /// is there, as the one item.
    FirstFound,
}

impl LoopKind {
    /// The loop keyword `key` is, if it is one.
    pub fn of(key: &str) -> Option<LoopKind> {
        Some(match key {
            "loop" => LoopKind::List,
            "with_list" => LoopKind::WithList,
            "with_items" => LoopKind::Items,
            "with_dict" => LoopKind::Dict,
            "with_fileglob" => LoopKind::Fileglob,
            "with_nested" | "with_cartesian" => LoopKind::Nested,
            "with_sequence" => LoopKind::Sequence,
            "with_together" => LoopKind::Together,
            "with_subelements" => LoopKind::Subelements,
            "with_first_found" => LoopKind::FirstFound,
            _ => return None,
        })
    }

    /// Every loop keyword.
    pub const KEYWORDS: &[&str] = &[
        "loop",
        "with_list",
        "with_items",
        "with_dict",
        "with_fileglob",
        "with_nested",
        "with_cartesian",
        "with_sequence",
        "with_together",
        "with_subelements",
        "with_first_found",
    ];
}

/// `loop_control:` of a task or an include.
#[derive(Debug, Clone)]
pub struct LoopControl {
    /// `loop_var` (default `item`); a template is rendered when the loop
    /// runs.
    pub loop_var: String,
    /// `label`: how an item is named in results.
    pub label: Option<String>,
    /// `index_var`: a variable holding the item's index from 0.
    pub index_var: Option<String>,
    /// `extended`: `ansible_loop` with the item's place among the others.
    pub extended: bool,
    /// `pause`: seconds between items.
    pub pause: Option<f64>,
}

impl Default for LoopControl {
    fn default() -> Self {
        LoopControl {
            loop_var: "item".into(),
            label: None,
            index_var: None,
            extended: false,
            pause: None,
        }
    }
}

/// One entry of a task list: a task, or a block of them (an
/// `import_tasks` is read into a block when the playbook is loaded).
#[derive(Debug, Clone)]
pub enum Step {
    /// One task (boxed: a task is several times a block's size).
    Task(Box<Task>),
    /// `block:` with its `rescue:` and `always:`.
    Block(Block),
    /// `include_tasks:`, read when the run reaches it.
    Include(Box<Include>),
}

impl Step {
    /// Every task inside, in file order (a block's body, rescue, always).
    pub fn tasks(&self) -> Vec<&Task> {
        let mut all = Vec::new();
        self.collect_tasks(&mut all);
        all
    }

    fn collect_tasks<'a>(&'a self, all: &mut Vec<&'a Task>) {
        match self {
            Step::Task(task) => all.push(task),
            Step::Block(block) => {
                for step in block.body.iter().chain(&block.rescue).chain(&block.always) {
                    step.collect_tasks(all);
                }
            }
            Step::Include(include) => {
                for step in include.steps.iter().flatten() {
                    step.collect_tasks(all);
                }
            }
        }
    }
}

/// A yes/no keyword: written as a boolean, or as a template rendered when
/// the task runs (`run_once: "{{ testvar | default(false) }}"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switch {
    /// `true`/`false`, `yes`/`no`.
    Fixed(bool),
    /// A template, rendered (and read as Ansible reads a boolean) per run.
    Template(String),
}

/// `include_tasks: FILE`: a task file run when the run reaches it, on the
/// hosts whose `when` holds, once per item of its `loop`, with its `vars`
/// seen by the tasks it brings. Its `when` and `tags` are its own (they
/// decide whether it runs); what enclosing blocks hand down reaches the
/// tasks it brings through `handed`.
#[derive(Debug, Clone)]
pub struct Include {
    /// Its name, if given.
    pub name: Option<String>,
    /// The file, relative to the including file's folder (or the role's
    /// `tasks/`, or the playbook's folder); may hold a template.
    pub file: String,
    /// Conditions, checked per host before it is read.
    pub when: Vec<String>,
    /// `loop:` / `with_items:`: one inclusion per item.
    pub loop_: Option<LoopSpec>,
    /// `loop_control:`.
    pub loop_control: LoopControl,
    /// `vars:`: seen by the included tasks.
    pub vars: Vec<(String, Json)>,
    /// `tags:` (of the include itself).
    pub tags: Vec<String>,
    /// Keywords enclosing blocks hand to the tasks it brings.
    pub handed: HandedDown,
    /// The folder of the file it is written in.
    pub dir: PathBuf,
    /// The playbook's folder.
    pub base: PathBuf,
    /// Where roles are looked for after the playbook's `roles/`.
    pub roles_path: Arc<Vec<PathBuf>>,
    /// The role it is written in, if any.
    pub role: Option<Arc<RoleRef>>,
    /// The file's steps, read when the playbook loaded (a name with no
    /// template); `None` when the name is only known per host.
    pub steps: Option<Vec<Step>>,
    /// For `include_role` (then `file` is the role's name): how the role
    /// is read and what it brings.
    pub included_role: Option<IncludedRole>,
    /// A handler: its file holds handlers (a block among them is refused,
    /// as Ansible refuses it), which run as handlers.
    pub as_handlers: bool,
    /// Where it is written.
    pub pos: Pos,
}

/// What an `include_role` says beside its role's name.
#[derive(Debug, Clone, Default)]
pub struct IncludedRole {
    /// `tasks_from`, `vars_from`, `defaults_from`, `handlers_from`.
    pub files: RoleFiles,
    /// `public:`: the role's defaults and vars reach the rest of the play.
    pub public: bool,
    /// `apply:`: keywords handed to each task the role brings.
    pub apply: HandedDown,
    /// The variables only the role's tasks see, when it was read as the
    /// playbook loaded (with `Include::steps`).
    pub scope: Option<Arc<RoleScope>>,
    /// The role's handlers, read with it: they join the play's when the
    /// include first runs, as Ansible adds them then.
    pub handlers: Vec<Task>,
}

/// Which files of a role's folders a call reads instead of `main.yml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleFiles {
    /// `tasks_from`.
    pub tasks: Option<String>,
    /// `vars_from`.
    pub vars: Option<String>,
    /// `defaults_from`.
    pub defaults: Option<String>,
    /// `handlers_from`.
    pub handlers: Option<String>,
}

impl Include {
    /// The task file `name` (rendered for a host) names: beside the
    /// including file, in its role's `tasks/`, or beside the playbook.
    pub fn find(&self, name: &str) -> Result<PathBuf, String> {
        let role_dir = self.role.as_ref().map(|r| r.path.as_path());
        loader::find_task_file(name, &self.dir, role_dir, &self.base)
    }

    /// The files a templated name could name: in each folder it is
    /// looked for in, those whose path matches the name with each `{{ }}`
    /// read as a wildcard (`{{ os }}.yml` → `debian.yml`, `redhat.yml`).
    /// None for a role, whose files are only known once it is found.
    pub fn candidate_files(&self) -> Vec<PathBuf> {
        if self.included_role.is_some() {
            return Vec::new();
        }
        let (folder, name) = match self.file.rsplit_once('/') {
            Some((folder, name)) if !folder.contains("{{") => (folder, name),
            Some(_) => return Vec::new(),
            None => ("", self.file.as_str()),
        };
        let name_pattern = loader::wildcards(name);
        let places = [
            Some(self.dir.clone()),
            self.role.as_ref().map(|r| r.path.join("tasks")),
            Some(self.base.clone()),
        ];
        let mut found = Vec::new();
        for place in places.into_iter().flatten() {
            let dir = place.join(folder);
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                let path = entry.path();
                if path.is_file()
                    && loader::matches(&name_pattern, &file_name)
                    && !found.contains(&path)
                {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
    }

    /// The steps of the task file at `path`, read now (for a name known
    /// only per host), each owned by the include's role; `vault` opens
    /// what is encrypted.
    pub fn read(&self, path: &Path, vault: &Arc<Vault>) -> Result<Vec<Step>, PlaybookError> {
        let mut loader = Loader::within(&self.base, vault.clone(), self.roles_path.clone());
        let mut steps = if self.as_handlers {
            loader.read_tasks(path, &self.pos, tasks::handler_steps)?
        } else {
            loader.read_tasks(path, &self.pos, |loader, node| tasks::steps(node, loader))?
        };
        if let Some(role) = &self.role {
            tasks::set_role(&mut steps, role);
        }
        Ok(steps)
    }

    /// The folder of the role `name` (an `include_role`'s, rendered for a
    /// host) names.
    pub fn find_role(&self, name: &str) -> Result<PathBuf, String> {
        loader::find_role(&self.base, &self.roles_path, name)
    }

    /// What it is called in results and messages: `include_role` or
    /// `include_tasks`.
    pub fn module_name(&self) -> &'static str {
        match self.included_role {
            Some(_) => "include_role",
            None => "include_tasks",
        }
    }

    /// The role `name` of an `include_role` whose name was only known
    /// per host, read now: its steps, the variables only they see, and
    /// its handlers (which join the play's).
    pub fn read_role(&self, name: &str, vault: &Arc<Vault>) -> Result<ReadRole, PlaybookError> {
        let files = self
            .included_role
            .as_ref()
            .map(|r| r.files.clone())
            .unwrap_or_default();
        let mut loader = Loader::within(&self.base, vault.clone(), self.roles_path.clone());
        let mut read = tasks::read_included_role(
            tasks::RoleCall::for_include(name, files, self.pos.clone()),
            &mut loader,
        )?;
        self.handed
            .without_when_and_tags()
            .hand_down(&mut read.steps);
        Ok(read)
    }
}

/// A role an `include_role` read: its steps (its dependencies' first),
/// what only they see, and its handlers.
#[derive(Debug)]
pub struct ReadRole {
    /// Its steps, each holding `scope`.
    pub steps: Vec<Step>,
    /// Its defaults and vars.
    pub scope: Arc<RoleScope>,
    /// Its handlers, each holding `scope`.
    pub handlers: Vec<Task>,
}

/// Every task of a list of steps, in file order.
pub fn all_tasks(steps: &[Step]) -> Vec<&Task> {
    steps.iter().flat_map(Step::tasks).collect()
}

/// Tasks that run together: `rescue:` runs on the hosts that failed in
/// the body (which then count as rescued, not failed), `always:` on every
/// host that entered the block. The block's own keywords (`when`, `tags`,
/// `become`, `vars`, ...) are already handed down to each task inside, as
/// Ansible applies them.
#[derive(Debug, Clone)]
pub struct Block {
    /// Its name, if given.
    pub name: Option<String>,
    /// `block:`.
    pub body: Vec<Step>,
    /// `rescue:`.
    pub rescue: Vec<Step>,
    /// `always:`.
    pub always: Vec<Step>,
    /// For a role's block (a play's role, or a dependency): the role and
    /// its parameters. Each host runs it at most once per play, as
    /// Ansible runs a role already run on a host only when allowed to.
    pub once: Option<Arc<str>>,
    /// Where the block starts.
    pub pos: Pos,
}

impl Play {
    /// A play on `hosts` with nothing in it yet, gathering facts.
    pub fn new(hosts: String, pos: Pos) -> Play {
        Play {
            name: String::new(),
            hosts,
            vars: Vec::new(),
            vars_files: Vec::new(),
            become_: None,
            become_user: None,
            remote_user: None,
            no_log: None,
            gather_facts: None,
            tags: Vec::new(),
            pre_tasks: Vec::new(),
            roles: Vec::new(),
            tasks: Vec::new(),
            post_tasks: Vec::new(),
            role_defaults: Vec::new(),
            role_vars: Vec::new(),
            handlers: Vec::new(),
            serial: Vec::new(),
            max_fail_percentage: None,
            any_errors_fatal: false,
            force_handlers: None,
            gather_subset: Vec::new(),
            included_handlers: Vec::new(),
            environment: Vec::new(),
            strategy: Strategy::Linear,
            connection_local: false,
            pos,
        }
    }

    /// Its task lists in the order they run: pre-tasks, roles, tasks,
    /// post-tasks.
    pub fn sections(&self) -> [&[Step]; 4] {
        [&self.pre_tasks, &self.roles, &self.tasks, &self.post_tasks]
    }

    /// Whether it runs `setup` first: as written, else yes.
    pub fn gathers_facts(&self) -> bool {
        self.gather_facts.unwrap_or(true)
    }

    /// Every task of the play (handlers aside), in the order written.
    pub fn all_tasks(&self) -> Vec<&Task> {
        self.sections().into_iter().flat_map(all_tasks).collect()
    }

    /// Every handler of the play (its own, its roles', those its
    /// `include_role`s bring) and the tasks its `include_tasks` handlers
    /// read as the playbook loaded, in the order written.
    pub fn all_handler_tasks(&self) -> Vec<&Task> {
        let mut all = Vec::new();
        for handler in self.handlers.iter().chain(&self.included_handlers) {
            all.push(handler);
            if let Some(steps) = handler.include.as_ref().and_then(|i| i.steps.as_ref()) {
                all.extend(all_tasks(steps));
            }
        }
        all
    }
}

impl Block {
    /// A block with nothing in it (a role that already ran in the play).
    pub fn empty(pos: Pos) -> Block {
        Block {
            name: None,
            body: Vec::new(),
            rescue: Vec::new(),
            always: Vec::new(),
            once: None,
            pos,
        }
    }
}

/// The role a task comes from: its templates and files are looked for in
/// its folder first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRef {
    /// As the play or the dependency named it.
    pub name: String,
    /// Its folder.
    pub path: PathBuf,
}

/// One task (or handler).
#[derive(Debug, Clone)]
pub struct Task {
    /// Its name, as written (may hold a template).
    pub name: Option<String>,
    /// The module it runs.
    pub module: Module,
    /// The module's name as written (for messages).
    pub module_written: String,
    /// For [`Module::Plugin`]: the plugin and action it names.
    pub plugin_action: Option<(String, String)>,
    /// Its arguments.
    pub args: Args,
    /// `when:` conditions, all of which must hold.
    pub when: Vec<String>,
    /// `loop:` or `with_items:`.
    pub loop_: Option<LoopSpec>,
    /// `loop_control:`.
    pub loop_control: LoopControl,
    /// `register:`.
    pub register: Option<String>,
    /// `notify:` handler names.
    pub notify: Vec<String>,
    /// `listen:` topics (handlers only).
    pub listen: Vec<String>,
    /// `tags:`.
    pub tags: Vec<String>,
    /// `ignore_errors:` (its own, or handed down by a block).
    pub ignore_errors: Option<bool>,
    /// `changed_when:` conditions.
    pub changed_when: Option<Vec<String>>,
    /// `failed_when:` conditions.
    pub failed_when: Option<Vec<String>>,
    /// `become:`.
    pub become_: Option<bool>,
    /// `become_user:`.
    pub become_user: Option<String>,
    /// `no_log:`: its results, arguments, diffs and log lines are never
    /// stored or shown (a registered result still holds them, in memory).
    pub no_log: Option<bool>,
    /// `vars:`.
    pub vars: Vec<(String, Json)>,
    /// `any_errors_fatal:` (its own, or handed down), over the play's.
    pub any_errors_fatal: Option<bool>,
    /// `run_once:`: runs on the batch's first host; what it registers or
    /// sets reaches every host of the batch.
    pub run_once: Option<Switch>,
    /// `delegate_to:` (or `localhost` for `local_action:`): where the
    /// module runs, with this host's variables; a template.
    pub delegate_to: Option<String>,
    /// `delegate_facts:`: facts it gathers or sets go to the delegate.
    pub delegate_facts: Option<bool>,
    /// `until:`: conditions the result must meet, retried until they do.
    pub until: Option<Vec<String>>,
    /// `retries:` (3 when `until:` is set without it); without `until:`,
    /// it retries while the task fails.
    pub retries: Option<u32>,
    /// `delay:` between tries, in seconds (5 without it).
    pub delay: Option<f64>,
    /// For `meta:`, what it does.
    pub meta: Option<MetaAction>,
    /// `check_mode:`: runs in check mode (or not) whatever `--check` says.
    pub check_mode: Option<bool>,
    /// `diff:`: reports differences (or not) whatever `--diff` says.
    pub diff: Option<bool>,
    /// `environment:` of the play, its blocks and the task, outermost
    /// first: each a mapping or a template giving one, merged in order.
    pub environment: Vec<Json>,
    /// `ignore_unreachable:`: an unreachable host is counted and goes on.
    pub ignore_unreachable: Option<bool>,
    /// `throttle:`: at most so many hosts run it at once.
    pub throttle: Option<u32>,
    /// `remote_user:` (may hold a template): ignored on this machine, as
    /// Ansible's local connection does; over SSH the task runs through a
    /// login of that user with the host's credentials.
    pub remote_user: Option<String>,
    /// `timeout:`: the task fails once it has run this many seconds.
    pub timeout: Option<u64>,
    /// `async:` and `poll:`.
    pub async_: Option<Async>,
    /// The role it belongs to, if any.
    pub role: Option<Arc<RoleRef>>,
    /// The variables of the `include_role` that brought it, which only
    /// that role's tasks and handlers see.
    pub role_scope: Option<Arc<RoleScope>>,
    /// A handler that is an `include_tasks`: notified, it runs its file's
    /// tasks in its place, as handlers.
    pub include: Option<Arc<Include>>,
    /// Where the task starts.
    pub pos: Pos,
}

/// A task's `async:` and `poll:`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Async {
    /// `async:`: the task is stopped after this many seconds.
    pub seconds: u64,
    /// `poll:`: 0 starts the task in the background and goes on at once
    /// (command and shell only); any other value waits for it, as a
    /// plain task (Capstan does not poll, it holds the command's stream).
    pub poll: u64,
}

/// What an `include_role`'s role brings only to its own tasks and
/// handlers (to the whole play as well with `public: true`): its
/// defaults, under every other variable, and its `vars/`, over the
/// play's.
#[derive(Debug, Default, PartialEq)]
pub struct RoleScope {
    /// `defaults/` of the role and its dependencies.
    pub defaults: serde_json::Map<String, Json>,
    /// `vars/` of the role and its dependencies.
    pub vars: serde_json::Map<String, Json>,
}

impl RoleScope {
    /// This role's variables over those of `including`, the role whose
    /// tasks included it.
    pub fn within(&self, including: &RoleScope) -> RoleScope {
        let over = |under: &serde_json::Map<String, Json>, own: &serde_json::Map<String, Json>| {
            let mut all = under.clone();
            all.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
            all
        };
        RoleScope {
            defaults: over(&including.defaults, &self.defaults),
            vars: over(&including.vars, &self.vars),
        }
    }
}

impl Task {
    /// A task running `module` with no arguments and every keyword unset.
    pub fn new(module: Module, written: &str, pos: Pos) -> Task {
        Task {
            name: None,
            module,
            module_written: written.to_string(),
            plugin_action: None,
            args: Args::Map(Json::Object(Default::default())),
            when: Vec::new(),
            loop_: None,
            loop_control: LoopControl::default(),
            register: None,
            notify: Vec::new(),
            listen: Vec::new(),
            tags: Vec::new(),
            ignore_errors: None,
            any_errors_fatal: None,
            run_once: None,
            delegate_to: None,
            delegate_facts: None,
            until: None,
            retries: None,
            delay: None,
            meta: None,
            check_mode: None,
            diff: None,
            environment: Vec::new(),
            ignore_unreachable: None,
            throttle: None,
            remote_user: None,
            timeout: None,
            async_: None,
            changed_when: None,
            failed_when: None,
            become_: None,
            become_user: None,
            no_log: None,
            vars: Vec::new(),
            role: None,
            role_scope: None,
            include: None,
            pos,
        }
    }

    /// The plugin and action that run this task; `None` for `set_fact`.
    pub fn plugin_action(&self) -> Option<(&str, &str)> {
        match &self.plugin_action {
            Some((plugin, action)) => Some((plugin, action)),
            None => self.module.plugin_action(),
        }
    }

    /// Whether a failure of this task is ignored.
    pub fn ignores_errors(&self) -> bool {
        self.ignore_errors == Some(true)
    }

    /// The names a handler answers to in `notify:`: its name, and
    /// `ROLE : name` for a role's.
    pub fn handler_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.name.iter().cloned().collect();
        if let Some(name) = &self.name {
            names.extend(self.role_prefixes().map(|role| format!("{role} : {name}")));
        }
        names
    }

    /// The names a role's handler is notified under with `ROLE : `: the
    /// role's, and a collection role's short one (`ns.col.web` is `web`).
    fn role_prefixes(&self) -> impl Iterator<Item = &str> {
        let full = self.role.as_ref().map(|r| r.name.as_str());
        let short = full
            .filter(|n| n.matches('.').count() >= 2)
            .and_then(|n| n.splitn(3, '.').nth(2));
        full.into_iter().chain(short)
    }

    /// Whether a `notify:` of `wanted` reaches this handler: its name or a
    /// `listen:` topic, each also as `ROLE : ` it for a role's handler (a
    /// name written as a template is compared as written).
    pub fn answers_to(&self, wanted: &str) -> bool {
        let is = |topic: &str| {
            wanted == topic
                || self.role_prefixes().any(|role| {
                    wanted
                        .strip_prefix(role)
                        .and_then(|rest| rest.strip_prefix(" : "))
                        == Some(topic)
                })
        };
        self.name.as_deref().is_some_and(is) || self.listen.iter().any(|t| is(t))
    }

    /// Its `listen:` topics, a role's handler's also as `ROLE : topic`.
    pub fn listen_topics(&self) -> Vec<String> {
        let mut topics = self.listen.clone();
        for role in self.role_prefixes() {
            topics.extend(self.listen.iter().map(|t| format!("{role} : {t}")));
        }
        topics
    }

    /// The name to show: the given one, or the module's.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.module_written.clone())
    }
}

const PLAY_KEYS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "become",
    "become_user",
    "remote_user",
    "no_log",
    "gather_facts",
    "tags",
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "serial",
    "max_fail_percentage",
    "any_errors_fatal",
    "force_handlers",
    "gather_subset",
    "gather_timeout",
    "environment",
    "strategy",
    "connection",
    "collections",
];

/// `serial:`: a size or a list of sizes, each a number, a percentage or a
/// template.
fn serial(node: &Node) -> Result<Vec<BatchSize>, PlaybookError> {
    let one = |item: &Node| -> Result<BatchSize, PlaybookError> {
        let text = match &item.value {
            Yaml::Int(n) if *n >= 0 => return Ok(BatchSize::Count(*n as usize)),
            Yaml::Str(text) => text.trim().to_string(),
            _ => String::new(),
        };
        if text.contains("{{") {
            return Ok(BatchSize::Template(text));
        }
        BatchSize::parse(&text).ok_or_else(|| {
            item.error(format!(
                "serial takes a number of hosts, a whole percentage (`30%`) or a list of them, \
                 not `{}`",
                item.to_json()
            ))
        })
    };
    match &node.value {
        Yaml::Seq(items) if !items.is_empty() => items.iter().map(one).collect(),
        _ => Ok(vec![one(node)?]),
    }
}

/// `max_fail_percentage:`: a number from 0 to 100.
fn percentage(node: &Node) -> Result<f64, PlaybookError> {
    let value = match &node.value {
        Yaml::Int(n) => Some(*n as f64),
        Yaml::Float(f) => Some(*f),
        Yaml::Str(text) => text.trim().trim_end_matches('%').parse().ok(),
        _ => None,
    };
    value
        .filter(|v| (0.0..=100.0).contains(v))
        .ok_or_else(|| node.error("max_fail_percentage takes a number from 0 to 100"))
}

/// Reads and checks a playbook file, with the task files it imports
/// (nothing vault-encrypted in them).
pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
    load_with(path, &Arc::new(Vault::default()))
}

/// [`load`], opening vault-encrypted files and values with `vault`.
pub fn load_with(path: &Path, vault: &Arc<Vault>) -> Result<Playbook, PlaybookError> {
    load_with_roles_path(path, vault, roles_search_path(&[]))
}

/// [`load_with`], looking for roles in `roles_path` after the playbook's
/// `roles/` ([`roles_search_path`]).
pub fn load_with_roles_path(
    path: &Path,
    vault: &Arc<Vault>,
    roles_path: Vec<PathBuf>,
) -> Result<Playbook, PlaybookError> {
    let text = yaml::read_file(path, "playbook").map_err(PlaybookError::plain)?;
    load_text(path, &text, vault, roles_path)
}

/// A playbook whose YAML is `text`, as if read from `path` (the files it
/// imports and its roles are found from there): an ad-hoc command's.
pub fn load_text(
    path: &Path,
    text: &str,
    vault: &Arc<Vault>,
    roles_path: Vec<PathBuf>,
) -> Result<Playbook, PlaybookError> {
    let shown = path.display().to_string();
    let root = vault.parse_yaml(&shown, text, TopLevel::Sequence, "playbook")?;
    let plays = plays_at(&shown, &root, vault, Arc::new(roles_path))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    Ok(Playbook {
        path: path.to_path_buf(),
        dir,
        plays,
    })
}

/// Reads and checks a playbook's text (`shown` is its path, which names
/// it in errors and from which imported files are found).
pub fn parse_plays(shown: &str, text: &str) -> Result<Vec<Play>, PlaybookError> {
    parse_plays_with(shown, text, &Arc::new(Vault::default()))
}

/// [`parse_plays`], opening vault-encrypted values with `vault`.
pub fn parse_plays_with(
    shown: &str,
    text: &str,
    vault: &Arc<Vault>,
) -> Result<Vec<Play>, PlaybookError> {
    let root = vault.parse_yaml(shown, text, TopLevel::Sequence, "playbook")?;
    plays_at(shown, &root, vault, Arc::new(roles_search_path(&[])))
}

/// The plays of the playbook `shown` whose YAML is `root`.
fn plays_at(
    shown: &str,
    root: &Node,
    vault: &Arc<Vault>,
    roles_path: Arc<Vec<PathBuf>>,
) -> Result<Vec<Play>, PlaybookError> {
    let Yaml::Seq(items) = &root.value else {
        return Err(root.error("a playbook is a list of plays"));
    };
    if items.is_empty() {
        return Err(root.error("the playbook is empty: it holds no play"));
    }
    let mut loader = Loader::new(Path::new(shown), vault.clone(), roles_path);
    let mut chain = vec![Path::new(shown).to_path_buf()];
    plays_of(items, &mut loader, vault, &mut chain)
}

/// The plays of a playbook's entries, with those of the playbooks it
/// imports in their place; `chain` holds the playbooks being read (an
/// import of one of them is a circle, refused where it is written).
fn plays_of(
    items: &[Node],
    loader: &mut Loader,
    vault: &Arc<Vault>,
    chain: &mut Vec<PathBuf>,
) -> Result<Vec<Play>, PlaybookError> {
    let mut plays = Vec::new();
    for node in items {
        let fields = entries(node, "a play")?;
        let Some((key, value)) = fields.iter().find(|(k, _)| {
            matches!(
                k.name.as_str(),
                "import_playbook" | "ansible.builtin.import_playbook"
            )
        }) else {
            plays.push(play(node, loader)?);
            continue;
        };
        let file = string(value, "import_playbook")?;
        if Templates::is_template(&file) {
            return Err(value.error(
                "import_playbook reads its file when the playbook loads: write the name without \
                 a template",
            ));
        }
        let mut handed = HandedDown::default();
        let mut vars = Vec::new();
        for (k, v) in fields {
            match k.name.as_str() {
                "import_playbook" | "ansible.builtin.import_playbook" | "name" => {}
                "vars" => vars = scalars::vars(v)?,
                "when" | "tags" => {
                    handed.read(k, v)?;
                }
                other => {
                    return Err(PlaybookError::at(
                        &k.pos,
                        format!(
                            "unsupported keyword `{other}` on import_playbook; supported: name, \
                             vars, when, tags"
                        ),
                    ));
                }
            }
        }
        let importer = chain.last().cloned().unwrap_or_default();
        let path = loader::folder_of(&importer).join(&file);
        if chain.contains(&path) {
            let names: Vec<String> = chain
                .iter()
                .chain([&path])
                .map(|p| p.display().to_string())
                .collect();
            return Err(PlaybookError::at(
                &key.pos,
                format!(
                    "playbooks import each other in a circle: {}",
                    names.join(" -> ")
                ),
            ));
        }
        if !path.is_file() {
            return Err(PlaybookError::at(
                &value.pos,
                format!("no playbook `{file}` (looked for {})", path.display()),
            ));
        }
        let root = vault.read_yaml(&path, TopLevel::Sequence, "playbook")?;
        let Yaml::Seq(inner) = &root.value else {
            return Err(root.error("a playbook is a list of plays"));
        };
        chain.push(path.clone());
        let mut own_loader = Loader::new(&path, vault.clone(), loader.roles_path());
        let imported = plays_of(inner, &mut own_loader, vault, chain)?;
        chain.pop();
        for mut play in imported {
            // As in Ansible, the import's vars win over the play's own.
            play.vars.extend(vars.iter().cloned());
            for tag in handed.tags() {
                if !play.tags.contains(tag) {
                    play.tags.push(tag.clone());
                }
            }
            for steps in [
                &mut play.pre_tasks,
                &mut play.roles,
                &mut play.tasks,
                &mut play.post_tasks,
            ] {
                handed.without_tags().hand_down(steps);
            }
            plays.push(play);
        }
    }
    Ok(plays)
}

fn play(node: &Node, loader: &mut Loader) -> Result<Play, PlaybookError> {
    let fields = entries(node, "a play")?;
    if let Some((key, _)) = fields.iter().find(|(k, _)| k.name == "include") {
        return Err(PlaybookError::at(
            &key.pos,
            "a play-level `include` is gone from Ansible; write `import_playbook`",
        ));
    }
    let mut play = Play::new(String::new(), start_of(node, fields));
    let mut own_handlers = Vec::new();
    // Roles first, whatever the order of the keys: a play's roles run
    // before its tasks, and their vars and handlers count from the start.
    if let Some((_, value)) = fields.iter().find(|(k, _)| k.name == "roles") {
        for entry in scalars::list(value) {
            let call = tasks::RoleCall::entry(entry)?;
            if let Some(block) = tasks::role_block(call, loader, &mut Vec::new())? {
                play.roles.push(Step::Block(block));
            }
        }
    }
    let mut has_hosts = false;
    for (key, value) in fields {
        match key.name.as_str() {
            "name" => play.name = string(value, "name")?,
            "hosts" => {
                has_hosts = true;
                play.hosts = match &value.value {
                    Yaml::Seq(items) => items
                        .iter()
                        .map(|i| string(i, "hosts"))
                        .collect::<Result<Vec<_>, _>>()?
                        .join(":"),
                    _ => string(value, "hosts")?,
                }
            }
            "vars" => play.vars = vars(value)?,
            "vars_files" => {
                play.vars_files = list(value)
                    .iter()
                    .map(|n| Ok((string(n, "vars_files")?, n.pos.clone())))
                    .collect::<Result<_, PlaybookError>>()?
            }
            "become" => play.become_ = Some(boolean(value, "become")?),
            "become_user" => play.become_user = Some(string(value, "become_user")?),
            "remote_user" => play.remote_user = Some(string(value, "remote_user")?),
            "no_log" => play.no_log = Some(boolean(value, "no_log")?),
            "gather_facts" => {
                play.gather_facts = Some(boolean(value, "gather_facts")?);
            }
            "tags" => play.tags = strings(value, "tags")?,
            "pre_tasks" => play.pre_tasks = tasks::steps(value, loader)?,
            "roles" => {}
            "tasks" => play.tasks = tasks::steps(value, loader)?,
            "post_tasks" => play.post_tasks = tasks::steps(value, loader)?,
            "handlers" => own_handlers = tasks::handlers(value, loader)?,
            "serial" => play.serial = serial(value)?,
            "max_fail_percentage" => play.max_fail_percentage = Some(percentage(value)?),
            // Modules resolve to Capstan's own by their short names (and
            // FQCNs); the collections a play searches change nothing.
            "collections" => {
                strings(value, "collections")?;
            }
            "any_errors_fatal" => play.any_errors_fatal = boolean(value, "any_errors_fatal")?,
            "force_handlers" => play.force_handlers = Some(boolean(value, "force_handlers")?),
            "gather_subset" => play.gather_subset = strings(value, "gather_subset")?,
            // Capstan gathers in one command, which its task timeout bounds.
            "gather_timeout" => {
                string(value, "gather_timeout")?;
            }
            "environment" => play.environment = vec![scalars::environment(value)?],
            "strategy" => play.strategy = Strategy::read(value)?,
            "connection" => {
                play.connection_local = match string(value, "connection")?.as_str() {
                    "local" => true,
                    // The inventory's own way to each host.
                    "ssh" | "smart" | "paramiko" => false,
                    other => {
                        return Err(value.error(format!(
                            "connection `{other}` is not one Capstan has (local, or ssh as \
                             the inventory says)"
                        )));
                    }
                }
            }
            other => {
                return Err(PlaybookError::at(
                    &key.pos,
                    format!(
                        "unsupported play keyword `{other}`; supported: {}",
                        PLAY_KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    if !has_hosts {
        return Err(PlaybookError::at(&play.pos, "this play has no `hosts:`"));
    }
    if play.name.is_empty() {
        play.name = play.hosts.clone();
    }
    let roles = std::mem::take(&mut loader.play_roles);
    play.role_defaults = roles.defaults;
    play.role_vars = roles.vars;
    play.handlers = roles.handlers;
    play.handlers.extend(own_handlers);
    play.included_handlers = roles.included_handlers;
    Ok(play)
}
