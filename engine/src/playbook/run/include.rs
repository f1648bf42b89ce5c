//! `include_tasks` and `include_role` on their hosts: each host's `when`
//! and loop decide which task files (or roles) it reads; the hosts that
//! read the same one for the same item run its tasks together. Each
//! inclusion counts as ok for its host (a host whose `when` is false, as
//! skipped), as Ansible counts them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::host_state::HostState;
use super::loops::{item_vars, items_as_written, items_of, loop_var_name, with_item};
use super::serial::Batch;
use super::{announce, any_active, run_steps};
use crate::jobs::ResultStatus;
use crate::playbook::PlaybookError;
use crate::playbook::context::RunContext;
use crate::playbook::model::{
    HandedDown, Include, IncludedRole, Play, RoleScope, Step, Task, rescope, rescope_task,
};
use crate::playbook::report::{PlaybookEvent, TaskOutcome};
use crate::playbook::template::Scope;

/// One task file (or role folder) a host reads, with the name it was
/// found by and what one item of the include's loop binds (nothing
/// without a loop).
type Inclusion = (PathBuf, String, Option<Vec<(String, Json)>>);

/// Runs `include` on the chosen hosts still active; false once none of
/// them is left to take the next step.
pub(super) async fn run_include(
    ctx: &Arc<RunContext>,
    play: &Arc<Play>,
    include: &Include,
    states: &mut [Option<HostState>],
    batch: &Batch,
    chosen: &[usize],
) -> bool {
    let module = include.module_name();
    let shown = include.name.clone().unwrap_or_else(|| module.to_string());
    let announced = (shown.as_str(), batch.running_handlers());
    let Some(active) = announce(ctx, states, chosen, announced, &include.pos) else {
        return false;
    };
    // What the blocks and includes around it hand down, under its own.
    let include_vars: Map<String, Json> = include
        .handed
        .vars()
        .iter()
        .chain(&include.vars)
        .cloned()
        .collect();
    // Each distinct inclusion with its hosts, in the order first met.
    let mut groups: Vec<(Inclusion, Vec<usize>)> = Vec::new();
    // Where each rendered name leads, looked up once for all the hosts.
    let mut found_by_name = HashMap::new();
    for &i in &active {
        let Some(state) = states[i].as_mut() else {
            continue;
        };
        let scope = state.scope_in(
            include.handed.role_scope(),
            &include_vars,
            &ctx.options.extra_vars,
        );
        let outcome = |status, summary: String| TaskOutcome {
            host: state.name.clone(),
            play: play.name.clone(),
            task: shown.clone(),
            module: module.into(),
            status,
            ignored: false,
            summary: ctx.secrets.mask(&summary),
            diff: None,
            result: serde_json::json!({ "msg": ctx.secrets.mask(&summary) }),
            duration_ms: 0,
        };
        match inclusions(ctx, include, &scope, &mut found_by_name) {
            Err(why) => {
                let why = format!("{why} ({module} at {})", include.pos);
                let failed = outcome(ResultStatus::Failed, why);
                state.failed = true;
                state.recap.failed += 1;
                (ctx.events)(&PlaybookEvent::HostDone(failed));
            }
            Ok(found) if found.is_empty() => {
                let skipped = outcome(ResultStatus::Skipped, "condition was false".into());
                state.recap.skipped += 1;
                (ctx.events)(&PlaybookEvent::HostDone(skipped));
            }
            Ok(found) => {
                for inclusion in found {
                    let what = match include.included_role {
                        Some(_) => inclusion.1.clone(),
                        None => inclusion.0.display().to_string(),
                    };
                    let included = outcome(ResultStatus::Ok, format!("included: {what}"));
                    state.recap.ok += 1;
                    (ctx.events)(&PlaybookEvent::HostDone(included));
                    match groups.iter_mut().find(|(seen, _)| *seen == inclusion) {
                        Some((_, hosts)) => hosts.push(i),
                        None => groups.push((inclusion, vec![i])),
                    }
                }
            }
        }
    }
    for ((path, name, item), hosts) in groups {
        let read = match &include.included_role {
            None => included_tasks(ctx, include, &path),
            Some(role) => {
                included_role(ctx, play, include, role, &name).map(|(mut steps, scope)| {
                    role.apply.hand_down(&mut steps);
                    if role.public {
                        // Ansible makes a public role's variables the play's,
                        // for every host of it.
                        for state in states.iter_mut().flatten() {
                            state.publish_role(&scope);
                        }
                    }
                    steps
                })
            }
        };
        let mut steps = match read {
            Ok(steps) => steps,
            Err(error) => {
                fail_hosts(ctx, play, &shown, module, states, &hosts, error.to_string());
                continue;
            }
        };
        let mut vars = include.vars.clone();
        vars.extend(item.into_iter().flatten());
        HandedDown::with_vars(vars).hand_down(&mut steps);
        run_steps(ctx, play, &steps, states, batch, &hosts).await;
    }
    any_active(states, chosen)
}

