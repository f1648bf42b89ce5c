//! Executes a playbook: plays in order, each task on all of its hosts at
//! once, handlers at the end of each play, every host's result recorded
//! as the task finishes.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value as Json, json};

use super::PlaybookOptions;
use super::actions::{assert_params, copy_params, debug_params, template_params};
use super::context::{RunContext, RunHost};
use super::model::{Args, Play, Playbook, Task};
use super::modules::{self, Module};
use super::report::{PlaybookEvent, Recap, TaskOutcome};
use super::template::{Origin, Scope, Templates};
use crate::capability::log::LogSink;
use crate::fan_out::{Finished, fan_out};
use crate::jobs::runner::MAX_PARALLEL_TARGETS;
use crate::jobs::{FailureKind, LogLevel, LogLine, ResultStatus};
use crate::plugin::{CallContext, PluginOutcome};
use crate::remote::Become;
use crate::target::Target;

/// One host's state through the run.
struct HostState {
    name: String,
    target: Target,
    inventory: Map<String, Json>,
    facts: Map<String, Json>,
    play_vars: Map<String, Json>,
    /// `register:` and `set_fact:` results.
    set: Map<String, Json>,
    /// The current play's hosts (after `--limit`): what its tasks may reach.
    play_hosts: Arc<Vec<String>>,
    notified: Vec<String>,
    failed: bool,
    unreachable: bool,
    recap: Recap,
}

impl HostState {
    fn active(&self) -> bool {
        !self.failed && !self.unreachable
    }

    /// Variables in Ansible's order of strength: inventory, facts, play
    /// vars, task vars, registered and set facts, extra vars. What the
    /// user wrote may hold templates; facts and results are data.
    fn scope(&self, task_vars: &Map<String, Json>, extra: &Map<String, Json>) -> Scope {
        Scope::layered([
            (&self.inventory, Origin::Written),
            (&self.facts, Origin::Data),
            (&self.play_vars, Origin::Written),
            (task_vars, Origin::Written),
            (&self.set, Origin::Data),
            (extra, Origin::Written),
        ])
    }
}

/// The result of one loop item (or of the task, without a loop).
struct ItemResult {
    status: ResultStatus,
    summary: String,
    diff: Option<String>,
    /// As `register:` stores it.
    result: Map<String, Json>,
    unreachable: bool,
}

impl ItemResult {
    fn failed(message: String) -> ItemResult {
        let mut result = Map::new();
        result.insert("failed".into(), Json::Bool(true));
        result.insert("changed".into(), Json::Bool(false));
        result.insert("msg".into(), Json::String(message.clone()));
        ItemResult {
            status: ResultStatus::Failed,
            summary: message,
            diff: None,
            result,
            unreachable: false,
        }
    }

    fn skipped(reason: String) -> ItemResult {
        let mut result = Map::new();
        result.insert("changed".into(), Json::Bool(false));
        result.insert("skipped".into(), Json::Bool(true));
        result.insert("skip_reason".into(), Json::String(reason.clone()));
        ItemResult {
            status: ResultStatus::Skipped,
            summary: reason,
            diff: None,
            result,
            unreachable: false,
        }
    }
}

