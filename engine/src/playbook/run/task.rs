//! One task on one host: its loop, each item's conditions, the module's
//! plugin call within the task's reach, `failed_when`/`changed_when`, and
//! the outcome as stored and shown.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value as Json};

use super::controller_modules;
use super::host_state::{DelegatedFacts, HostState};
use super::loops::{item_vars, items_as_written, items_of, loop_var_name, text_of, with_item};
use super::results::{CENSORED, ItemResult, censored, hides_output};
use crate::jobs::ResultStatus;
use crate::playbook::actions::{
    assert_params, copy_params, debug_params, include_vars, script_params, template_params,
    unarchive_params,
};
use crate::playbook::context::RunContext;
use crate::playbook::model::{Args, Play, Task};
use crate::playbook::modules::{self, Module};
use crate::playbook::report::TaskOutcome;
use crate::playbook::task_error::TaskError;
use crate::playbook::template::{Scope, Templates};
use capstan_plugin_host::param_error::{ParamError, ParamProblem};
use capstan_plugin_host::plugin::CallContext;
use capstan_plugin_host::target::Target;

/// Runs `task` on one host: conditions, loop, module, register, notify.
/// `display` is the task's name as shown.
pub(super) async fn run_task(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    display: String,
    state: HostState,
) -> (HostState, TaskOutcome) {
    if task.module == Module::Templated {
        let resolved = resolve_templated(ctx, task, &state);
        return run_resolved(ctx, play, &resolved, display, state).await;
    }
    run_resolved(ctx, play, task, display, state).await
}

/// A task whose module is named by a template, with the module its
/// rendering names on this host; one that names none (or cannot be
/// rendered) becomes a `fail` saying so, which its `when:` may still skip.
fn resolve_templated(ctx: &RunContext, task: &Task, state: &HostState) -> Task {
    let task_vars: Map<String, Json> = task.vars.iter().cloned().collect();
    let scope = state.scope_in(
        task.role_scope.as_deref(),
        &task_vars,
        &ctx.options.extra_vars,
    );
    let rendered = ctx.templates.render_value(&task.module_written, &scope);
    let mut resolved = task.clone();
    let problem = match rendered {
        Ok(Json::String(name)) => match crate::playbook::modules::resolve(name.trim()) {
            Some(Module::Meta | Module::Templated) | None => {
                format!(
                    "the module name renders to `{}`, which Capstan does not run here",
                    name.trim()
                )
            }
            Some(module) => {
                resolved.module = module;
                resolved.module_written = name.trim().to_string();
                return resolved;
            }
        },
        Ok(other) => format!("the module name renders to {other}, not a module's name"),
        Err(e) => format!("the module name cannot be rendered: {e}"),
    };
    resolved.module = Module::Fail;
    // The message is data: written as `!unsafe`, it renders to itself.
    resolved.args = Args::Map(serde_json::json!({ "msg": capstan_yaml::unsafe_text(&problem) }));
    resolved
}

