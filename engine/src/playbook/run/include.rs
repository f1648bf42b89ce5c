//! `include_tasks` on its hosts: each host's `when` and loop decide which
//! task files it reads; the hosts that read the same file for the same
//! item run its tasks together. Each inclusion counts as ok for its host
//! (a host whose `when` is false, as skipped), as Ansible counts them.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::host_state::HostState;
use super::loops::{item_vars, items_of};
use super::serial::Batch;
use super::{announce, any_active, run_steps};
use crate::jobs::ResultStatus;
use crate::playbook::context::RunContext;
use crate::playbook::model::{HandedDown, Include, Play};
use crate::playbook::report::{PlaybookEvent, TaskOutcome};
use crate::playbook::template::Scope;

/// One task file a host reads, with what one item of the include's loop
/// binds (nothing without a loop).
type Inclusion = (PathBuf, Option<Vec<(String, Json)>>);

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
    let shown = include
        .name
        .clone()
        .unwrap_or_else(|| "include_tasks".to_string());
    let Some(active) = announce(ctx, states, chosen, &shown) else {
        return false;
    };
    let include_vars: Map<String, Json> = include.vars.iter().cloned().collect();
    // Each distinct inclusion with its hosts, in the order first met.
    let mut groups: Vec<(Inclusion, Vec<usize>)> = Vec::new();
    for &i in &active {
        let Some(state) = states[i].as_mut() else {
            continue;
        };
        let scope = state.scope(&include_vars, &ctx.options.extra_vars);
        let outcome = |status, summary: String| TaskOutcome {
            host: state.name.clone(),
            play: play.name.clone(),
            task: shown.clone(),
            module: "include_tasks".into(),
            status,
            ignored: false,
            summary: ctx.secrets.mask(&summary),
            diff: None,
            result: serde_json::json!({ "msg": ctx.secrets.mask(&summary) }),
            duration_ms: 0,
        };
        match inclusions(ctx, include, &scope) {
            Err(why) => {
                let why = format!("{why} (include_tasks at {})", include.pos);
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
                    let included = outcome(
                        ResultStatus::Ok,
                        format!("included: {}", inclusion.0.display()),
                    );
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
    for ((path, item), hosts) in groups {
        let mut steps = match &include.steps {
            Some(steps) => steps.clone(),
            None => match include.read(&path, &ctx.vault) {
                Ok(mut steps) => {
                    include.handed.without_when_and_tags().hand_down(&mut steps);
                    steps
                }
                Err(error) => {
                    fail_hosts(ctx, play, &shown, states, &hosts, error.to_string());
                    continue;
                }
            },
        };
        let mut vars = include.vars.clone();
        vars.extend(item.into_iter().flatten());
        HandedDown::with_vars(vars).hand_down(&mut steps);
        run_steps(ctx, play, &steps, states, batch, &hosts).await;
    }
    any_active(states, chosen)
}

/// The task files a host reads: one per item of the loop (one without a
/// loop) whose `when` holds, the file's name rendered with that item.
fn inclusions(
    ctx: &RunContext,
    include: &Include,
    scope: &Scope,
) -> Result<Vec<Inclusion>, String> {
    let items: Vec<Option<Vec<(String, Json)>>> = match &include.loop_ {
        None => vec![None],
        Some(spec) => {
            let items = items_of(ctx, include.role.as_deref(), spec, scope)
                .map_err(|e| format!("loop: {e}"))?;
            (0..items.len())
                .map(|i| Some(item_vars(&include.loop_control, &items, i)))
                .collect()
        }
    };
    let mut found = Vec::new();
    for item in items {
        let mut scope = scope.clone();
        for (name, value) in item.iter().flatten() {
            scope = scope.with(name, value.clone());
        }
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
            .map_err(|e| format!("include_tasks `{}`: {e}", include.file))?;
        found.push((include.find(&name)?, item));
    }
    Ok(found)
}

/// Fails `hosts` on the include: its file could not be read.
fn fail_hosts(
    ctx: &RunContext,
    play: &Play,
    shown: &str,
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
            module: "include_tasks".into(),
            status: ResultStatus::Failed,
            ignored: false,
            summary: ctx.secrets.mask(&why),
            diff: None,
            result: serde_json::json!({ "failed": true, "msg": ctx.secrets.mask(&why) }),
            duration_ms: 0,
        }));
    }
}