/// Runs every play of `playbook` over `hosts` and returns the recap, and
/// why the run stopped early if it did: a play whose `hosts:` cannot be
/// rendered or matched stops it there, as in Ansible.
pub(crate) async fn run_playbook(
    ctx: Arc<RunContext>,
    playbook: &Playbook,
    hosts: Vec<RunHost>,
) -> (Vec<Recap>, Option<String>) {
    let mut states: Vec<Option<HostState>> = hosts
        .into_iter()
        .map(|h| {
            Some(HostState {
                recap: Recap {
                    host: h.name.clone(),
                    ..Recap::default()
                },
                name: h.name,
                target: h.target,
                inventory: h.vars,
                facts: Map::new(),
                play_vars: Map::new(),
                set: Map::new(),
                play_hosts: Arc::default(),
                notified: Vec::new(),
                failed: false,
                unreachable: false,
            })
        })
        .collect();
    let mut stopped = None;
    for play in &playbook.plays {
        let (chosen, warning) = match play_hosts(play, &ctx, &states) {
            Ok(chosen) => (chosen, None),
            Err(PlayHostsError::Unmatched(message)) => {
                let warning = format!("{}: play `{}`: {message}; skipping it", play.pos, play.name);
                ctx.logs.line(LogLine {
                    target: String::new(),
                    level: LogLevel::Warn,
                    message: warning.clone(),
                    fields: Vec::new(),
                    at_ms: crate::store::now_ms(),
                });
                (Vec::new(), Some(warning))
            }
            Err(PlayHostsError::Unrendered(message)) => {
                stopped = Some(format!(
                    "{}: play `{}`: hosts: {message}",
                    play.pos, play.name
                ));
                break;
            }
        };
        let names: Vec<String> = chosen
            .iter()
            .filter_map(|i| states[*i].as_ref().map(|s| s.name.clone()))
            .collect();
        (ctx.events)(&PlaybookEvent::Play {
            name: play.name.clone(),
            hosts: names.clone(),
            warning,
        });
        if chosen.is_empty() {
            continue;
        }
        let play_hosts = Arc::new(names.clone());
        for i in &chosen {
            if let Some(state) = states[*i].as_mut() {
                state.play_hosts = play_hosts.clone();
                state.play_vars.clear();
                state.notified.clear();
                state
                    .play_vars
                    .insert("ansible_play_hosts".into(), json!(names));
                state.play_vars.insert("play_hosts".into(), json!(names));
            }
        }
        run_play(&ctx, play, &mut states, &chosen).await;
    }
    for state in states.iter().flatten() {
        state.target.close().await;
    }
    let recap = states.into_iter().flatten().map(|s| s.recap).collect();
    (recap, stopped)
}

/// Why a play has no hosts to run on.
enum PlayHostsError {
    /// Its `hosts:` could not be rendered: the run stops, as in Ansible.
    Unrendered(String),
    /// Its pattern names nothing in the inventory: the play is skipped
    /// with a warning, as in Ansible.
    Unmatched(String),
}

/// The indexes of the live hosts a play runs on (its pattern, `--limit`).
fn play_hosts(
    play: &Play,
    ctx: &RunContext,
    states: &[Option<HostState>],
) -> Result<Vec<usize>, PlayHostsError> {
    let inventory = &ctx.inventory;
    let pattern = ctx
        .templates
        .render_text(
            &play.hosts,
            &Scope::layered([(&ctx.options.extra_vars, Origin::Written)]),
        )
        .map_err(PlayHostsError::Unrendered)?;
    let mut chosen: Vec<String> = crate::inventory::pattern::select(&pattern, inventory)
        .map_err(PlayHostsError::Unmatched)?
        .into_iter()
        .map(|h| h.name.clone())
        .collect();
    if let Some(limit) = &ctx.options.limit {
        let allowed: Vec<String> = crate::inventory::pattern::select(limit, inventory)
            .map_err(PlayHostsError::Unmatched)?
            .into_iter()
            .map(|h| h.name.clone())
            .collect();
        chosen.retain(|n| allowed.contains(n));
    }
    Ok(states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            s.as_ref()
                .filter(|s| s.active() && chosen.contains(&s.name))
                .map(|_| i)
        })
        .collect())
}

