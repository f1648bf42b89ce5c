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
    /// Tasks and blocks, in order.
    pub tasks: Vec<Step>,
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

/// One entry of a task list: a task, or a block of them (an
/// `import_tasks` is read into a block when the playbook is loaded).
#[derive(Debug, Clone)]
pub enum Step {
    /// One task (boxed: a task is several times a block's size).
    Task(Box<Task>),
    /// `block:` with its `rescue:` and `always:`.
    Block(Block),
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
        }
    }
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
    /// Where the block starts.
    pub pos: Pos,
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
            ignore_errors: None,
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

    /// Whether a failure of this task is ignored.
    pub fn ignores_errors(&self) -> bool {
        self.ignore_errors == Some(true)
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
    ("rescue", "`rescue:` belongs to a `block:`"),
    ("always", "`always:` belongs to a `block:`"),
    ("include_tasks", "including task files is not supported yet"),
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

/// Reads and checks a playbook file, with the task files it imports.
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

/// Reads and checks a playbook's text (`shown` is its path, which names
/// it in errors and from which imported files are found).
pub fn parse_plays(shown: &str, text: &str) -> Result<Vec<Play>, PlaybookError> {
    let root = yaml::parse(shown, text, TopLevel::Sequence)?;
    let Yaml::Seq(items) = &root.value else {
        return Err(root.error("a playbook is a list of plays"));
    };
    let mut loader = Loader::new(Path::new(shown));
    items.iter().map(|node| play(node, &mut loader)).collect()
}

/// Reads the task files a playbook imports: each found beside the file
/// that imports it, or else beside the playbook, and none imported again
/// while it is being read (a cycle).
struct Loader {
    /// The playbook's folder.
    base: PathBuf,
    /// The files being read, the playbook first.
    reading: Vec<PathBuf>,
}

impl Loader {
    fn new(playbook: &Path) -> Loader {
        Loader {
            base: folder_of(playbook),
            reading: vec![playbook.to_path_buf()],
        }
    }

    /// The file `name` (an `import_tasks:` at `at`) names.
    fn find(&self, name: &str, at: &Pos) -> Result<PathBuf, PlaybookError> {
        let current = self.reading.last().map(|f| folder_of(f));
        let places: Vec<PathBuf> = current
            .into_iter()
            .chain([self.base.clone()])
            .map(|dir| dir.join(name))
            .collect();
        places.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
            let looked: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
            PlaybookError::at(
                at,
                format!(
                    "no task file `{name}` (looked for {})",
                    looked.join(" and ")
                ),
            )
        })
    }

    /// Reads the task list in `path` with `read`, refusing a file that is
    /// already being read (it imports itself, directly or not).
    fn read_tasks<T>(
        &mut self,
        path: &Path,
        at: &Pos,
        read: impl FnOnce(&mut Loader, &Node) -> Result<T, PlaybookError>,
    ) -> Result<T, PlaybookError> {
        let same = |a: &Path, b: &Path| {
            a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
        };
        if self.reading.iter().any(|f| same(f, path)) {
            let chain: Vec<String> = self
                .reading
                .iter()
                .chain([&path.to_path_buf()])
                .map(|f| f.display().to_string())
                .collect();
            return Err(PlaybookError::at(
                at,
                format!(
                    "task files import each other in a circle: {}",
                    chain.join(" -> ")
                ),
            ));
        }
        let text = yaml::read_file(path, "task file").map_err(|e| PlaybookError::at(at, e))?;
        let node = yaml::parse(&path.display().to_string(), &text, TopLevel::Sequence)?;
        self.reading.push(path.to_path_buf());
        let read = read(self, &node);
        self.reading.pop();
        read
    }
}

/// The folder a file is in (`.` for a bare name).
fn folder_of(file: &Path) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

fn entries<'a>(node: &'a Node, what: &str) -> Result<&'a [(Key, Node)], PlaybookError> {
    node.as_map()
        .ok_or_else(|| node.error(format!("{what} must be a mapping, not {}", node.kind())))
}