/// Runs a task whose module is known.
async fn run_resolved(
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
    let scope = state.scope_in(
        task.role_scope.as_deref(),
        &task_vars,
        &ctx.options.extra_vars,
    );
    let looped = loop_items(ctx, task, &scope).and_then(|items| match items {
        Some(items) => Ok(Some((
            items,
            loop_var_name(ctx, &task.loop_control, &scope)?,
        ))),
        None => Ok(None),
    });
    // A loop whose items could not be had fails the task as a whole, as
    // Ansible's does (not as an item).
    let items_failed = looped.is_err();
    let results = match looped {
        // Unless its `when` (without an item) is false: then it is
        // skipped, as Ansible checks the condition before the loop's error.
        Err(e) => {
            let not_now =
                when_stops(ctx, task, &scope).filter(|r| r.status == ResultStatus::Skipped);
            vec![(None, not_now.unwrap_or_else(|| failed_at(task, &e)))]
        }
        Ok(None) => vec![(None, run_tries(ctx, play, task, &scope, &mut state).await)],
        Ok(Some((items, loop_var))) => {
            let control = &task.loop_control;
            let written_items = task
                .loop_
                .as_ref()
                .is_some_and(|spec| items_as_written(spec, &scope));
            let mut results = Vec::with_capacity(items.len());
            for index in 0..items.len() {
                if index > 0
                    && let Some(pause) = control.pause
                {
                    tokio::select! {
                        () = tokio::time::sleep(std::time::Duration::from_secs_f64(pause)) => {}
                        () = ctx.cancel.cancelled() => break,
                    }
                }
                let item = &items[index];
                let mut scope = state.scope_in(
                    task.role_scope.as_deref(),
                    &task_vars,
                    &ctx.options.extra_vars,
                );
                let bound = item_vars(control, &loop_var, &items, index);
                scope = with_item(scope, &bound, written_items);
                // What the loop calls its item (and index), by name.
                scope = scope.with("ansible_loop_var", Json::String(loop_var.clone()));
                if let Some(name) = &control.index_var {
                    scope = scope.with("ansible_index_var", Json::String(name.clone()));
                }
                let mut result = run_tries(ctx, play, task, &scope, &mut state).await;
                result.result.extend(bound);
                result
                    .result
                    .insert("ansible_loop_var".into(), Json::String(loop_var.clone()));
                if let Some(name) = &control.index_var {
                    result
                        .result
                        .insert("ansible_index_var".into(), Json::String(name.clone()));
                }
                let unreachable = result.unreachable;
                // `loop_control.label` names the item in the summary; it
                // sees the item's result under the task's `register:`, and
                // an item whose label cannot be rendered fails with why.
                let label = match &control.label {
                    Some(label) => {
                        let scope = match &task.register {
                            Some(name) => scope.with(name, Json::Object(result.result.clone())),
                            None => scope,
                        };
                        match ctx.templates.render_value(label, &scope) {
                            Ok(label) => label,
                            Err(e) => {
                                result.fail(format!("Failed to template loop_control.label: {e}"));
                                Json::String(label.clone())
                            }
                        }
                    }
                    None => item.clone(),
                };
                results.push((Some(label), result));
                if unreachable {
                    break;
                }
            }
            results
        }
    };
    let ItemResult {
        mut status,
        mut summary,
        diff,
        result: mut registered,
        ..
    } = ItemResult::combine(task.loop_.is_some() && !items_failed, results);
    let changed = registered.get("changed") == Some(&Json::Bool(true));
    // A `notify:` may name its handler with a template, rendered with what
    // the host knows once the task changed something.
    let notifying: std::borrow::Cow<[String]> = if status == ResultStatus::Changed
        && task.notify.iter().any(|n| Templates::is_template(n))
    {
        let scope = state.scope_in(
            task.role_scope.as_deref(),
            &task_vars,
            &ctx.options.extra_vars,
        );
        // One template may give a list of names.
        let names = task
            .notify
            .iter()
            .flat_map(|n| match ctx.templates.render_value(n, &scope) {
                Ok(Json::Array(names)) => names.iter().map(text_of).collect(),
                Ok(name) => vec![text_of(&name)],
                Err(_) => vec![n.clone()],
            });
        std::borrow::Cow::Owned(names.collect())
    } else {
        std::borrow::Cow::Borrowed(&task.notify)
    };
    // As Ansible, a handler is looked for when a task notifies it.
    if status == ResultStatus::Changed
        && let Some(missing) = super::missing_handler(ctx, play, &state, &notifying)
    {
        status = ResultStatus::Failed;
        summary = missing.clone();
        registered.insert("failed".into(), Json::Bool(true));
        registered.insert("msg".into(), Json::String(missing));
    }
    if let Some(name) = &task.register {
        state
            .set
            .insert(name.clone(), Json::Object(registered.clone()));
    }
    // A lost host's status is `Unreachable`: never an ignored failure.
    let ignored = state.record(task, status, changed, &notifying);
    if status == ResultStatus::Failed && !ignored {
        // The task's own name, without the `ROLE : ` it is shown with.
        let name = task
            .role
            .as_ref()
            .and_then(|role| display.strip_prefix(&format!("{} : ", role.name)))
            .unwrap_or(&display);
        let failed_task = serde_json::json!({
            "name": name,
            "action": task.module_written,
        });
        state.last_failure = Some((failed_task, Json::Object(registered.clone())));
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

/// A task that failed on `error`: its `msg` as Ansible words it (what a
/// playbook may test), its summary naming the task and its place too.
fn failed_at(task: &Task, error: &TaskError) -> ItemResult {
    let mut failed = ItemResult::failed(error.to_string());
    failed.summary = format!("{error} (task `{}` at {})", task.display_name(), task.pos);
    failed
}

/// The items of the task's loop, or `None` without one.
fn loop_items(
    ctx: &RunContext,
    task: &Task,
    scope: &Scope,
) -> Result<Option<Vec<Json>>, TaskError> {
    task.loop_
        .as_ref()
        .map(|spec| items_of(ctx, task.role.as_deref(), spec, scope))
        .transpose()
}

/// One item, tried again while its `until:` conditions do not hold (or,
/// with `retries:` and no `until:`, while it fails), as Ansible's: 1 +
/// `retries` tries (3 without it), `delay` seconds apart (5 without it).
/// The result counts its `attempts`; when none met the conditions it
/// fails, its `attempts` being `retries` (as Ansible reports it).
async fn run_tries(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    scope: &Scope,
    state: &mut HostState,
) -> ItemResult {
    if task.until.is_none() && task.retries.is_none() {
        return run_item(ctx, play, task, scope, state).await;
    }
    let retries = task
        .retries
        .unwrap_or(if task.until.is_some() { 3 } else { 0 });
    let tries = 1 + retries;
    if tries == 1 {
        return run_item(ctx, play, task, scope, state).await;
    }
    let delay = std::time::Duration::from_secs_f64(task.delay.unwrap_or(5.0));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut result = run_item(ctx, play, task, scope, state).await;
        if result.unreachable || result.status == ResultStatus::Skipped {
            return result;
        }
        result.result.insert("attempts".into(), Json::from(attempt));
        let met = match &task.until {
            None => result.status != ResultStatus::Failed,
            Some(until) => {
                let judged = judged_scope(task, scope, &result);
                match all_true(&ctx.templates, "until", until, &judged) {
                    Ok(met) => met,
                    Err(error) => return failed_at(task, &error),
                }
            }
        };
        if met {
            return result;
        }
        if attempt >= tries {
            result.status = ResultStatus::Failed;
            result.result.insert("failed".into(), Json::Bool(true));
            result.result.insert("attempts".into(), Json::from(retries));
            result.result.entry("msg").or_insert_with(|| {
                Json::String(format!(
                    "the conditions still did not hold after {attempt} tries"
                ))
            });
            return result;
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = ctx.cancel.cancelled() => return result,
        }
    }
}

/// What `failed_when`, `changed_when` and `until` see: the scope with the
/// result under the task's `register:` name.
fn judged_scope(task: &Task, scope: &Scope, result: &ItemResult) -> Scope {
    match &task.register {
        Some(name) => scope.with(name, Json::Object(result.result.clone())),
        None => scope.with("__result", Json::Null),
    }
}

/// The task's `when`: `None` when it holds, else the task's skipped (a
/// false condition) or failed (one that cannot be evaluated) result.
fn when_stops(ctx: &RunContext, task: &Task, scope: &Scope) -> Option<ItemResult> {
    for condition in &task.when {
        match ctx.templates.condition(condition, scope) {
            Ok(true) => {}
            Ok(false) => {
                let mut skipped = ItemResult::skipped(format!("condition was false: {condition}"));
                skipped
                    .result
                    .insert("false_condition".into(), Json::String(condition.clone()));
                return Some(skipped);
            }
            Err(e) => {
                let error = TaskError::in_part(format!("when `{condition}`"))(e);
                return Some(failed_at(task, &error));
            }
        }
    }
    None
}

/// One pass of a task: `when`, the module, `failed_when`/`changed_when`.
async fn run_item(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    scope: &Scope,
    state: &mut HostState,
) -> ItemResult {
    if let Some(not_now) = when_stops(ctx, task, scope) {
        return not_now;
    }
    let running = run_module(ctx, play, task, scope, state);
    // A waited-for `async:` is a time limit like `timeout:`; the tighter
    // one stops the task, in its own words.
    let limits = [
        task.timeout.map(|limit| {
            (
                limit,
                format!("the task ran longer than its timeout of {limit} seconds and was stopped"),
            )
        }),
        task.async_.filter(|a| a.poll > 0).map(|a| {
            (
                a.seconds,
                format!(
                    "async task did not complete within the requested time - {}s",
                    a.seconds
                ),
            )
        }),
    ];
    let finished = match limits.into_iter().flatten().min_by_key(|(limit, _)| *limit) {
        Some((limit, message)) => {
            // Running out of time is the task's result, not a fault in
            // how it is written: the message is Ansible's, unlocated.
            tokio::time::timeout(std::time::Duration::from_secs(limit), running)
                .await
                .unwrap_or_else(|_| Ok(ItemResult::failed(message)))
        }
        None => running.await,
    };
    let mut result = match finished {
        Ok(result) => result,
        Err(error) => failed_at(task, &error),
    };
    if result.unreachable || result.status == ResultStatus::Skipped {
        return result;
    }
    let judged = judged_scope(task, scope, &result);
    if let Some(conditions) = &task.failed_when {
        let failed = match all_true(&ctx.templates, "failed_when", conditions, &judged) {
            Ok(failed) => failed,
            Err(error) => return failed_at(task, &error),
        };
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
    if let Some(conditions) = &task.changed_when {
        let changed = match all_true(&ctx.templates, "changed_when", conditions, &judged) {
            Ok(changed) => changed,
            Err(error) => return failed_at(task, &error),
        };
        if result.status != ResultStatus::Failed {
            result.status = if changed {
                ResultStatus::Changed
            } else {
                ResultStatus::Ok
            };
        }
        result.result.insert("changed".into(), Json::Bool(changed));
    }
    result
}

/// Whether every condition holds, as `part` (`failed_when`) judges it;
/// an error names the part and the condition.
fn all_true(
    templates: &Templates,
    part: &str,
    conditions: &[String],
    scope: &Scope,
) -> Result<bool, TaskError> {
    for condition in conditions {
        let holds = templates
            .condition(condition, scope)
            .map_err(TaskError::in_part(format!("{part}: `{condition}`")))?;
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a `debug` `verbosity:` asks for more than Ansible's default.
fn above_default_verbosity(value: &Json) -> bool {
    match value {
        Json::Number(n) => n.as_f64().is_some_and(|n| n > 0.0),
        Json::String(s) => s.trim().parse::<f64>().is_ok_and(|n| n > 0.0),
        _ => false,
    }
}

/// A module's arguments written as one template (`assert: "{{ item }}"`,
/// Ansible's argument splatting): the mapping it gives, with the task's
/// `args:` over it. `None` for arguments written any other way.
fn splatted_args(ctx: &RunContext, task: &Task, scope: &Scope) -> Result<Option<Json>, TaskError> {
    if task.module.free_form() {
        return Ok(None);
    }
    let (text, mut args) = match &task.args {
        Args::Inline(text) => (text.as_str(), serde_json::Map::new()),
        Args::Map(Json::Object(map)) => match map.get("_raw_params").and_then(Json::as_str) {
            Some(text) => (text, map.clone()),
            None => return Ok(None),
        },
        Args::Map(_) => return Ok(None),
    };
    let text = text.trim();
    if crate::playbook::template::single_expression(text).is_none() {
        return Ok(None);
    }
    args.remove("_raw_params");
    let mut splat = match ctx.templates.render_value(text, scope)? {
        Json::Object(splat) => splat,
        // Text is the module's free-form argument (`include_vars: "{{
        // lookup('first_found', search) }}"`), read as if written so.
        Json::String(_) => return Ok(None),
        _ => {
            return Err(TaskError::Args(format!(
                "the arguments `{text}` must give a mapping of the module's options"
            )));
        }
    };
    splat.extend(args);
    Ok(Some(Json::Object(splat)))
}

/// `set_fact`'s names may be templates too (`"{{ name }}": value`).
fn with_rendered_keys(ctx: &RunContext, params: Json, scope: &Scope) -> Result<Json, TaskError> {
    let Json::Object(map) = params else {
        return Ok(params);
    };
    let mut out = Map::new();
    for (key, value) in map {
        let key = if Templates::is_template(&key) {
            let name = ctx
                .templates
                .render_value(&key, scope)
                .map_err(TaskError::in_part(format!("the name `{key}`")))?;
            match name {
                Json::String(name) => name,
                other => {
                    return Err(TaskError::Args(format!(
                        "Invalid variable name '{other}' of type '{}': a name must be text",
                        python_type(&other)
                    )));
                }
            }
        } else {
            key
        };
        if !crate::playbook::model::is_variable_name(&key) {
            return Err(TaskError::Args(format!(
                "Invalid variable name '{key}': a name is letters, digits and _, not starting \
                 with a digit, and not a Python or Jinja keyword"
            )));
        }
        out.insert(key, value);
    }
    Ok(Json::Object(out))
}

/// The name Python gives a value's type, as Ansible's messages say it.
fn python_type(value: &Json) -> &'static str {
    match value {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// Templates the task's arguments and runs its module.
async fn run_module(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    scope: &Scope,
    state: &mut HostState,
) -> Result<ItemResult, TaskError> {
    // Said before its arguments are templated, which could only fail for
    // another reason.
    if task.module == Module::NotYet {
        return Err(TaskError::Args(format!(
            "`{}` is an Ansible module Capstan does not run yet (a task that a `when:` \
             skips may name it)",
            task.module_written
        )));
    }
    let splat = splatted_args(ctx, task, scope)?;
    let (inline, map) = match (&splat, &task.args) {
        (Some(splat), _) => (None, Some(splat)),
        (None, Args::Inline(text)) => (Some(text.as_str()), None),
        (None, Args::Map(map)) => (None, Some(map)),
    };
    let raw = modules::params(task.module, inline, map)?;
    let mut params = match task.module {
        // `when`-style expressions are evaluated, not templated.
        Module::Assert => raw,
        Module::Debug if raw.get("var").is_some() => raw,
        _ => ctx.templates.render_json(&raw, scope)?,
    };
    crate::playbook::prepare::remove_omitted(&mut params);
    match task.module {
        Module::SetFact => {
            params = with_rendered_keys(ctx, params, scope)?;
            match (&task.delegate_to, task.delegate_facts) {
                (Some(written), Some(true)) => {
                    let host = delegate(ctx, written, scope)?.name;
                    let values = HostState::facts_of(params);
                    let result = HostState::fact_result(&values);
                    state.facts_for_others.push(DelegatedFacts {
                        host,
                        values,
                        set: true,
                    });
                    return Ok(result);
                }
                _ => return Ok(state.set_fact(params)),
            }
        }
        Module::IncludeVars => {
            // Ansible's include_vars says why it failed in `message`.
            let included = match include_vars(ctx, task, params) {
                Ok(read) => read,
                Err(error) => {
                    let mut failed = failed_at(task, &error);
                    failed
                        .result
                        .insert("message".into(), Json::String(error.to_string()));
                    return Ok(failed);
                }
            };
            return Ok(state.include_vars(included));
        }
        Module::Fail => return controller_modules::fail(&params),
        Module::Pause => return controller_modules::pause(ctx, &params).await,
        // Capstan prints at one verbosity, Ansible's default.
        Module::Debug if params.get("verbosity").is_some_and(above_default_verbosity) => {
            return Ok(ItemResult::skipped("verbosity threshold not met".into()));
        }
        Module::Debug => params = debug_params(ctx, params, scope)?,
        Module::Assert => params = assert_params(ctx, params, scope)?,
        Module::Template => params = template_params(ctx, task.role.as_deref(), params, scope)?,
        Module::Copy => params = copy_params(ctx, task.role.as_deref(), params)?,
        Module::Script => params = script_params(ctx, task.role.as_deref(), params)?,
        Module::Unarchive => params = unarchive_params(ctx, task.role.as_deref(), params)?,
        _ => {}
    }
    let check = task.check_mode.unwrap_or(ctx.options.check);
    let fetching = match task.module {
        Module::Fetch if check => {
            return Ok(ItemResult::skipped(
                "check mode not (yet) supported for this module".into(),
            ));
        }
        Module::Fetch => Some(super::fetch::Fetching::take(&mut params)?),
        _ => None,
    };
    if let (Some(background), Json::Object(map)) =
        (task.async_.filter(|a| a.poll == 0), &mut params)
    {
        map.insert("background_seconds".into(), Json::from(background.seconds));
    }
    let Some((plugin_name, action)) = task.plugin_action() else {
        // The play runs `meta:` tasks itself; a handler cannot be one.
        return Err(TaskError::Args(format!(
            "`{}` cannot run as a handler",
            task.module_written
        )));
    };
    let plugin = ctx
        .plugins
        .get(plugin_name)
        .ok_or_else(|| TaskError::Plugin(format!("plugin `{plugin_name}` is not loaded")))?;
    let Some(schema) = plugin.schemas.get(action) else {
        return Err(TaskError::Plugin(format!(
            "{}: plugin `{plugin_name}` has no action `{action}`",
            task.module_written
        )));
    };
    capstan_plugin_host::plugin::coerce_params(schema, &mut params);
    capstan_plugin_host::plugin::validate_params(schema, &params)
        .map_err(|e| refused_params(&task.module_written, &e))?;
    let mut target = match &task.delegate_to {
        Some(written) => delegate(ctx, written, scope)?,
        // `connection: local`: this machine, under the host's name.
        None if play.connection_local => {
            let mut here = ctx.controller.clone();
            here.name = state.name.clone();
            here
        }
        None => state.target.clone(),
    };
    // A login the inventory names wins over the keyword, as Ansible's
    // connection variables win over `remote_user`.
    let keyword = task.remote_user.as_ref().or(play.remote_user.as_ref());
    if let Some(written) = keyword.filter(|_| !state.user_given) {
        target = login_for(ctx, written, scope, target, &mut state.logins)?;
    }
    let env = environment(ctx, play, task, scope)?;
    if !env.is_empty() {
        target.env = env.into();
    }
    if let Some(becoming) = super::privilege::become_for(ctx, play, task, scope)? {
        target.become_user = Some(becoming);
    }
    let mut setup = plugin.setup.clone();
    let manager = (task.module == Module::DockerSwarm)
        .then(|| params.get("manager").and_then(Json::as_str))
        .flatten();
    setup.targets = Arc::new(task_reach(&ctx.targets, target, &state.play_hosts, manager));
    // A `no_log` task's plugin lines are neither stored nor shown.
    setup.log_sink = if hides_output(play, task) {
        Arc::new(capstan_plugin_host::capability::log::DiscardLogs)
    } else {
        ctx.secrets.masking(ctx.logs.clone())
    };
    let context = CallContext {
        target: setup.targets[0].name.clone(),
        targets: setup.targets.iter().map(|t| t.name.clone()).collect(),
        check,
        diff: task.diff.unwrap_or(ctx.options.diff),
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
    let result = ItemResult::from_call(outcome);
    if let Some(fetching) = fetching {
        return Ok(fetching.keep(ctx, &state.name, result).await);
    }
    // Facts a first-party module returns (`setup`'s, `hostname`'s new
    // names) are the host's from now on, as Ansible keeps a result's
    // `ansible_facts`; an installed plugin's are only its result.
    if task.module != Module::Plugin
        && result.status != ResultStatus::Failed
        && result.result.contains_key("ansible_facts")
    {
        match (&task.delegate_to, task.delegate_facts) {
            (Some(_), Some(true)) => state.facts_for_others.push(DelegatedFacts {
                host: setup.targets[0].name.clone(),
                values: result.result.clone(),
                set: false,
            }),
            _ => state.absorb_facts(&result.result),
        }
    }
    Ok(result)
}

/// Why a task's parameters were refused; an option the module does not
/// have, or one it needs, in Ansible's words.
fn refused_params(module: &str, error: &ParamError) -> TaskError {
    match &error.problem {
        ParamProblem::Missing(name) if error.at == "params" => {
            TaskError::Plugin(format!("missing required arguments: {name}"))
        }
        ParamProblem::Unknown { name, known } if error.at == "params" => {
            let short = module.rsplit('.').next().unwrap_or(module);
            TaskError::Plugin(format!(
                "Unsupported parameters for ({short}) module: {name}. Supported parameters \
                 include: {known}."
            ))
        }
        _ => TaskError::Plugin(format!("{module}: {error}")),
    }
}

/// A task's `remote_user:`: on this machine the target as it is
/// (Ansible's local connection ignores it too); over SSH the host's login
/// as that user — a connection of its own with the host's credentials,
/// opened once and kept in `logins` for the rest of the run.
fn login_for(
    ctx: &RunContext,
    written: &str,
    scope: &Scope,
    target: Target,
    logins: &mut Vec<(String, Target)>,
) -> Result<Target, TaskError> {
    let rendered = ctx
        .templates
        .render_text(written, scope)
        .map_err(TaskError::in_part(format!("remote_user `{written}`")))?;
    let user = rendered.trim();
    if user.is_empty() || user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(TaskError::Args(format!(
            "remote_user `{written}` gave `{rendered}`, which is not a user name"
        )));
    }
    let key = format!("{user}@{}", target.name);
    if let Some((_, login)) = logins.iter().find(|(k, _)| *k == key) {
        return Ok(login.clone());
    }
    match target.logged_in_as(user) {
        Some(login) => {
            logins.push((key, login.clone()));
            Ok(login)
        }
        None => Ok(target),
    }
}

/// The task's `environment:` (the play's, its blocks', its own, merged in
/// that order), rendered: names checked, values as text.
fn environment(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    scope: &Scope,
) -> Result<Vec<(String, String)>, TaskError> {
    let mut env: Vec<(String, String)> = Vec::new();
    for layer in play.environment.iter().chain(&task.environment) {
        let rendered = ctx
            .templates
            .render_json(layer, scope)
            .map_err(TaskError::in_part("environment".to_string()))?;
        let Json::Object(map) = rendered else {
            return Err(TaskError::Args(format!(
                "environment: `{layer}` gave {rendered}, not a mapping of names to values"
            )));
        };
        for (name, value) in map {
            if !crate::playbook::model::is_identifier(&name) {
                return Err(TaskError::Args(format!(
                    "environment: `{name}` is not an environment variable name"
                )));
            }
            let text = match value {
                Json::String(text) => text,
                Json::Null => String::new(),
                other => other.to_string(),
            };
            env.retain(|(n, _)| *n != name);
            env.push((name, text));
        }
    }
    Ok(env)
}

/// The target a task's `delegate_to:` names: a host of the inventory, or
/// this computer as `localhost` (also `127.0.0.1` and `::1`) when the
/// inventory has no host of that name. Nothing else: a delegate Capstan
/// would have to guess how to reach is refused.
fn delegate(ctx: &RunContext, written: &str, scope: &Scope) -> Result<Target, TaskError> {
    let name = ctx
        .templates
        .render_text(written, scope)
        .map_err(TaskError::in_part(format!("delegate_to `{written}`")))?;
    let name = name.trim();
    if let Some(target) = ctx.targets.iter().find(|t| t.name == name) {
        return Ok(target.clone());
    }
    if matches!(name, "localhost" | "127.0.0.1" | "::1") {
        let mut controller = ctx.controller.clone();
        controller.name = name.to_string();
        return Ok(controller);
    }
    Err(TaskError::Args(format!(
        "delegate_to `{name}` is neither a host of the inventory nor localhost; add it to the \
         inventory so Capstan knows how to reach it"
    )))
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
