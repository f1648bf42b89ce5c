//! A playbook as Capstan understands it: plays, tasks and handlers read
//! from the YAML tree, with every keyword outside the supported subset
//! refused at its file position.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::NodeError;
use super::PlaybookError;
use super::modules::{self, Module};
use capstan_yaml::{self as yaml, Key, Node, Pos, TopLevel, Yaml};

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
    /// `no_log:` for all its tasks.
    pub no_log: Option<bool>,
    /// Whether to run `setup` first (default yes).
    pub gather_facts: bool,
    /// Tags every task inherits.
    pub tags: Vec<String>,
    /// Tasks, in order.
    pub tasks: Vec<Task>,
    /// Handlers, in definition order.
    pub handlers: Vec<Task>,
    /// Where the play starts.
    pub pos: Pos,
}

/// A task's module arguments as written.
#[derive(Debug, Clone)]
pub enum Args {
    /// `module: key=value ...` or a free-form command line.
    Inline(String),
    /// `module: {key: value}`.
    Map(Json),
}

/// `loop:` / `with_items:`.
#[derive(Debug, Clone)]
pub struct LoopSpec {
    /// The list, or a template giving it.
    pub items: Json,
    /// `with_items` flattens nested lists one level.
    pub flatten: bool,
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
    /// `loop_control.loop_var` (default `item`).
    pub loop_var: String,
    /// `loop_control.label`.
    pub loop_label: Option<String>,
    /// `register:`.
    pub register: Option<String>,
    /// `notify:` handler names.
    pub notify: Vec<String>,
    /// `listen:` topics (handlers only).
    pub listen: Vec<String>,
    /// `tags:`.
    pub tags: Vec<String>,
    /// `ignore_errors:`.
    pub ignore_errors: bool,
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
    /// Where the task starts.
    pub pos: Pos,
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
            loop_var: "item".into(),
            loop_label: None,
            register: None,
            notify: Vec::new(),
            listen: Vec::new(),
            tags: Vec::new(),
            ignore_errors: false,
            changed_when: None,
            failed_when: None,
            become_: None,
            become_user: None,
            no_log: None,
            vars: Vec::new(),
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
    "no_log",
    "gather_facts",
    "tags",
    "tasks",
    "handlers",
];

const TASK_KEYS: &[&str] = &[
    "name",
    "when",
    "loop",
    "with_items",
    "with_list",
    "loop_control",
    "register",
    "notify",
    "tags",
    "ignore_errors",
    "changed_when",
    "failed_when",
    "become",
    "become_user",
    "no_log",
    "vars",
    "args",
];

/// Task keywords Ansible has and Capstan does not, with what to do instead.
const UNSUPPORTED_TASK_KEYS: &[(&str, &str)] = &[
    ("block", "blocks are not supported; list the tasks directly"),
    ("rescue", "blocks are not supported"),
    ("always", "blocks are not supported"),
    ("include_tasks", "including task files is not supported yet"),
    ("import_tasks", "importing task files is not supported yet"),
    ("include_role", "roles are not supported yet"),
    ("import_role", "roles are not supported yet"),
    ("delegate_to", "delegation is not supported"),
    ("local_action", "local_action is not supported"),
    ("run_once", "run_once is not supported"),
    ("async", "async tasks are not supported"),
    ("poll", "async tasks are not supported"),
    ("until", "retries are not supported"),
    ("retries", "retries are not supported"),
    ("delay", "retries are not supported"),
    ("environment", "task environments are not supported"),
    (
        "check_mode",
        "per-task check_mode is not supported; use --check",
    ),
    ("diff", "per-task diff is not supported; use --diff"),
    (
        "with_dict",
        "with_dict is not supported; use loop with dict2items-free lists",
    ),
    ("with_fileglob", "with_fileglob is not supported"),
    ("with_nested", "with_nested is not supported"),
    (
        "action",
        "the `action:` form is not supported; name the module as the key",
    ),
];

/// Reads and checks a playbook file.
pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
    let shown = path.display().to_string();
    let text = yaml::read_file(path, "playbook").map_err(PlaybookError::plain)?;
    let plays = parse_plays(&shown, &text)?;
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

/// Reads and checks a playbook's text (`shown` names it in errors).
pub fn parse_plays(shown: &str, text: &str) -> Result<Vec<Play>, PlaybookError> {
    let root = yaml::parse(shown, text, TopLevel::Sequence)?;
    let Yaml::Seq(items) = &root.value else {
        return Err(root.error("a playbook is a list of plays"));
    };
    items.iter().map(play).collect()
}

fn entries<'a>(node: &'a Node, what: &str) -> Result<&'a [(Key, Node)], PlaybookError> {
    node.as_map()
        .ok_or_else(|| node.error(format!("{what} must be a mapping, not {}", node.kind())))
}