async fn run_play(
    ctx: &Arc<RunContext>,
    play: &Play,
    states: &mut [Option<HostState>],
    chosen: &[usize],
) {
    let play = Arc::new(play.clone());
    if play.gather_facts {
        let setup = Arc::new(Task {
            name: Some("Gathering Facts".into()),
            tags: vec!["always".into()],
            become_: Some(false),
            ..Task::new(Module::Setup, "setup", play.pos.clone())
        });
        run_task_on_hosts(ctx, &play, &setup, states, chosen, false).await;
    }
    // Play vars and vars files, rendered per host once facts are known.
    for i in chosen {
        let Some(state) = states[*i].as_mut() else {
            continue;
        };
        if !state.active() {
            continue;
        }
        if let Err(message) = load_play_vars(ctx, &play, state) {
            fail_host_setup(ctx, &play, state, message);
        }
    }
    for task in &play.tasks {
        if !selected_by_tags(task, &play.tags, &ctx.options) {
            continue;
        }
        let task = Arc::new(task.clone());
        if !run_task_on_hosts(ctx, &play, &task, states, chosen, false).await {
            break;
        }
    }
    for handler in &play.handlers {
        let topics: Vec<&String> = handler.name.iter().chain(handler.listen.iter()).collect();
        let notified: Vec<usize> = chosen
            .iter()
            .copied()
            .filter(|i| {
                states[*i]
                    .as_ref()
                    .is_some_and(|s| s.active() && s.notified.iter().any(|n| topics.contains(&n)))
            })
            .collect();
        if notified.is_empty() {
            continue;
        }
        let handler = Arc::new(handler.clone());
        run_task_on_hosts(ctx, &play, &handler, states, &notified, true).await;
    }
}

fn fail_host_setup(ctx: &RunContext, play: &Play, state: &mut HostState, message: String) {
    state.failed = true;
    state.recap.failed += 1;
    let outcome = TaskOutcome {
        host: state.name.clone(),
        play: play.name.clone(),
        task: "play vars".into(),
        module: "vars".into(),
        status: ResultStatus::Failed,
        ignored: false,
        summary: message.clone(),
        diff: None,
        result: json!({"failed": true, "msg": message}),
        duration_ms: 0,
    };
    save_outcomes(ctx, std::slice::from_ref(&outcome));
    (ctx.events)(&PlaybookEvent::HostDone(outcome));
}

fn load_play_vars(ctx: &RunContext, play: &Play, state: &mut HostState) -> Result<(), String> {
    let mut vars: Vec<(String, Json)> = play.vars.clone();
    for (file, pos) in &play.vars_files {
        let scope = state.scope(&Map::new(), &ctx.options.extra_vars);
        let name = ctx
            .templates
            .render_text(file, &scope)
            .map_err(|e| format!("{pos}: vars_files: {e}"))?;
        let path = ctx.dir.join(&name);
        let text = crate::yaml::read_file(&path, "vars file").map_err(|e| format!("{pos}: {e}"))?;
        let node = crate::yaml::parse(
            &path.display().to_string(),
            &text,
            crate::yaml::TopLevel::Mapping,
        )
        .map_err(|e| e.to_string())?;
        vars.extend(super::model::vars(&node).map_err(|e| e.to_string())?);
    }
    // Kept as written: each is rendered when a task uses it, as Ansible's
    // lazy variables are, so one may use a result registered later.
    state.play_vars.extend(vars);
    Ok(())
}

/// Ansible's tag rules: `--tags` keeps tasks with a listed tag (or
/// `always`); `--skip-tags` drops tasks with a listed tag; `never` runs
/// only when asked for by name.
fn selected_by_tags(task: &Task, play_tags: &[String], options: &PlaybookOptions) -> bool {
    let tags: Vec<&String> = task.tags.iter().chain(play_tags).collect();
    let has = |t: &str| tags.iter().any(|x| x.as_str() == t);
    if options.skip_tags.iter().any(|t| has(t)) {
        return false;
    }
    if options.tags.is_empty() || options.tags.iter().any(|t| t == "all") {
        return !has("never");
    }
    has("always") || options.tags.iter().any(|t| has(t))
}

