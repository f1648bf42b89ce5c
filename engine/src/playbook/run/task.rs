//! One task on one host: its loop, each item's conditions, the module's
//! plugin call within the task's reach, `failed_when`/`changed_when`, and
//! the outcome as stored and shown.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value as Json};

use super::host_state::HostState;
use super::results::{CENSORED, ItemResult, censored, hides_output};
use crate::jobs::ResultStatus;
use crate::playbook::actions::{
    assert_params, copy_params, debug_params, include_vars, template_params,
};
use crate::playbook::context::RunContext;
use crate::playbook::model::{Args, LoopSpec, Play, Task};
use crate::playbook::modules::{self, Module};
use crate::playbook::report::TaskOutcome;
use crate::playbook::task_error::TaskError;
use crate::playbook::template::{Scope, Templates};
use capstan_plugin_host::plugin::CallContext;
use capstan_plugin_host::target::Target;
use capstan_remote::Become;

/// Runs `task` on one host: conditions, loop, module, register, notify.
/// `display` is the task's name as shown.
pub(super) async fn run_task(
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
    let results = match loop_items(&ctx.templates, task, &scope) {
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
    let ItemResult {
        status,
        summary,
        diff,
        result: registered,
        ..
    } = ItemResult::combine(task.loop_.is_some(), results);
    if let Some(name) = &task.register {
        state
            .set
            .insert(name.clone(), Json::Object(registered.clone()));
    }
    let changed = registered.get("changed") == Some(&Json::Bool(true));
    // A lost host's status is `Unreachable`: never an ignored failure.
    let ignored = state.record(task, status, changed);
    if status == ResultStatus::Failed && !ignored {
        let failed_task = serde_json::json!({
            "name": display,
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

/// The error text with the task's name and place.
fn located(task: &Task, error: &TaskError) -> String {
    format!("{error} (task `{}` at {})", task.display_name(), task.pos)
}

/// The items of the task's `loop:` (flattened one level for
/// `with_items`), or `None` without a loop.
fn loop_items(
    templates: &Templates,
    task: &Task,
    scope: &Scope,
) -> Result<Option<Vec<Json>>, TaskError> {
    task.loop_
        .as_ref()
        .map(|spec| items_of(templates, spec, scope))
        .transpose()
}

/// The items a `loop:` (or `with_items:`, flattened one level) gives.
pub(super) fn items_of(
    templates: &Templates,
    spec: &LoopSpec,
    scope: &Scope,
) -> Result<Vec<Json>, TaskError> {
    let items = match templates.render_json(&spec.items, scope)? {
        Json::Array(items) => items,
        Json::Null => Vec::new(),
        Json::String(s) if spec.flatten => vec![Json::String(s)],
        Json::Object(_) => return Err(TaskError::NotAList("a mapping".into())),
        other => return Err(TaskError::NotAList(format!("`{other}`"))),
    };
    if !spec.flatten {
        return Ok(items);
    }
    Ok(items
        .into_iter()
        .flat_map(|i| match i {
            Json::Array(inner) => inner,
            other => vec![other],
        })
        .collect())
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
                let error = TaskError::in_part(format!("when `{condition}`"))(e);
                return ItemResult::failed(located(task, &error));
            }
        }
    }
    let mut result = match run_module(ctx, play, task, scope, state).await {
        Ok(result) => result,
        Err(error) => ItemResult::failed(located(task, &error)),
    };
    if result.unreachable || result.status == ResultStatus::Skipped {
        return result;
    }
    let judged = match &task.register {
        Some(name) => scope.with(name, Json::Object(result.result.clone())),
        None => scope.with("__result", Json::Null),
    };
    if let Some(conditions) = &task.failed_when {
        let failed = match all_true(&ctx.templates, "failed_when", conditions, &judged) {
            Ok(failed) => failed,
            Err(error) => return ItemResult::failed(located(task, &error)),
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
            Err(error) => return ItemResult::failed(located(task, &error)),
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

/// Templates the task's arguments and runs its module.
async fn run_module(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    scope: &Scope,
    state: &mut HostState,
) -> Result<ItemResult, TaskError> {
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
        Module::SetFact => return Ok(state.set_fact(params)),
        Module::IncludeVars => {
            let (file, vars) = include_vars(ctx, task, params)?;
            return Ok(state.include_vars(&file, vars));
        }
        Module::Debug => params = debug_params(ctx, params, scope)?,
        Module::Assert => params = assert_params(ctx, params, scope)?,
        Module::Template => params = template_params(ctx, task.role.as_deref(), params, scope)?,
        Module::Copy => params = copy_params(ctx, task.role.as_deref(), params)?,
        _ => {}
    }
    let (plugin_name, action) = task
        .plugin_action()
        .expect("only set_fact and include_vars have no plugin");
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
        .map_err(|e| TaskError::Plugin(format!("{}: {e}", task.module_written)))?;
    let mut target = state.target.clone();
    if task.become_.or(play.become_).unwrap_or(false) {
        target.become_user = Some(Become {
            user: task
                .become_user
                .clone()
                .or_else(|| play.become_user.clone())
                .unwrap_or_else(|| "root".into()),
            password_env: ctx.options.become_password_env.clone(),
            password: ctx.sudo_password.clone(),
        });
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
    let result = ItemResult::from_call(outcome);
    if task.module == Module::Setup && result.status != ResultStatus::Failed {
        state.absorb_facts(&result.result);
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use capstan_yaml::Pos;

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

    fn looping(items: Json, flatten: bool) -> Task {
        let pos = Pos {
            file: "site.yml".into(),
            line: 7,
            column: 3,
        };
        let mut task = Task::new(Module::Command, "command", pos);
        task.loop_ = Some(LoopSpec { items, flatten });
        task
    }

    fn items(task: &Task, vars: Json) -> Result<Option<Vec<Json>>, TaskError> {
        let Json::Object(vars) = vars else {
            unreachable!()
        };
        let scope = Scope::layered([(&vars, crate::playbook::template::Origin::Written)]);
        loop_items(&Templates::new(), task, &scope)
    }

    #[test]
    fn loop_items_come_from_a_list_or_a_template_giving_one() {
        let pos = Pos {
            file: "site.yml".into(),
            line: 1,
            column: 1,
        };
        let plain = Task::new(Module::Command, "command", pos);
        assert_eq!(items(&plain, json!({})).unwrap(), None);
        assert_eq!(
            items(
                &looping(json!("{{ users }}"), false),
                json!({"users": ["a", "b"]})
            )
            .unwrap(),
            Some(vec![json!("a"), json!("b")])
        );
        assert_eq!(
            items(
                &looping(json!("{{ nothing }}"), false),
                json!({"nothing": null})
            )
            .unwrap(),
            Some(vec![])
        );
        // `with_items` flattens one level and takes a lone string.
        assert_eq!(
            items(&looping(json!([["a", "b"], "c"]), true), json!({})).unwrap(),
            Some(vec![json!("a"), json!("b"), json!("c")])
        );
        assert_eq!(
            items(&looping(json!("solo"), true), json!({})).unwrap(),
            Some(vec![json!("solo")])
        );
    }

    #[test]
    fn a_loop_over_something_else_names_what_it_got() {
        let error = items(&looping(json!("{{ m }}"), false), json!({"m": {"a": 1}})).unwrap_err();
        assert_eq!(error, TaskError::NotAList("a mapping".into()));
        let error = items(&looping(json!("{{ n }}"), false), json!({"n": 3})).unwrap_err();
        assert_eq!(error.to_string(), "the loop needs a list, but it gave `3`");
        let error = items(&looping(json!("{{ missing }}"), false), json!({})).unwrap_err();
        assert_eq!(error.to_string(), "undefined variable `missing`");
        assert_eq!(
            located(&looping(json!([]), false), &error),
            "undefined variable `missing` (task `command` at site.yml:7:3)"
        );
    }
}
