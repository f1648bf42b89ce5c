//! Task lists: tasks, blocks and imported task files, and the keywords a
//! block or an import hands down to each task inside.

use serde_json::Value as Json;

use std::path::PathBuf;
use std::sync::Arc;

use super::handed::{HANDED_KEYS, HandedDown};
use super::loader::Loader;
use super::roles::RoleFolder;
use super::scalars::{
    boolean, conditions, entries, environment, identifier, options, start_of, string, strings,
    switch, throttle, vars,
};
use super::{
    Args, Async, Block, Include, IncludedRole, LoopControl, LoopKind, LoopSpec, MetaAction,
    ReadRole, RoleFiles, RoleRef, RoleScope, Step, Task,
};
use crate::playbook::modules::{self, Module};
use crate::playbook::{NodeError, PlaybookError};
use capstan_yaml::{Key, Node, Pos, Yaml};

const TASK_KEYS: &[&str] = &[
    "name",
    "when",
    "loop",
    "with_items",
    "with_list",
    "with_dict",
    "with_fileglob",
    "with_nested",
    "with_sequence",
    "with_together",
    "with_subelements",
    "loop_control",
    "register",
    "notify",
    "tags",
    "ignore_errors",
    "any_errors_fatal",
    "run_once",
    "delegate_to",
    "delegate_facts",
    "local_action",
    "action",
    "until",
    "retries",
    "delay",
    "check_mode",
    "diff",
    "environment",
    "ignore_unreachable",
    "throttle",
    "remote_user",
    "timeout",
    "async",
    "poll",
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
];

/// The items of a task list (`Null` for an empty one).
fn task_list(node: &Node) -> Result<&[Node], PlaybookError> {
    match &node.value {
        Yaml::Null => Ok(&[]),
        Yaml::Seq(items) => Ok(items),
        _ => Err(node.error(format!("expected a list of tasks, not {}", node.kind()))),
    }
}

/// A `handlers:` list, as Ansible reads one: each a task; an
/// `import_tasks` whose file's handlers take its place (read as the
/// playbook loads); an `include_tasks` that, notified, runs its file's
/// tasks as handlers; or a block whose tasks are each a handler of its own
/// (a block inside it, or a role, is refused in Ansible's words).
pub(super) fn handlers(node: &Node, loader: &mut Loader) -> Result<Vec<Task>, PlaybookError> {
    handler_list(node, loader, HandlerList::default())
}

/// Where a list of handlers is written.
#[derive(Debug, Clone, Copy, Default)]
struct HandlerList {
    /// In a block among handlers (where another block is refused).
    in_block: bool,
    /// In a file an `include_tasks` handler brings: its tasks run when
    /// the include does, and need no name.
    included: bool,
}

/// The tasks of a file an `include_tasks` handler brings, as steps.
pub(super) fn handler_steps(loader: &mut Loader, node: &Node) -> Result<Vec<Step>, PlaybookError> {
    let list = HandlerList {
        in_block: false,
        included: true,
    };
    let handlers = handler_list(node, loader, list)?;
    Ok(handlers
        .into_iter()
        .map(|handler| Step::Task(Box::new(handler)))
        .collect())
}

/// A list of handlers, written where `list` says.
fn handler_list(
    node: &Node,
    loader: &mut Loader,
    list: HandlerList,
) -> Result<Vec<Task>, PlaybookError> {
    let mut all = Vec::new();
    for item in task_list(node)? {
        let fields = entries(item, "a handler")?;
        let find = |name: &str| {
            fields.iter().find(|(k, _)| {
                k.name == name || k.name.strip_prefix("ansible.builtin.") == Some(name)
            })
        };
        if let Some((_, value)) = find("import_tasks") {
            if let Some((key, _)) = fields
                .iter()
                .find(|(k, _)| !k.name.ends_with("import_tasks") && k.name != "name")
            {
                return Err(PlaybookError::at(
                    &key.pos,
                    format!(
                        "`{}` beside import_tasks among handlers is not supported",
                        key.name
                    ),
                ));
            }
            let file = task_file_name(value, "import_tasks")?;
            if file.contains("{{") {
                return Err(PlaybookError::at(
                    &value.pos,
                    format!(
                        "`import_tasks: {file}` among handlers is read as the playbook loads: name the file"
                    ),
                ));
            }
            let path = loader.find(&file, &value.pos)?;
            all.extend(loader.read_tasks(&path, &value.pos, |loader, node| {
                handler_list(node, loader, list)
            })?);
            continue;
        }
        if find("block").is_some() {
            if list.in_block {
                return Err(PlaybookError::at(
                    &start_of(item, fields),
                    "Using a block as a handler is not supported.",
                ));
            }
            all.extend(handler_block(fields, loader, list)?);
            continue;
        }
        if let Some((key, _)) = find("include_role").or_else(|| find("import_role")) {
            return Err(PlaybookError::at(
                &key.pos,
                format!("Using '{}' as a handler is not supported.", key.name),
            ));
        }
        if find("include_tasks").is_some() {
            all.push(handler_include(item, fields, loader)?);
            continue;
        }
        let handler = task(item, true)?;
        if !list.included && handler.name.is_none() && handler.listen.is_empty() {
            return Err(PlaybookError::at(
                &handler.pos,
                "a handler needs a `name:` or a `listen:` (tasks notify it by one of them)",
            ));
        }
        all.push(handler);
    }
    Ok(all)
}