/// The steps of the task file at `path`: read as the playbook loaded, or
/// now, with what the blocks around the include hand down.
fn included_tasks(
    ctx: &RunContext,
    include: &Include,
    path: &std::path::Path,
) -> Result<Vec<Step>, PlaybookError> {
    if let Some(steps) = &include.steps {
        return Ok(steps.clone());
    }
    let mut steps = include.read(path, &ctx.vault)?;
    include.handed.without_when_and_tags().hand_down(&mut steps);
    Ok(steps)
}

/// The steps of the role `name` and the variables only they see: read as
/// the playbook loaded, or now (its handlers then join the play's). A
/// role included from another role's tasks also sees that role's
/// defaults and vars under its own, as Ansible's dependency chain does.
fn included_role(
    ctx: &RunContext,
    play: &Play,
    include: &Include,
    role: &IncludedRole,
    name: &str,
) -> Result<(Vec<Step>, Arc<RoleScope>), PlaybookError> {
    let (mut steps, mut scope, mut handlers) = match (&include.steps, &role.scope) {
        (Some(steps), Some(scope)) => (steps.clone(), scope.clone(), role.handlers.clone()),
        _ => {
            let read = include.read_role(name, &ctx.vault)?;
            (read.steps, read.scope, read.handlers)
        }
    };
    if let Some(including) = include.handed.role_scope_shared() {
        let chained = Arc::new(scope.within(including));
        rescope(&mut steps, &scope, &chained);
        for handler in &mut handlers {
            rescope_task(handler, &scope, &chained);
        }
        scope = chained;
    }
    join_handlers(ctx, play, handlers.into_iter());
    Ok((steps, scope))
}

/// Makes an included role's handlers the play's (once), after its own. A
/// handler already joined takes the variables of the latest include that
/// brought it (a role included by another role sees that role's).
fn join_handlers(ctx: &RunContext, play: &Play, handlers: impl Iterator<Item = Task>) {
    let mut late = ctx
        .late_handlers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for handler in handlers {
        let known = late
            .iter_mut()
            .find(|(at, h)| *at == play.pos && h.pos == handler.pos && h.role == handler.role);
        match known {
            Some((_, joined)) => joined.role_scope = handler.role_scope,
            None => late.push((play.pos.clone(), handler)),
        }
    }
}

/// The task files a host reads: one per item of the loop (one without a
/// loop) whose `when` holds, the file's name rendered with that item.
fn inclusions(
    ctx: &RunContext,
    include: &Include,
    scope: &Scope,
    found_by_name: &mut HashMap<String, Result<PathBuf, String>>,
) -> Result<Vec<Inclusion>, String> {
    let items: Vec<Option<Vec<(String, Json)>>> = match &include.loop_ {
        None => vec![None],
        Some(spec) => {
            let items = items_of(ctx, include.role.as_deref(), spec, scope)
                .map_err(|e| format!("loop: {e}"))?;
            let loop_var = loop_var_name(ctx, &include.loop_control, scope)
                .map_err(|e| format!("loop_control: {e}"))?;
            (0..items.len())
                .map(|i| Some(item_vars(&include.loop_control, &loop_var, &items, i)))
                .collect()
        }
    };
    let written_items = include
        .loop_
        .as_ref()
        .is_some_and(|spec| items_as_written(spec, scope));
    let mut found = Vec::new();
    for item in items {
        let scope = with_item(
            scope.clone(),
            item.as_deref().unwrap_or_default(),
            written_items,
        );
        let mut holds = true;
        for condition in &include.when {
            holds = ctx
                .templates
                .condition(condition, &scope)
                .map_err(|e| format!("when `{condition}`: {e}"))?;
            if !holds {
                break;
            }
        }
        if !holds {
            continue;
        }
        let name = ctx
            .templates
            .render_text(&include.file, &scope)
            .map_err(|e| format!("{} `{}`: {e}", include.module_name(), include.file))?;
        let path = found_by_name
            .entry(name.clone())
            .or_insert_with(|| match include.included_role {
                Some(_) => include.find_role(&name),
                None => include.find(&name),
            })
            .clone()?;
        found.push((path, name, item));
    }
    Ok(found)
}

/// Fails `hosts` on the include: its file could not be read.
fn fail_hosts(
    ctx: &RunContext,
    play: &Play,
    shown: &str,
    module: &str,
    states: &mut [Option<HostState>],
    hosts: &[usize],
    why: String,
) {
    for &i in hosts {
        let Some(state) = states[i].as_mut() else {
            continue;
        };
        state.failed = true;
        state.recap.failed += 1;
        (ctx.events)(&PlaybookEvent::HostDone(TaskOutcome {
            host: state.name.clone(),
            play: play.name.clone(),
            task: shown.to_string(),
            module: module.into(),
            status: ResultStatus::Failed,
            ignored: false,
            summary: ctx.secrets.mask(&why),
            diff: None,
            result: serde_json::json!({ "failed": true, "msg": ctx.secrets.mask(&why) }),
            duration_ms: 0,
        }));
    }
}