fn play(node: &Node) -> Result<Play, PlaybookError> {
    let fields = entries(node, "a play")?;
    if let Some((key, _)) = fields
        .iter()
        .find(|(k, _)| matches!(k.name.as_str(), "import_playbook" | "include"))
    {
        return Err(PlaybookError::at(
            &key.pos,
            format!(
                "`{}` is not supported yet; run the playbooks one after another",
                key.name
            ),
        ));
    }
    let mut play = Play {
        name: String::new(),
        hosts: String::new(),
        vars: Vec::new(),
        vars_files: Vec::new(),
        become_: None,
        become_user: None,
        no_log: None,
        gather_facts: true,
        tags: Vec::new(),
        tasks: Vec::new(),
        handlers: Vec::new(),
        pos: start_of(node, fields),
    };
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
            "no_log" => play.no_log = Some(boolean(value, "no_log")?),
            "gather_facts" => play.gather_facts = boolean(value, "gather_facts")?,
            "tags" => play.tags = strings(value, "tags")?,
            "tasks" => play.tasks = tasks(value, false)?,
            "handlers" => play.handlers = tasks(value, true)?,
            other => {
                let hint = match other {
                    "roles" | "pre_tasks" | "post_tasks" => {
                        " (only `tasks` and `handlers` are supported yet)"
                    }
                    "serial" | "strategy" | "max_fail_percentage" | "any_errors_fatal" => {
                        " (Capstan runs each task on all hosts at once and stops only the hosts that fail)"
                    }
                    _ => "",
                };
                return Err(PlaybookError::at(
                    &key.pos,
                    format!(
                        "unsupported play keyword `{other}`{hint}; supported: {}",
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
    Ok(play)
}

fn tasks(node: &Node, handlers: bool) -> Result<Vec<Task>, PlaybookError> {
    match &node.value {
        Yaml::Null => Ok(Vec::new()),
        Yaml::Seq(items) => items.iter().map(|t| task(t, handlers)).collect(),
        _ => Err(node.error(format!("expected a list of tasks, not {}", node.kind()))),
    }
}

fn task(node: &Node, handler: bool) -> Result<Task, PlaybookError> {
    let fields = entries(node, "a task")?;
    let mut module: Option<(&Key, &Node)> = None;
    let mut extra_args: Option<&Node> = None;
    let mut task = Task::new(Module::Debug, "", start_of(node, fields));
    for (key, value) in fields {
        match key.name.as_str() {
            "name" => task.name = Some(string(value, "name")?),
            "when" => task.when = conditions(value)?,
            "loop" | "with_list" => {
                task.loop_ = Some(LoopSpec {
                    items: value.to_json(),
                    flatten: false,
                })
            }
            "with_items" => {
                task.loop_ = Some(LoopSpec {
                    items: value.to_json(),
                    flatten: true,
                })
            }
            "loop_control" => {
                for (k, v) in entries(value, "loop_control")? {
                    match k.name.as_str() {
                        "loop_var" => task.loop_var = string(v, "loop_var")?,
                        "label" => task.loop_label = Some(string(v, "label")?),
                        other => {
                            return Err(PlaybookError::at(
                                &k.pos,
                                format!(
                                    "unsupported loop_control `{other}` (supported: loop_var, label)"
                                ),
                            ));
                        }
                    }
                }
            }
            "register" => task.register = Some(identifier(value, "register")?),
            "notify" => task.notify = strings(value, "notify")?,
            "listen" if handler => task.listen = strings(value, "listen")?,
            "tags" => task.tags = strings(value, "tags")?,
            "ignore_errors" => task.ignore_errors = boolean(value, "ignore_errors")?,
            "changed_when" => task.changed_when = Some(conditions(value)?),
            "failed_when" => task.failed_when = Some(conditions(value)?),
            "become" => task.become_ = Some(boolean(value, "become")?),
            "become_user" => task.become_user = Some(string(value, "become_user")?),
            "no_log" => task.no_log = Some(boolean(value, "no_log")?),
            "vars" => task.vars = vars(value)?,
            "args" => extra_args = Some(value),
            other => {
                if let Some((_, why)) = UNSUPPORTED_TASK_KEYS.iter().find(|(k, _)| *k == other) {
                    return Err(PlaybookError::at(
                        &key.pos,
                        format!("unsupported task keyword `{other}`: {why}"),
                    ));
                }
                if let Some((first, _)) = module {
                    let message = if modules::resolve(other).is_some() {
                        format!(
                            "this task names two modules, `{}` and `{other}`; a task runs one",
                            first.name
                        )
                    } else {
                        format!(
                            "unsupported task keyword `{other}` (the module is `{}`); supported: {}",
                            first.name,
                            TASK_KEYS.join(", ")
                        )
                    };
                    return Err(PlaybookError::at(&key.pos, message));
                }
                module = Some((key, value));
            }
        }
    }
    let Some((key, value)) = module else {
        return Err(PlaybookError::at(&task.pos, "this task names no module"));
    };
    task.plugin_action = modules::plugin_module(&key.name);
    task.module = match &task.plugin_action {
        Some(_) => Some(Module::Plugin),
        None => modules::resolve(&key.name),
    }
    .ok_or_else(|| {
        let hint = modules::nearest(&key.name)
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        PlaybookError::at(
            &key.pos,
            format!(
                "unknown module `{}`{hint}; Capstan runs: {}, and any installed plugin's \
                 action as `capstan.PLUGIN.ACTION`",
                key.name,
                modules::NAMES.join(", ")
            ),
        )
    })?;
    task.module_written = key.name.clone();
    task.args = match &value.value {
        Yaml::Null => Args::Map(Json::Object(Default::default())),
        Yaml::Map(_) => Args::Map(value.to_json()),
        Yaml::Str(s) => Args::Inline(s.clone()),
        Yaml::Bool(_) | Yaml::Int(_) | Yaml::Float(_) => {
            Args::Inline(value.to_json().to_string().trim_matches('"').to_string())
        }
        Yaml::Seq(_) => {
            return Err(value.error(format!(
                "the arguments of `{}` must be a mapping or key=value text, not a list",
                key.name
            )));
        }
    };
    if let Some(extra) = extra_args {
        let Json::Object(more) = entries(extra, "args").map(|_| extra.to_json())? else {
            unreachable!("entries() checked it is a mapping")
        };
        task.args = match std::mem::replace(&mut task.args, Args::Inline(String::new())) {
            Args::Map(Json::Object(mut map)) => {
                map.extend(more);
                Args::Map(Json::Object(map))
            }
            Args::Inline(text) => {
                let mut map = more;
                map.insert("_raw_params".into(), Json::String(text));
                Args::Map(Json::Object(map))
            }
            other => other,
        };
    }
    if handler && task.name.is_none() {
        return Err(PlaybookError::at(
            &task.pos,
            "a handler needs a `name:` (tasks notify it by name)",
        ));
    }
    Ok(task)
}

/// Where a mapping starts: its first key (the mapping's own mark can
/// point at its first value).
fn start_of(node: &Node, fields: &[(Key, Node)]) -> Pos {
    fields
        .first()
        .map(|(k, _)| k.pos.clone())
        .unwrap_or_else(|| node.pos.clone())
}

fn list(node: &Node) -> Vec<&Node> {
    match &node.value {
        Yaml::Seq(items) => items.iter().collect(),
        Yaml::Null => Vec::new(),
        _ => vec![node],
    }
}

fn string(node: &Node, what: &str) -> Result<String, PlaybookError> {
    match &node.value {
        Yaml::Str(s) => Ok(s.clone()),
        Yaml::Int(_) | Yaml::Float(_) | Yaml::Bool(_) => Ok(node.to_json().to_string()),
        _ => Err(node.error(format!("`{what}` must be a string, not {}", node.kind()))),
    }
}

fn identifier(node: &Node, what: &str) -> Result<String, PlaybookError> {
    let name = string(node, what)?;
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(node.error(format!(
            "`{what}: {name}` is not a valid variable name (letters, digits, _)"
        )));
    }
    Ok(name)
}

fn strings(node: &Node, what: &str) -> Result<Vec<String>, PlaybookError> {
    match &node.value {
        Yaml::Str(s) if what == "tags" => Ok(s.split(',').map(|t| t.trim().to_string()).collect()),
        _ => list(node).into_iter().map(|n| string(n, what)).collect(),
    }
}

fn boolean(node: &Node, what: &str) -> Result<bool, PlaybookError> {
    match &node.value {
        Yaml::Bool(b) => Ok(*b),
        Yaml::Str(s) => match yaml::plain_scalar(s) {
            Yaml::Bool(b) => Ok(b),
            _ => Err(node.error(format!("`{what}` must be yes/no or true/false, not `{s}`"))),
        },
        _ => Err(node.error(format!("`{what}` must be a boolean, not {}", node.kind()))),
    }
}

fn conditions(node: &Node) -> Result<Vec<String>, PlaybookError> {
    list(node)
        .into_iter()
        .map(|n| match &n.value {
            Yaml::Bool(b) => Ok(b.to_string()),
            Yaml::Str(s) => Ok(s.clone()),
            Yaml::Int(_) | Yaml::Float(_) => Ok(n.to_json().to_string()),
            _ => Err(n.error(format!(
                "a condition must be an expression, not {}",
                n.kind()
            ))),
        })
        .collect()
}

/// A `vars:` mapping.
pub fn vars(node: &Node) -> Result<Vec<(String, Json)>, PlaybookError> {
    if matches!(node.value, Yaml::Null) {
        return Ok(Vec::new());
    }
    entries(node, "vars")?
        .iter()
        .map(|(k, v)| Ok((k.name.clone(), v.to_json())))
        .collect()
}