/// Runs one task on the given hosts at once; false when no host is left.
async fn run_task_on_hosts(
    ctx: &Arc<RunContext>,
    play: &Arc<Play>,
    task: &Arc<Task>,
    states: &mut [Option<HostState>],
    chosen: &[usize],
    handler: bool,
) -> bool {
    let active: Vec<usize> = chosen
        .iter()
        .copied()
        .filter(|i| states[*i].as_ref().is_some_and(HostState::active))
        .collect();
    if active.is_empty() {
        return false;
    }
    let display = {
        let first = states[active[0]].as_ref().expect("active host");
        let name = task.display_name();
        if Templates::is_template(&name) {
            let scope = first.scope(&Map::new(), &ctx.options.extra_vars);
            ctx.templates.render_text(&name, &scope).unwrap_or(name)
        } else {
            name
        }
    };
    // The task's name as shown, stored and sent on with each outcome.
    let display = ctx.secrets.mask(&display);
    (ctx.events)(&PlaybookEvent::Task {
        name: display.clone(),
        handler,
        hosts: active.len(),
    });
    // (The span macro has a `display` of its own: name the text otherwise.)
    let task_name = display.as_str();
    let task_span = tracing::debug_span!("task", name = %task_name, hosts = active.len());
    let work: Vec<_> = active
        .iter()
        .map(|&i| {
            let state = states[i].take().expect("active host");
            let (ctx, play, task, display) =
                (ctx.clone(), play.clone(), task.clone(), display.clone());
            let host_span = tracing::debug_span!(parent: &task_span, "host", name = %state.name);
            tracing::Instrument::instrument(
                async move {
                    let (state, outcome) = run_task(&ctx, &play, &task, display, state).await;
                    tracing::debug!(status = %outcome.status, "task done");
                    (ctx.events)(&PlaybookEvent::HostDone(outcome.clone()));
                    (state, outcome)
                },
                host_span,
            )
        })
        .collect();
    let mut outcomes: Vec<TaskOutcome> = Vec::with_capacity(active.len());
    for (&i, ended) in active
        .iter()
        .zip(fan_out(work, MAX_PARALLEL_TARGETS, &ctx.cancel).await)
    {
        match ended {
            Finished::Done((state, outcome)) => {
                states[i] = Some(state);
                outcomes.push(outcome);
            }
            // A cancelled or lost host leaves the run.
            Finished::Cancelled => {}
            Finished::Panicked(why) => tracing::error!(panic = %why, "a host's task panicked"),
        }
    }
    save_outcomes(ctx, &outcomes);
    active
        .iter()
        .any(|i| states[*i].as_ref().is_some_and(HostState::active))
}

fn save_outcomes(ctx: &RunContext, outcomes: &[TaskOutcome]) {
    if let Err(e) = ctx.store.save_task_outcomes(ctx.job_id, outcomes) {
        tracing::error!(job = ctx.job_id, error = %e, "could not save task results");
    }
}