fn play(node: &Node, loader: &mut Loader) -> Result<Play, PlaybookError> {
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
            "tasks" => play.tasks = steps(value, loader)?,
            "handlers" => play.handlers = handlers(value)?,
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

/// The items of a task list (`Null` for an empty one).
fn task_list(node: &Node) -> Result<&[Node], PlaybookError> {
    match &node.value {
        Yaml::Null => Ok(&[]),
        Yaml::Seq(items) => Ok(items),
        _ => Err(node.error(format!("expected a list of tasks, not {}", node.kind()))),
    }
}

fn handlers(node: &Node) -> Result<Vec<Task>, PlaybookError> {
    task_list(node)?
        .iter()
        .map(|item| {
            if let Some((key, _)) = entries(item, "a handler")?
                .iter()
                .find(|(k, _)| matches!(k.name.as_str(), "block" | "import_tasks"))
            {
                return Err(PlaybookError::at(
                    &key.pos,
                    format!(
                        "a handler is one task; `{}` is not supported among handlers",
                        key.name
                    ),
                ));
            }
            task(item, true)
        })
        .collect()
}

fn steps(node: &Node, loader: &mut Loader) -> Result<Vec<Step>, PlaybookError> {
    task_list(node)?
        .iter()
        .map(|item| step(item, loader))
        .collect()
}

fn step(node: &Node, loader: &mut Loader) -> Result<Step, PlaybookError> {
    let fields = entries(node, "a task")?;
    let has = |name: &str| fields.iter().any(|(k, _)| k.name == name);
    if has("block") {
        return block(node, fields, loader).map(Step::Block);
    }
    if has("import_tasks") || has("ansible.builtin.import_tasks") {
        return import_tasks(node, fields, loader).map(Step::Block);
    }
    task(node, false).map(|task| Step::Task(Box::new(task)))
}

const BLOCK_KEYS: &[&str] = &[
    "name",
    "block",
    "rescue",
    "always",
    "when",
    "tags",
    "become",
    "become_user",
    "no_log",
    "ignore_errors",
    "vars",
];

fn block(node: &Node, fields: &[(Key, Node)], loader: &mut Loader) -> Result<Block, PlaybookError> {
    let mut block = Block {
        name: None,
        body: Vec::new(),
        rescue: Vec::new(),
        always: Vec::new(),
        pos: start_of(node, fields),
    };
    let mut handed = HandedDown::default();
    for (key, value) in fields {
        match key.name.as_str() {
            "name" => block.name = Some(string(value, "name")?),
            "block" => block.body = steps(value, loader)?,
            "rescue" => block.rescue = steps(value, loader)?,
            "always" => block.always = steps(value, loader)?,
            other => {
                if !handed.read(key, value)? {
                    return Err(PlaybookError::at(
                        &key.pos,
                        format!(
                            "unsupported block keyword `{other}`; supported: {}",
                            BLOCK_KEYS.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    for steps in [&mut block.body, &mut block.rescue, &mut block.always] {
        handed.hand_down(steps);
    }
    Ok(block)
}

const IMPORT_KEYS: &[&str] = &[
    "name",
    "import_tasks",
    "when",
    "tags",
    "become",
    "become_user",
    "no_log",
    "ignore_errors",
    "vars",
];

/// `import_tasks: FILE`: the file's tasks, read now, with the import's
/// keywords handed down to each (as a block without rescue).
fn import_tasks(
    node: &Node,
    fields: &[(Key, Node)],
    loader: &mut Loader,
) -> Result<Block, PlaybookError> {
    let pos = start_of(node, fields);
    let mut name = None;
    let mut file = None;
    let mut handed = HandedDown::default();
    for (key, value) in fields {
        match key.name.as_str() {
            "name" => name = Some(string(value, "name")?),
            "import_tasks" | "ansible.builtin.import_tasks" => {
                file = Some((string(value, "import_tasks")?, value.pos.clone()))
            }
            other => {
                if !handed.read(key, value)? {
                    return Err(PlaybookError::at(
                        &key.pos,
                        format!(
                            "unsupported keyword `{other}` on import_tasks; supported: {}",
                            IMPORT_KEYS.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    let (file, at) = file.expect("step() saw the key");
    if file.contains("{{") {
        return Err(PlaybookError::at(
            &at,
            format!(
                "`import_tasks: {file}` is read when the playbook loads, before variables \
                 have values: name the file, or use include_tasks"
            ),
        ));
    }
    let path = loader.find(&file, &at)?;
    let mut body = loader.read_tasks(&path, &at, |loader, node| steps(node, loader))?;
    handed.hand_down(&mut body);
    Ok(Block {
        name,
        body,
        rescue: Vec::new(),
        always: Vec::new(),
        pos,
    })
}

/// Keywords a block or an import hands down to every task it holds: its
/// conditions come first and its tags add up; its `become`, `no_log` and
/// `ignore_errors` hold where a task sets none; its vars sit under the
/// task's own.
#[derive(Debug, Default)]
struct HandedDown {
    when: Vec<String>,
    tags: Vec<String>,
    become_: Option<bool>,
    become_user: Option<String>,
    no_log: Option<bool>,
    ignore_errors: Option<bool>,
    vars: Vec<(String, Json)>,
}

impl HandedDown {
    /// Reads `key` if it is one it hands down; false if it is not.
    fn read(&mut self, key: &Key, value: &Node) -> Result<bool, PlaybookError> {
        match key.name.as_str() {
            "when" => self.when = conditions(value)?,
            "tags" => self.tags = strings(value, "tags")?,
            "become" => self.become_ = Some(boolean(value, "become")?),
            "become_user" => self.become_user = Some(string(value, "become_user")?),
            "no_log" => self.no_log = Some(boolean(value, "no_log")?),
            "ignore_errors" => self.ignore_errors = Some(boolean(value, "ignore_errors")?),
            "vars" => self.vars = vars(value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn hand_down(&self, steps: &mut [Step]) {
        for step in steps {
            match step {
                Step::Task(task) => self.hand_to(task),
                Step::Block(block) => {
                    for steps in [&mut block.body, &mut block.rescue, &mut block.always] {
                        self.hand_down(steps);
                    }
                }
            }
        }
    }

    fn hand_to(&self, task: &mut Task) {
        if !self.when.is_empty() {
            task.when = self.when.iter().chain(&task.when).cloned().collect();
        }
        for tag in &self.tags {
            if !task.tags.contains(tag) {
                task.tags.push(tag.clone());
            }
        }
        task.become_ = task.become_.or(self.become_);
        if task.become_user.is_none() {
            task.become_user = self.become_user.clone();
        }
        task.no_log = task.no_log.or(self.no_log);
        task.ignore_errors = task.ignore_errors.or(self.ignore_errors);
        if !self.vars.is_empty() {
            task.vars = self.vars.iter().chain(&task.vars).cloned().collect();
        }
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
            "ignore_errors" => task.ignore_errors = Some(boolean(value, "ignore_errors")?),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` under a new folder and loads `site.yml` from it.
    fn load_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Playbook, PlaybookError>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let loaded = load(&dir.path().join("site.yml"));
        (dir, loaded)
    }

    fn names(steps: &[Step]) -> Vec<String> {
        all_tasks(steps).iter().map(|t| t.display_name()).collect()
    }

    #[test]
    fn a_blocks_keywords_reach_every_task_inside_under_the_tasks_own() {
        let (_dir, loaded) = load_with(&[(
            "site.yml",
            r#"- hosts: all
  tasks:
    - name: outer
      when: a
      tags: [outer]
      become: true
      vars: {x: outer, y: outer}
      block:
        - name: inner block
          when: b
          become: false
          ignore_errors: true
          block:
            - name: t1
              debug: msg=1
              when: c
              vars: {y: task}
      rescue:
        - name: r1
          debug: msg=r
      always:
        - name: a1
          debug: msg=a
          tags: [own]
"#,
        )]);
        let playbook = loaded.unwrap();
        let tasks = all_tasks(&playbook.plays[0].tasks);
        assert_eq!(names(&playbook.plays[0].tasks), ["t1", "r1", "a1"]);
        let t1 = tasks[0];
        assert_eq!(t1.when, ["a", "b", "c"], "outer conditions first");
        assert_eq!(t1.tags, ["outer"]);
        assert_eq!(t1.become_, Some(false), "the nearer block wins");
        assert!(t1.ignores_errors());
        assert_eq!(
            t1.vars,
            [
                ("x".to_string(), serde_json::json!("outer")),
                ("y".to_string(), serde_json::json!("outer")),
                ("y".to_string(), serde_json::json!("task")),
            ],
            "the task's own vars come last, and win"
        );
        assert_eq!(tasks[1].when, ["a"], "a rescue is under the block's when");
        assert!(!tasks[1].ignores_errors());
        assert_eq!(tasks[2].tags, ["own", "outer"]);
    }

    #[test]
    fn imported_task_files_are_found_beside_their_importer_and_take_its_keywords() {
        let (_dir, loaded) = load_with(&[
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - import_tasks: tasks/main.yml\n      when: go\n      tags: [t]\n",
            ),
            (
                "tasks/main.yml",
                "- name: one\n  debug: msg=1\n- import_tasks: more.yml\n",
            ),
            ("tasks/more.yml", "- name: two\n  debug: msg=2\n"),
        ]);
        let playbook = loaded.unwrap();
        assert_eq!(names(&playbook.plays[0].tasks), ["one", "two"]);
        for task in all_tasks(&playbook.plays[0].tasks) {
            assert_eq!(
                (task.when.as_slice(), task.tags.as_slice()),
                (&["go".to_string()][..], &["t".to_string()][..])
            );
        }
        assert!(
            all_tasks(&playbook.plays[0].tasks)[1]
                .pos
                .file
                .ends_with("more.yml"),
            "a task keeps the place it was written"
        );
    }

    #[test]
    fn a_missing_or_circular_import_is_named_where_it_is_written() {
        let (_dir, missing) = load_with(&[(
            "site.yml",
            "- hosts: all\n  tasks:\n    - import_tasks: nowhere.yml\n",
        )]);
        let error = missing.unwrap_err().to_string();
        assert!(error.contains("site.yml:3:21"), "{error}");
        assert!(error.contains("no task file `nowhere.yml`"), "{error}");

        let (_dir, circle) = load_with(&[
            (
                "site.yml",
                "- hosts: all\n  tasks:\n    - import_tasks: a.yml\n",
            ),
            ("a.yml", "- import_tasks: b.yml\n"),
            ("b.yml", "- debug: msg=x\n- import_tasks: a.yml\n"),
        ]);
        let error = circle.unwrap_err().to_string();
        assert!(error.contains("b.yml:2:17"), "{error}");
        assert!(error.contains("import each other in a circle"), "{error}");
        assert!(error.contains("a.yml -> "), "{error}");

        let (_dir, templated) = load_with(&[(
            "site.yml",
            "- hosts: all\n  tasks:\n    - import_tasks: \"{{ os }}.yml\"\n",
        )]);
        let error = templated.unwrap_err().to_string();
        assert!(error.contains("use include_tasks"), "{error}");
    }

    #[test]
    fn blocks_refuse_what_they_cannot_hold() {
        let (_dir, keyword) = load_with(&[(
            "site.yml",
            "- hosts: all\n  tasks:\n    - block:\n        - debug: msg=x\n      loop: [1]\n",
        )]);
        let error = keyword.unwrap_err().to_string();
        assert!(error.contains("site.yml:5:7"), "{error}");
        assert!(
            error.contains("unsupported block keyword `loop`"),
            "{error}"
        );

        let (_dir, handler) = load_with(&[(
            "site.yml",
            "- hosts: all\n  tasks: []\n  handlers:\n    - name: h\n      block: []\n",
        )]);
        let error = handler.unwrap_err().to_string();
        assert!(error.contains("not supported among handlers"), "{error}");

        let (_dir, stray) = load_with(&[(
            "site.yml",
            "- hosts: all\n  tasks:\n    - debug: msg=x\n      rescue: []\n",
        )]);
        let error = stray.unwrap_err().to_string();
        assert!(error.contains("belongs to a `block:`"), "{error}");
    }
}