/// A block among handlers: each task of its body is a handler of its own
/// (notified by its own name, not the block's), with the block's keywords
/// handed down.
fn handler_block(
    fields: &[(Key, Node)],
    loader: &mut Loader,
    list: HandlerList,
) -> Result<Vec<Task>, PlaybookError> {
    let mut body = Vec::new();
    let mut handed = HandedDown::default();
    for (key, value) in fields {
        match key.name.as_str() {
            "name" => {
                string(value, "name")?;
            }
            "block" => {
                let inner = HandlerList {
                    in_block: true,
                    ..list
                };
                body = handler_list(value, loader, inner)?;
            }
            "rescue" | "always" => {
                return Err(PlaybookError::at(
                    &key.pos,
                    format!("`{}` is not supported on a block among handlers", key.name),
                ));
            }
            other => {
                if !handed.read(key, value)? {
                    return Err(PlaybookError::at(
                        &key.pos,
                        format!(
                            "unsupported block keyword `{other}`; supported among handlers: \
                             name, block, {}",
                            HANDED_KEYS.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    for handler in &mut body {
        handed.hand_to(handler);
    }
    Ok(body)
}

/// An `include_tasks` among handlers: notified by its name (or a
/// `listen:` topic), it runs the tasks of its file, read as handlers.
fn handler_include(
    node: &Node,
    fields: &[(Key, Node)],
    loader: &mut Loader,
) -> Result<Task, PlaybookError> {
    let mut listen = Vec::new();
    let mut own = Vec::new();
    for (key, value) in fields {
        if key.name == "listen" {
            listen = strings(value, "listen")?;
        } else {
            own.push((key.clone(), value.clone()));
        }
    }
    let include = read_include_tasks(node, &own, loader, true)?;
    let written = own
        .iter()
        .find(|(k, _)| k.name.ends_with("include_tasks"))
        .map_or("include_tasks", |(k, _)| k.name.as_str());
    let mut task = Task::new(Module::IncludeTasks, written, include.pos.clone());
    task.name = include.name.clone();
    task.listen = listen;
    task.include = Some(Arc::new(include));
    Ok(task)
}

pub(super) fn steps(node: &Node, loader: &mut Loader) -> Result<Vec<Step>, PlaybookError> {
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
    if has("include_tasks") || has("ansible.builtin.include_tasks") {
        return read_include_tasks(node, fields, loader, false).map(|i| Step::Include(Box::new(i)));
    }
    if has("include_role") || has("ansible.builtin.include_role") {
        return include_role(node, fields, loader).map(|i| Step::Include(Box::new(i)));
    }
    if has("import_role") || has("ansible.builtin.import_role") {
        let call = RoleCall::import(node, fields)?;
        return Ok(Step::Block(
            role_block(call, loader, &mut Vec::new())?
                .unwrap_or_else(|| Block::empty(start_of(node, fields))),
        ));
    }
    task(node, false).map(|task| Step::Task(Box::new(task)))
}

/// A block's own keywords, beside those it hands down.
const BLOCK_KEYS: &[&str] = &["name", "block", "rescue", "always"];

fn block(node: &Node, fields: &[(Key, Node)], loader: &mut Loader) -> Result<Block, PlaybookError> {
    let mut block = Block {
        name: None,
        body: Vec::new(),
        rescue: Vec::new(),
        always: Vec::new(),
        once: None,
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
                            "unsupported block keyword `{other}`; supported: {}, {}",
                            BLOCK_KEYS.join(", "),
                            HANDED_KEYS.join(", ")
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

/// An import's own keywords, beside those it hands down.
const IMPORT_KEYS: &[&str] = &["name", "import_tasks"];

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
                file = Some((task_file_name(value, "import_tasks")?, value.pos.clone()))
            }
            other => {
                if !handed.read(key, value)? {
                    return Err(PlaybookError::at(
                        &key.pos,
                        format!(
                            "unsupported keyword `{other}` on import_tasks; supported: {}, {}",
                            IMPORT_KEYS.join(", "),
                            HANDED_KEYS.join(", ")
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
        once: None,
        pos,
    })
}

/// An include with nothing read yet, written at `pos` in the file
/// `loader` is reading.
fn new_include(loader: &Loader, pos: Pos) -> Include {
    Include {
        name: None,
        file: String::new(),
        when: Vec::new(),
        loop_: None,
        loop_control: LoopControl::default(),
        vars: Vec::new(),
        tags: Vec::new(),
        handed: HandedDown::default(),
        dir: loader.current_dir(),
        base: loader.base().to_path_buf(),
        roles_path: loader.roles_path(),
        role: None,
        steps: None,
        included_role: None,
        as_handlers: false,
        pos,
    }
}

/// The keywords every include takes beside what it includes.
const INCLUDE_KEYS: &str = "name, when, tags, vars, loop (and the with_* forms), loop_control";

/// Reads `key` into `include` if it is a keyword every include takes;
/// false if it is not.
fn include_keyword(include: &mut Include, key: &Key, value: &Node) -> Result<bool, PlaybookError> {
    match key.name.as_str() {
        "name" => include.name = Some(string(value, "name")?),
        "when" => include.when = conditions(value)?,
        "tags" => include.tags = strings(value, "tags")?,
        "vars" => include.vars = vars(value)?,
        name if LoopKind::of(name).is_some() => include.loop_ = Some(loop_spec(key, value)),
        "loop_control" => include.loop_control = loop_control(value)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The task file an `import_tasks:` or `include_tasks:` string names,
/// also in the free form `file=NAME`.
fn task_file_name(value: &Node, what: &str) -> Result<String, PlaybookError> {
    let written = string(value, what)?;
    Ok(match written.trim().strip_prefix("file=") {
        Some(name) => name.trim().to_string(),
        None => written,
    })
}

/// `include_tasks: FILE` with `when`, `loop`, `vars`, `tags`, `name`:
/// read now when the name has no template (so a missing file or a bad
/// task is named before the run), else when a host reaches it; its file
/// holds handlers when it is one (`as_handlers`).
fn read_include_tasks(
    node: &Node,
    fields: &[(Key, Node)],
    loader: &mut Loader,
    as_handlers: bool,
) -> Result<Include, PlaybookError> {
    let mut include = new_include(loader, start_of(node, fields));
    include.as_handlers = as_handlers;
    let mut file_at = include.pos.clone();
    for (key, value) in fields {
        match key.name.as_str() {
            "include_tasks" | "ansible.builtin.include_tasks" => {
                include.file = match &value.value {
                    Yaml::Map(_) => {
                        let file = entries(value, "include_tasks")?
                            .iter()
                            .find(|(k, _)| k.name == "file")
                            .ok_or_else(|| value.error("include_tasks needs `file:`"))?;
                        string(&file.1, "file")?
                    }
                    _ => task_file_name(value, "include_tasks")?,
                };
                file_at = value.pos.clone();
            }
            _ if include_keyword(&mut include, key, value)? => {}
            other => {
                return Err(PlaybookError::at(
                    &key.pos,
                    format!(
                        "unsupported keyword `{other}` on include_tasks; supported: {INCLUDE_KEYS}"
                    ),
                ));
            }
        }
    }
    if !include.file.contains("{{") {
        let path = loader.find(&include.file, &file_at)?;
        include.steps = Some(if as_handlers {
            loader.read_tasks(&path, &file_at, handler_steps)?
        } else {
            loader.read_tasks(&path, &file_at, |loader, node| steps(node, loader))?
        });
    }
    Ok(include)
}

/// The options naming which of a role's files to read.
const ROLE_OPTIONS: &[&str] = &["tasks_from", "vars_from", "defaults_from", "handlers_from"];

/// Reads a `*_from` option of `import_role` or `include_role` into
/// `files`; false if `key` is not one.
fn role_option(key: &Key, value: &Node, files: &mut RoleFiles) -> Result<bool, PlaybookError> {
    let slot = match key.name.as_str() {
        "tasks_from" => &mut files.tasks,
        "vars_from" => &mut files.vars,
        "defaults_from" => &mut files.defaults,
        "handlers_from" => &mut files.handlers,
        _ => return Ok(false),
    };
    *slot = Some(string(value, &key.name)?);
    Ok(true)
}

/// `include_role: {name: ROLE, tasks_from, vars_from, defaults_from,
/// handlers_from, public, apply}` with `when`, `loop`, `vars`, `tags`,
/// `name`: the role is read now when its name has no template (so a
/// missing role or a bad task is named before the run), else when a host
/// reaches it. Its defaults and vars reach only its own tasks and
/// handlers unless `public: true`.
fn include_role(
    node: &Node,
    fields: &[(Key, Node)],
    loader: &mut Loader,
) -> Result<Include, PlaybookError> {
    let mut include = new_include(loader, start_of(node, fields));
    let mut role = IncludedRole::default();
    let mut name_at = include.pos.clone();
    for (key, value) in fields {
        match key.name.as_str() {
            "include_role" | "ansible.builtin.include_role" => {
                for (k, v) in &options(value, "include_role")? {
                    match k.name.as_str() {
                        "name" => {
                            include.file = string(v, "name")?;
                            name_at = v.pos.clone();
                        }
                        "public" => role.public = boolean(v, "public")?,
                        "apply" => {
                            for (ak, av) in entries(v, "apply")? {
                                if !role.apply.read(ak, av)? {
                                    return Err(PlaybookError::at(
                                        &ak.pos,
                                        format!(
                                            "unsupported keyword `{}` in apply; supported: {}",
                                            ak.name,
                                            HANDED_KEYS.join(", ")
                                        ),
                                    ));
                                }
                            }
                        }
                        // Capstan runs an included role each time it is
                        // reached and checks no argument specs: both hold.
                        "allow_duplicates" | "rolespec_validate" => {
                            boolean(v, &k.name)?;
                        }
                        _ if role_option(k, v, &mut role.files)? => {}
                        other => {
                            return Err(PlaybookError::at(
                                &k.pos,
                                format!(
                                    "unsupported include_role option `{other}` (supported: \
                                     name, {}, public, apply, allow_duplicates, \
                                     rolespec_validate)",
                                    ROLE_OPTIONS.join(", ")
                                ),
                            ));
                        }
                    }
                }
            }
            _ if include_keyword(&mut include, key, value)? => {}
            other => {
                return Err(PlaybookError::at(
                    &key.pos,
                    format!(
                        "unsupported keyword `{other}` on include_role; supported: {INCLUDE_KEYS} \
                         (hand keywords to the role's tasks with `apply:`)"
                    ),
                ));
            }
        }
    }
    if include.file.is_empty() {
        return Err(PlaybookError::at(
            &name_at,
            "include_role names no role (`include_role: {name: ROLE}`)",
        ));
    }
    if !include.file.contains("{{") {
        let call = RoleCall::for_include(&include.file, role.files.clone(), name_at);
        let read = read_included_role(call, loader)?;
        loader
            .play_roles
            .included_handlers
            .extend(read.handlers.iter().cloned());
        role.handlers = read.handlers;
        role.scope = Some(read.scope);
        include.steps = Some(read.steps);
    }
    include.included_role = Some(role);
    Ok(include)
}

/// Reads the role `call` names for an `include_role`: apart from the
/// play's roles (what the play already ran does not stop it running
/// again), its defaults and vars kept for its own tasks and handlers.
pub(super) fn read_included_role(
    call: RoleCall,
    loader: &mut Loader,
) -> Result<ReadRole, PlaybookError> {
    let play_roles = std::mem::take(&mut loader.play_roles);
    let block = role_block(call, loader, &mut Vec::new());
    let read = std::mem::replace(&mut loader.play_roles, play_roles);
    let mut block = block?.expect("a role runs at least once in a fresh play");
    // The role an include names runs each time it is reached; only its
    // dependencies are held to once per host.
    block.once = None;
    let scope = Arc::new(RoleScope {
        defaults: read.defaults.into_iter().collect(),
        vars: read.vars.into_iter().collect(),
    });
    let handing = HandedDown::with_role_scope(scope.clone());
    let mut steps = vec![Step::Block(block)];
    handing.hand_down(&mut steps);
    let mut handlers = read.handlers;
    handlers.extend(read.included_handlers);
    for handler in &mut handlers {
        handing.hand_to(handler);
    }
    Ok(ReadRole {
        steps,
        scope,
        handlers,
    })
}

/// A role as a play, a role's `meta/` or an `import_role` names it: which
/// role, the parameters its own tasks see, and the keywords (`when`,
/// `tags`, `become`, ...) handed down to its tasks and its dependencies'.
#[derive(Debug)]
pub(crate) struct RoleCall {
    name: String,
    at: Pos,
    params: Vec<(String, Json)>,
    handed: HandedDown,
    files: RoleFiles,
}

impl RoleCall {
    /// A `roles:` entry or a dependency: a name, or a mapping with `role:`
    /// (or `name:`), keywords, `vars:`, and any other key as a parameter.
    pub(super) fn entry(node: &Node) -> Result<RoleCall, PlaybookError> {
        if let Yaml::Str(name) = &node.value {
            return Ok(RoleCall::named(name.clone(), node.pos.clone()));
        }
        let fields = entries(node, "a role")?;
        let mut call = RoleCall::named(String::new(), start_of(node, fields));
        for (key, value) in fields {
            match key.name.as_str() {
                "role" | "name" => {
                    call.name = string(value, "role")?;
                    call.at = value.pos.clone();
                }
                "vars" => call.params.extend(vars(value)?),
                _ if call.handed.read(key, value)? => {}
                other => call.params.push((other.to_string(), value.to_json())),
            }
        }
        call.checked_name()
    }

    /// `import_role: {name: ..., tasks_from: ...}` with a task's keywords.
    fn import(node: &Node, fields: &[(Key, Node)]) -> Result<RoleCall, PlaybookError> {
        let mut call = RoleCall::named(String::new(), start_of(node, fields));
        for (key, value) in fields {
            match key.name.as_str() {
                "import_role" | "ansible.builtin.import_role" => {
                    for (k, v) in &options(value, "import_role")? {
                        if k.name == "name" {
                            call.name = string(v, "name")?;
                            call.at = v.pos.clone();
                        } else if !role_option(k, v, &mut call.files)? {
                            return Err(PlaybookError::at(
                                &k.pos,
                                format!(
                                    "unsupported import_role option `{}` (supported: name, {})",
                                    k.name,
                                    ROLE_OPTIONS.join(", ")
                                ),
                            ));
                        }
                    }
                }
                "name" => {}
                "vars" => call.params.extend(vars(value)?),
                other => {
                    if !call.handed.read(key, value)? {
                        return Err(PlaybookError::at(
                            &key.pos,
                            format!("unsupported keyword `{other}` on import_role"),
                        ));
                    }
                }
            }
        }
        call.checked_name()
    }

    /// The call an `include_role` makes once its name is known.
    pub(super) fn for_include(name: &str, files: RoleFiles, at: Pos) -> RoleCall {
        RoleCall {
            files,
            ..RoleCall::named(name.to_string(), at)
        }
    }

    fn named(name: String, at: Pos) -> RoleCall {
        RoleCall {
            name,
            at,
            params: Vec::new(),
            handed: HandedDown::default(),
            files: RoleFiles::default(),
        }
    }

    fn checked_name(self) -> Result<RoleCall, PlaybookError> {
        if self.name.is_empty() {
            return Err(PlaybookError::at(
                &self.at,
                "this role entry names no role (`role: NAME`)",
            ));
        }
        if self.name.contains("{{") {
            return Err(PlaybookError::at(
                &self.at,
                format!(
                    "role `{}` is read when the playbook loads, before variables have values: \
                     name the role",
                    self.name
                ),
            ));
        }
        Ok(self)
    }
}

/// A role's steps as one block: its dependencies' first, then its own
/// tasks (`tasks_from`, or `tasks/main.yml`), each knowing its role, under
/// what the call hands down; its defaults, vars and handlers join the
/// play's. `None` when the role already ran in this play with the same
/// parameters (unless its meta allows duplicates). `calling` holds the
/// roles whose dependencies are being read, to refuse a circle.
pub(super) fn role_block(
    call: RoleCall,
    loader: &mut Loader,
    calling: &mut Vec<PathBuf>,
) -> Result<Option<Block>, PlaybookError> {
    let path = loader.find_role(&call.name, &call.at)?;
    let folder = RoleFolder {
        name: call.name.clone(),
        path: path.clone(),
        vault: loader.vault.clone(),
    };
    if calling.contains(&path) {
        let mut circle: Vec<String> = calling
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        circle.push(call.name.clone());
        return Err(PlaybookError::at(
            &call.at,
            format!(
                "roles depend on each other in a circle: {}",
                circle.join(" -> ")
            ),
        ));
    }
    let meta = folder.meta()?;
    let ran = (
        path.clone(),
        format!(
            "{}|{}",
            serde_json::to_string(&call.params).unwrap_or_default(),
            call.files.tasks.as_deref().unwrap_or("main")
        ),
    );
    if !meta.allow_duplicates && loader.play_roles.ran.contains(&ran) {
        return Ok(None);
    }
    let first_time = !loader.play_roles.ran.iter().any(|(p, _)| *p == path);
    loader.play_roles.ran.push(ran.clone());
    let role = Arc::new(RoleRef {
        name: call.name.clone(),
        path: path.clone(),
    });
    let mut body = Vec::new();
    calling.push(path.clone());
    for dependency in &meta.dependencies {
        let dependency = RoleCall::entry(dependency)?;
        if let Some(block) = role_block(dependency, loader, calling)? {
            body.push(Step::Block(block));
        }
    }
    calling.pop();
    if first_time {
        let defaults = folder.vars("defaults", call.files.defaults.as_deref(), &call.at)?;
        let role_vars = folder.vars("vars", call.files.vars.as_deref(), &call.at)?;
        loader.play_roles.defaults.extend(defaults);
        loader.play_roles.vars.extend(role_vars);
    }
    // What only the role's own tasks and handlers see: its name, folder
    // and parameters.
    let own = HandedDown {
        vars: [
            ("role_name".to_string(), Json::String(role.name.clone())),
            (
                "role_path".to_string(),
                Json::String(path.display().to_string()),
            ),
            // Where the role's relative lookups look, as Ansible lists it.
            (
                "ansible_search_path".to_string(),
                serde_json::json!([
                    path.display().to_string(),
                    path.join("tasks").display().to_string()
                ]),
            ),
        ]
        .into_iter()
        .chain(call.params.iter().cloned())
        .collect(),
        ..HandedDown::default()
    };
    if let Some(file) = folder.chosen_file("tasks", call.files.tasks.as_deref(), &call.at)? {
        let mut steps =
            loader.read_role_tasks(&path, &file, &call.at, |loader, node| steps(node, loader))?;
        set_role(&mut steps, &role);
        own.hand_down(&mut steps);
        body.extend(steps);
    }
    if let Some(file) = folder.chosen_file("handlers", call.files.handlers.as_deref(), &call.at)? {
        let mut handlers = loader.read_role_tasks(&path, &file, &call.at, |loader, node| {
            handlers(node, loader)
        })?;
        for handler in &mut handlers {
            handler.role = Some(role.clone());
            if let Some(include) = &mut handler.include {
                set_include_role(Arc::make_mut(include), &role);
            }
            own.hand_to(handler);
            call.handed.hand_to(handler);
        }
        loader.play_roles.handlers.extend(handlers);
    }
    call.handed.hand_down(&mut body);
    Ok(Some(Block {
        name: Some(format!("role {}", call.name)),
        body,
        rescue: Vec::new(),
        always: Vec::new(),
        once: (!meta.allow_duplicates).then(|| Arc::from(format!("{}|{}", ran.0.display(), ran.1))),
        pos: call.at,
    }))
}

/// Marks every task in `steps` that is no other role's as `role`'s.
pub(super) fn set_role(steps: &mut [Step], role: &Arc<RoleRef>) {
    for step in steps {
        match step {
            Step::Include(include) => set_include_role(include, role),
            Step::Task(task) => {
                if task.role.is_none() {
                    task.role = Some(role.clone());
                }
                if let Some(include) = &mut task.include {
                    set_include_role(Arc::make_mut(include), role);
                }
            }
            Step::Block(block) => {
                for steps in [&mut block.body, &mut block.rescue, &mut block.always] {
                    set_role(steps, role);
                }
            }
        }
    }
}

/// Marks an include, and the tasks it read, as written in `role`.
fn set_include_role(include: &mut Include, role: &Arc<RoleRef>) {
    if include.role.is_none() {
        include.role = Some(role.clone());
    }
    if let Some(steps) = &mut include.steps {
        set_role(steps, role);
    }
}

/// A loop keyword's spec.
fn loop_spec(key: &Key, value: &Node) -> LoopSpec {
    LoopSpec {
        items: value.to_json(),
        kind: LoopKind::of(&key.name).unwrap_or(LoopKind::List),
    }
}

/// `loop_control:`: `loop_var`, `label`, `index_var`, `extended`, `pause`.
fn loop_control(value: &Node) -> Result<LoopControl, PlaybookError> {
    let mut control = LoopControl::default();
    for (k, v) in entries(value, "loop_control")? {
        match k.name.as_str() {
            // A template is rendered, and checked as a name, per host.
            "loop_var" => {
                control.loop_var = match string(v, "loop_var")? {
                    name if crate::playbook::template::Templates::is_template(&name) => name,
                    _ => identifier(v, "loop_var")?,
                }
            }
            "label" => control.label = Some(string(v, "label")?),
            "index_var" => control.index_var = Some(identifier(v, "index_var")?),
            "extended" => control.extended = boolean(v, "extended")?,
            "pause" => control.pause = Some(seconds(v, "pause")?),
            other => {
                return Err(PlaybookError::at(
                    &k.pos,
                    format!(
                        "unsupported loop_control `{other}` (supported: loop_var, label, \
                         index_var, extended, pause)"
                    ),
                ));
            }
        }
    }
    Ok(control)
}

/// A module's arguments as written after its name.
fn module_args(name: &str, value: &Node) -> Result<Args, PlaybookError> {
    Ok(match &value.value {
        Yaml::Null => Args::Map(Json::Object(Default::default())),
        Yaml::Map(_) => Args::Map(value.to_json()),
        Yaml::Str(s) => Args::Inline(s.clone()),
        Yaml::Bool(_) | Yaml::Int(_) | Yaml::Float(_) => {
            Args::Inline(value.to_json().to_string().trim_matches('"').to_string())
        }
        Yaml::Seq(_) => {
            return Err(value.error(format!(
                "the arguments of `{name}` must be a mapping or key=value text, not a list"
            )));
        }
    })
}

/// `action:` and `local_action:`: the module and its arguments, as
/// `MODULE key=value ...` or a mapping with `module:`.
fn action_form(keyword: &str, value: &Node) -> Result<(String, Args), PlaybookError> {
    match &value.value {
        Yaml::Str(text) => {
            let text = text.trim();
            // A module named by a template is the whole `{{ ... }}`.
            let (name, rest) = match text.strip_prefix("{{").and_then(|t| t.find("}}")) {
                Some(end) => text.split_at(end + 4),
                None => text.split_once(char::is_whitespace).unwrap_or((text, "")),
            };
            if name.is_empty() {
                return Err(value.error(format!("`{keyword}:` names no module")));
            }
            Ok((name.to_string(), Args::Inline(rest.trim().to_string())))
        }
        Yaml::Map(_) => {
            let Json::Object(mut map) = value.to_json() else {
                unreachable!("a mapping")
            };
            let Some(Json::String(name)) = map.remove("module") else {
                return Err(value.error(format!(
                    "`{keyword}:` as a mapping names its module with `module:`"
                )));
            };
            Ok((name, Args::Map(Json::Object(map))))
        }
        _ => Err(value.error(format!(
            "`{keyword}:` takes `MODULE key=value ...` or a mapping with `module:`"
        ))),
    }
}

/// A whole number of times (`retries:`).
fn count(value: &Node, what: &str) -> Result<u32, PlaybookError> {
    match &value.value {
        Yaml::Int(n) if (0..=10_000).contains(n) => Ok(*n as u32),
        Yaml::Str(s) if s.trim().parse::<u32>().is_ok_and(|n| n <= 10_000) => {
            Ok(s.trim().parse().unwrap_or_default())
        }
        _ => Err(value.error(format!("`{what}` takes a whole number from 0 to 10000"))),
    }
}

/// A whole number of seconds (`async:`, `poll:`), at most a week.
fn whole_seconds(value: &Node, what: &str) -> Result<u64, PlaybookError> {
    const WEEK: u64 = 7 * 24 * 3600;
    let n = match &value.value {
        Yaml::Int(n) => u64::try_from(*n).ok(),
        Yaml::Str(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.filter(|n| *n <= WEEK).ok_or_else(|| {
        value.error(format!(
            "`{what}` takes a whole number of seconds from 0 to {WEEK} (a week)"
        ))
    })
}

/// A number of seconds (`delay:`), at most an hour.
fn seconds(value: &Node, what: &str) -> Result<f64, PlaybookError> {
    let secs = match &value.value {
        Yaml::Int(n) => Some(*n as f64),
        Yaml::Float(f) => Some(*f),
        Yaml::Str(s) => s.trim().parse().ok(),
        _ => None,
    };
    secs.filter(|s| (0.0..=3600.0).contains(s))
        .ok_or_else(|| value.error(format!("`{what}` takes a number of seconds from 0 to 3600")))
}

fn task(node: &Node, handler: bool) -> Result<Task, PlaybookError> {
    let fields = entries(node, "a task")?;
    let mut module: Option<(&Key, &Node)> = None;
    let mut extra_args: Option<&Node> = None;
    let mut async_seconds: Option<(&Key, u64)> = None;
    let mut poll: Option<u64> = None;
    let mut task = Task::new(Module::Debug, "", start_of(node, fields));
    for (key, value) in fields {
        match key.name.as_str() {
            "name" => task.name = Some(string(value, "name")?),
            "when" => task.when = conditions(value)?,
            name if LoopKind::of(name).is_some() => task.loop_ = Some(loop_spec(key, value)),
            "loop_control" => task.loop_control = loop_control(value)?,
            "register" => task.register = Some(identifier(value, "register")?),
            "notify" => task.notify = strings(value, "notify")?,
            "listen" if handler => task.listen = strings(value, "listen")?,
            "tags" => task.tags = strings(value, "tags")?,
            "ignore_errors" => task.ignore_errors = Some(boolean(value, "ignore_errors")?),
            "any_errors_fatal" => {
                task.any_errors_fatal = Some(boolean(value, "any_errors_fatal")?);
            }
            "changed_when" => task.changed_when = Some(conditions(value)?),
            "failed_when" => task.failed_when = Some(conditions(value)?),
            "become" => task.become_ = Some(boolean(value, "become")?),
            "become_user" => task.become_user = Some(string(value, "become_user")?),
            "no_log" => task.no_log = Some(boolean(value, "no_log")?),
            "vars" => task.vars = vars(value)?,
            "args" => extra_args = Some(value),
            "run_once" => task.run_once = Some(switch(value, "run_once")?),
            "delegate_to" => task.delegate_to = Some(string(value, "delegate_to")?),
            "delegate_facts" => task.delegate_facts = Some(boolean(value, "delegate_facts")?),
            "until" => task.until = Some(conditions(value)?),
            "retries" => task.retries = Some(count(value, "retries")?),
            "delay" => task.delay = Some(seconds(value, "delay")?),
            "check_mode" => task.check_mode = Some(boolean(value, "check_mode")?),
            "diff" => task.diff = Some(boolean(value, "diff")?),
            "environment" => task.environment = vec![environment(value)?],
            "ignore_unreachable" => {
                task.ignore_unreachable = Some(boolean(value, "ignore_unreachable")?);
            }
            "throttle" => task.throttle = Some(throttle(value)?),
            "remote_user" => task.remote_user = Some(string(value, "remote_user")?),
            // 0 is no limit, as in Ansible.
            "timeout" => {
                task.timeout = Some(count(value, "timeout")?)
                    .filter(|t| *t > 0)
                    .map(u64::from)
            }
            "async" => async_seconds = Some((key, whole_seconds(value, "async")?)),
            "poll" => poll = Some(whole_seconds(value, "poll")?),
            "local_action" | "action" => {
                if let Some((first, _)) = module {
                    return Err(PlaybookError::at(
                        &key.pos,
                        format!(
                            "this task names a module twice, `{}` and `{}`; a task runs one",
                            first.name, key.name
                        ),
                    ));
                }
                if key.name == "local_action" {
                    task.delegate_to = Some("localhost".into());
                }
                module = Some((key, value));
            }
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
    let (name, args) = if matches!(key.name.as_str(), "local_action" | "action") {
        action_form(&key.name, value)?
    } else {
        (key.name.clone(), module_args(&key.name, value)?)
    };
    task.plugin_action = modules::plugin_module(&name);
    task.module = match &task.plugin_action {
        Some(_) => Some(Module::Plugin),
        None if name.contains("{{") => Some(Module::Templated),
        None => modules::resolve(&name),
    }
    .ok_or_else(|| {
        let hint = modules::nearest(&name)
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        PlaybookError::at(
            &key.pos,
            format!(
                "unknown module `{name}`{hint}; Capstan runs: {}, and any installed plugin's \
                 action as `capstan.PLUGIN.ACTION`",
                modules::NAMES.join(", ")
            ),
        )
    })?;
    task.module_written = name;
    if task.module == Module::Meta {
        let written = match &args {
            Args::Inline(text) => text.clone(),
            Args::Map(map) => map
                .get("_raw_params")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string(),
        };
        task.meta = Some(MetaAction::parse(&written).ok_or_else(|| {
            value.error(format!(
                "meta `{written}` is not supported; Capstan runs: {}",
                MetaAction::NAMES.join(", ")
            ))
        })?);
    }
    task.args = args;
    if let Some((key, seconds)) = async_seconds.filter(|(_, s)| *s > 0) {
        // Ansible polls every 15 s unless told.
        let poll = poll.unwrap_or(15);
        if poll == 0 && !matches!(task.module, Module::Command | Module::Shell) {
            return Err(PlaybookError::at(
                &key.pos,
                format!(
                    "`async` with `poll: 0` (run in the background) works for command and \
                     shell; `{}` cannot run in the background yet",
                    task.module_written
                ),
            ));
        }
        task.async_ = Some(Async { seconds, poll });
    }

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
                // `action: MODULE` with its options all under `args:`.
                if !text.trim().is_empty() {
                    map.insert("_raw_params".into(), Json::String(text));
                }
                Args::Map(Json::Object(map))
            }
            other => other,
        };
    }
    if let Some(reserved) = reserved_argument(&task) {
        return Err(PlaybookError::at(
            &key.pos,
            format!(
                "Invalid parameter specified beginning with keyword '_ansible_' for action \
                 '{}': '{reserved}'. The prefix '_ansible_' is reserved for internal use only.",
                task.module_written
            ),
        ));
    }
    Ok(task)
}

/// An argument named `_ansible_...`, which only Ansible itself may pass to
/// a module (a command line's words are not arguments): Ansible refuses it
/// as the task is read, and so does Capstan.
fn reserved_argument(task: &Task) -> Option<&str> {
    if task.module.free_form() {
        return None;
    }
    let Args::Map(Json::Object(map)) = &task.args else {
        return None;
    };
    map.keys()
        .find(|name| name.starts_with("_ansible_"))
        .map(String::as_str)
}