/// Runs `task` on one host: conditions, loop, module, register, notify.
async fn run_task(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    display: String,
    mut state: HostState,
) -> (HostState, TaskOutcome) {
    let started = Instant::now();
    // Task vars are written templates too, rendered when used (so they may
    // use the loop's item).
    let task_vars: Map<String, Json> = task.vars.iter().cloned().collect();
    let scope = state.scope(&task_vars, &ctx.options.extra_vars);
    let result = match loop_items(ctx, task, &scope) {
        Err(e) => vec![(None, ItemResult::failed(located(task, &e)))],
        Ok(None) => vec![(None, run_item(ctx, play, task, &scope, &mut state).await)],
        Ok(Some(items)) => {
            let mut results = Vec::with_capacity(items.len());
            for item in items {
                let scope = state
                    .scope(&task_vars, &ctx.options.extra_vars)
                    .with(&task.loop_var, item.clone());
                let mut result = run_item(ctx, play, task, &scope, &mut state).await;
                result.result.insert(task.loop_var.clone(), item.clone());
                result.result.insert(
                    "ansible_loop_var".into(),
                    Json::String(task.loop_var.clone()),
                );
                let unreachable = result.unreachable;
                // `loop_control.label` names the item in the summary.
                let label = match &task.loop_label {
                    Some(label) => ctx
                        .templates
                        .render_value(label, &scope)
                        .unwrap_or_else(|_| Json::String(label.clone())),
                    None => item,
                };
                results.push((Some(label), result));
                if unreachable {
                    break;
                }
            }
            results
        }
    };
    let looped = task.loop_.is_some();
    let outcome = combine(looped, result);
    let (status, summary, diff, registered, unreachable) = outcome;
    if let Some(name) = &task.register {
        state
            .set
            .insert(name.clone(), Json::Object(registered.clone()));
    }
    let mut ignored = false;
    match status {
        ResultStatus::Unreachable => {
            state.unreachable = true;
            state.recap.unreachable = 1;
        }
        ResultStatus::Failed if task.ignore_errors && !unreachable => {
            // Ansible counts an ignored failure as ok (and changed, when
            // the module changed something) besides `ignored`.
            ignored = true;
            state.recap.ignored += 1;
            state.recap.ok += 1;
            if registered.get("changed") == Some(&Json::Bool(true)) {
                state.recap.changed += 1;
            }
        }
        ResultStatus::Failed => {
            state.failed = true;
            state.recap.failed += 1;
        }
        ResultStatus::Skipped => state.recap.skipped += 1,
        ResultStatus::Changed => {
            state.recap.ok += 1;
            state.recap.changed += 1;
            for name in &task.notify {
                if !state.notified.contains(name) {
                    state.notified.push(name.clone());
                }
            }
        }
        ResultStatus::Ok => state.recap.ok += 1,
    }
    let (summary, diff, result) = if hides_output(play, task) {
        (CENSORED.to_string(), None, censored(&registered))
    } else {
        (summary, diff, Json::Object(registered))
    };
    let secrets = &ctx.secrets;
    let outcome = TaskOutcome {
        host: state.name.clone(),
        play: play.name.clone(),
        task: display,
        module: task.module_written.clone(),
        status,
        ignored,
        summary: secrets.mask(&summary),
        diff: diff.map(|d| secrets.mask(&d)),
        result: secrets.mask_json(&result),
        duration_ms: started.elapsed().as_millis() as u64,
    };
    (state, outcome)
}

/// What a `no_log` task shows instead of its result (Ansible's words).
const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// Whether `no_log` holds for this task (its own, or its play's).
fn hides_output(play: &Play, task: &Task) -> bool {
    task.no_log.or(play.no_log).unwrap_or(false)
}

/// A `no_log` task's result as stored and shown: whether it changed or
/// failed, and nothing of what it said.
fn censored(registered: &Map<String, Json>) -> Json {
    let mut result = Map::new();
    result.insert("censored".into(), Json::String(CENSORED.into()));
    for flag in ["changed", "failed", "skipped"] {
        if let Some(value) = registered.get(flag) {
            result.insert(flag.into(), value.clone());
        }
    }
    Json::Object(result)
}

/// The error text with the task's name and place.
fn located(task: &Task, message: &str) -> String {
    format!("{message} (task `{}` at {})", task.display_name(), task.pos)
}

fn loop_items(ctx: &RunContext, task: &Task, scope: &Scope) -> Result<Option<Vec<Json>>, String> {
    let Some(spec) = &task.loop_ else {
        return Ok(None);
    };
    let rendered = ctx.templates.render_json(&spec.items, scope)?;
    let items = match rendered {
        Json::Array(items) => items,
        Json::Null => Vec::new(),
        Json::String(s) if spec.flatten => vec![Json::String(s)],
        other => {
            return Err(format!(
                "the loop needs a list, but it gave {}",
                match other {
                    Json::Object(_) => "a mapping".to_string(),
                    other => format!("`{other}`"),
                }
            ));
        }
    };
    Ok(Some(if spec.flatten {
        items
            .into_iter()
            .flat_map(|i| match i {
                Json::Array(inner) => inner,
                other => vec![other],
            })
            .collect()
    } else {
        items
    }))
}

/// Folds item results into the task's status, summary, diff and
/// registered value.
fn combine(
    looped: bool,
    mut results: Vec<(Option<Json>, ItemResult)>,
) -> (
    ResultStatus,
    String,
    Option<String>,
    Map<String, Json>,
    bool,
) {
    if !looped {
        let (_, r) = results.pop().expect("one result without a loop");
        let status = if r.unreachable {
            ResultStatus::Unreachable
        } else {
            r.status
        };
        return (status, r.summary, r.diff, r.result, r.unreachable);
    }
    let unreachable = results.iter().any(|(_, r)| r.unreachable);
    let failed = results
        .iter()
        .any(|(_, r)| r.status == ResultStatus::Failed);
    let changed = results
        .iter()
        .any(|(_, r)| r.status == ResultStatus::Changed);
    let all_skipped = results
        .iter()
        .all(|(_, r)| r.status == ResultStatus::Skipped);
    let status = if unreachable {
        ResultStatus::Unreachable
    } else if failed {
        ResultStatus::Failed
    } else if all_skipped {
        ResultStatus::Skipped
    } else if changed {
        ResultStatus::Changed
    } else {
        ResultStatus::Ok
    };
    let label = |item: &Option<Json>| match item {
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let summary = match results
        .iter()
        .find(|(_, r)| r.status == ResultStatus::Failed || r.unreachable)
    {
        Some((item, r)) => format!("item {}: {}", label(item), r.summary),
        None if results.is_empty() => "no items".to_string(),
        None => format!(
            "{} items: {}",
            results.len(),
            results
                .iter()
                .map(|(item, r)| format!("{} {}", label(item), r.status.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let diffs: Vec<String> = results.iter().filter_map(|(_, r)| r.diff.clone()).collect();
    let mut registered = Map::new();
    registered.insert("changed".into(), Json::Bool(changed));
    registered.insert("failed".into(), Json::Bool(failed));
    if all_skipped {
        registered.insert("skipped".into(), Json::Bool(true));
    }
    registered.insert(
        "msg".into(),
        Json::String(if failed {
            "One or more items failed".into()
        } else {
            "All items completed".into()
        }),
    );
    registered.insert(
        "results".into(),
        Json::Array(
            results
                .into_iter()
                .map(|(_, r)| Json::Object(r.result))
                .collect(),
        ),
    );
    (
        status,
        summary,
        (!diffs.is_empty()).then(|| diffs.join("\n")),
        registered,
        unreachable,
    )
}

/// One pass of a task: `when`, the module, `failed_when`/`changed_when`.
async fn run_item(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    scope: &Scope,
    state: &mut HostState,
) -> ItemResult {
    for condition in &task.when {
        match ctx.templates.condition(condition, scope) {
            Ok(true) => {}
            Ok(false) => {
                let mut skipped = ItemResult::skipped(format!("condition was false: {condition}"));
                skipped
                    .result
                    .insert("false_condition".into(), Json::String(condition.clone()));
                return skipped;
            }
            Err(e) => {
                return ItemResult::failed(located(task, &format!("when `{condition}`: {e}")));
            }
        }
    }
    let mut result = match run_module(ctx, play, task, scope, state).await {
        Ok(result) => result,
        Err(message) => ItemResult::failed(located(task, &message)),
    };
    if result.unreachable || result.status == ResultStatus::Skipped {
        return result;
    }
    let judged = match &task.register {
        Some(name) => scope.with(name, Json::Object(result.result.clone())),
        None => scope.with("__result", Json::Null),
    };
    if let Some(conditions) = &task.failed_when {
        match all_true(ctx, conditions, &judged) {
            Ok(failed) => {
                result.status = match (failed, result.status) {
                    (true, _) => ResultStatus::Failed,
                    (false, ResultStatus::Failed) => {
                        if result.result.get("changed") == Some(&Json::Bool(true)) {
                            ResultStatus::Changed
                        } else {
                            ResultStatus::Ok
                        }
                    }
                    (false, other) => other,
                };
                result.result.insert("failed".into(), Json::Bool(failed));
                if failed && !result.result.contains_key("msg") {
                    result
                        .result
                        .insert("msg".into(), Json::String("failed_when was true".into()));
                }
            }
            Err(e) => return ItemResult::failed(located(task, &format!("failed_when: {e}"))),
        }
    }
    if let Some(conditions) = &task.changed_when {
        match all_true(ctx, conditions, &judged) {
            Ok(changed) => {
                if result.status != ResultStatus::Failed {
                    result.status = if changed {
                        ResultStatus::Changed
                    } else {
                        ResultStatus::Ok
                    };
                }
                result.result.insert("changed".into(), Json::Bool(changed));
            }
            Err(e) => return ItemResult::failed(located(task, &format!("changed_when: {e}"))),
        }
    }
    result
}

fn all_true(ctx: &RunContext, conditions: &[String], scope: &Scope) -> Result<bool, String> {
    for condition in conditions {
        if !ctx
            .templates
            .condition(condition, scope)
            .map_err(|e| format!("`{condition}`: {e}"))?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Templates the task's arguments and runs its module.
async fn run_module(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    scope: &Scope,
    state: &mut HostState,
) -> Result<ItemResult, String> {
    let (inline, map) = match &task.args {
        Args::Inline(text) => (Some(text.as_str()), None),
        Args::Map(map) => (None, Some(map)),
    };
    let raw = modules::params(task.module, inline, map)?;
    let mut params = match task.module {
        // `when`-style expressions are evaluated, not templated.
        Module::Assert => raw,
        Module::Debug if raw.get("var").is_some() => raw,
        _ => ctx.templates.render_json(&raw, scope)?,
    };
    match task.module {
        Module::SetFact => return Ok(set_fact(params, state)),
        Module::Debug => params = debug_params(ctx, params, scope)?,
        Module::Assert => params = assert_params(ctx, params, scope)?,
        Module::Template => params = template_params(ctx, params, scope)?,
        Module::Copy => params = copy_params(ctx, params)?,
        _ => {}
    }
    let (plugin_name, action) = task.plugin_action().expect("only set_fact has no plugin");
    let plugin = ctx
        .plugins
        .get(plugin_name)
        .ok_or_else(|| format!("plugin `{plugin_name}` is not loaded"))?;
    let Some(schema) = plugin.schemas.get(action) else {
        return Err(format!(
            "{}: plugin `{plugin_name}` has no action `{action}`",
            task.module_written
        ));
    };
    crate::plugin::coerce_params(schema, &mut params);
    crate::plugin::validate_params(schema, &params)
        .map_err(|e| format!("{}: {e}", task.module_written))?;
    let mut target = state.target.clone();
    if task.become_.or(play.become_).unwrap_or(false) {
        target.become_user = Some(Become {
            user: task
                .become_user
                .clone()
                .or_else(|| play.become_user.clone())
                .unwrap_or_else(|| "root".into()),
            password_env: ctx.options.become_password_env.clone(),
        });
    }
    let mut setup = plugin.setup.clone();
    let manager = (task.module == Module::DockerSwarm)
        .then(|| params.get("manager").and_then(Json::as_str))
        .flatten();
    setup.targets = Arc::new(task_reach(&ctx.targets, target, &state.play_hosts, manager));
    // A `no_log` task's plugin lines are neither stored nor shown.
    setup.log_sink = if hides_output(play, task) {
        Arc::new(crate::capability::log::DiscardLogs)
    } else {
        ctx.secrets.masking(ctx.logs.clone())
    };
    let context = CallContext {
        target: state.name.clone(),
        targets: setup.targets.iter().map(|t| t.name.clone()).collect(),
        check: ctx.options.check,
        diff: ctx.options.diff,
    };
    let outcome = ctx
        .host
        .run(
            &plugin.loaded,
            &setup,
            action,
            &params.to_string(),
            &context,
        )
        .await;
    let result = item_result(outcome);
    if task.module == Module::Setup && result.status != ResultStatus::Failed {
        absorb_facts(state, &result.result);
    }
    Ok(result)
}

/// The targets a task's plugin may reach: its own host first, then the
/// play's other hosts, and for a swarm join exactly the manager it names.
/// Never the rest of the inventory.
fn task_reach(
    all: &[Target],
    own: Target,
    play_hosts: &[String],
    manager: Option<&str>,
) -> Vec<Target> {
    let others = all.iter().filter(|t| {
        t.name != own.name && (play_hosts.contains(&t.name) || manager == Some(t.name.as_str()))
    });
    let others: Vec<Target> = others.cloned().collect();
    std::iter::once(own).chain(others).collect()
}

fn item_result(
    outcome: std::result::Result<PluginOutcome, crate::plugin::CallFailure>,
) -> ItemResult {
    match outcome {
        Ok(outcome) => {
            let mut result = match outcome.data.as_deref().map(serde_json::from_str::<Json>) {
                Some(Ok(Json::Object(map))) => map,
                Some(Ok(other)) => {
                    let mut map = Map::new();
                    map.insert("data".into(), other);
                    map
                }
                _ => Map::new(),
            };
            // A plugin may say it changed something even though it failed
            // (a command that ran and exited non-zero).
            let changed = outcome.status == ResultStatus::Changed
                || (outcome.status == ResultStatus::Failed
                    && result.get("changed") == Some(&Json::Bool(true)));
            result.insert("changed".into(), Json::Bool(changed));
            result.insert(
                "failed".into(),
                Json::Bool(outcome.status == ResultStatus::Failed),
            );
            if outcome.status == ResultStatus::Skipped {
                result.insert("skipped".into(), Json::Bool(true));
            }
            if !result.contains_key("msg") {
                result.insert("msg".into(), Json::String(outcome.summary.clone()));
            }
            if let Some(diff) = &outcome.diff {
                result.insert("diff".into(), Json::String(diff.clone()));
            }
            ItemResult {
                status: outcome.status,
                summary: outcome.summary,
                diff: outcome.diff,
                result,
                unreachable: false,
            }
        }
        Err(failure) => {
            let unreachable = failure.kind == FailureKind::Unreachable;
            let mut item = ItemResult::failed(failure.message);
            if unreachable {
                item.unreachable = true;
                item.status = ResultStatus::Unreachable;
                item.result.insert("unreachable".into(), Json::Bool(true));
            }
            item
        }
    }
}

fn absorb_facts(state: &mut HostState, result: &Map<String, Json>) {
    let Some(Json::Object(facts)) = result.get("ansible_facts") else {
        return;
    };
    let mut short = Map::new();
    for (key, value) in facts {
        state.facts.insert(key.clone(), value.clone());
        short.insert(
            key.strip_prefix("ansible_").unwrap_or(key).to_string(),
            value.clone(),
        );
    }
    state
        .facts
        .insert("ansible_facts".into(), Json::Object(short));
}

fn set_fact(params: Json, state: &mut HostState) -> ItemResult {
    let mut facts = match params {
        Json::Object(map) => map,
        _ => Map::new(),
    };
    facts.remove("cacheable");
    let names: Vec<String> = facts.keys().cloned().collect();
    for (k, v) in &facts {
        state.set.insert(k.clone(), v.clone());
    }
    let mut result = Map::new();
    result.insert("ansible_facts".into(), Json::Object(facts));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_reaches_its_play_hosts_and_a_named_manager_only() {
        let all: Vec<Target> = ["web-1", "web-2", "db-prod-1", "mgr"]
            .into_iter()
            .map(Target::local_named)
            .collect();
        let names =
            |targets: Vec<Target>| -> Vec<String> { targets.into_iter().map(|t| t.name).collect() };
        let play = vec!["web-1".to_string(), "web-2".to_string()];
        assert_eq!(
            names(task_reach(&all, all[0].clone(), &play, None)),
            ["web-1", "web-2"]
        );
        // `--limit web-1` leaves the play one host.
        assert_eq!(
            names(task_reach(&all, all[0].clone(), &play[..1], None)),
            ["web-1"]
        );
        assert_eq!(
            names(task_reach(&all, all[1].clone(), &play, Some("mgr"))),
            ["web-2", "web-1", "mgr"]
        );
    }
}
