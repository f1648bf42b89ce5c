//! `meta:` tasks, which the play runs itself rather than a plugin on each
//! host: flushing handlers, ending hosts, the batch or the play. As in
//! Ansible, they add nothing to the recap.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::host_state::HostState;
use super::serial::Batch;
use super::{announce, any_active, fail_host, run_notified_handlers, say_vv};
use crate::playbook::context::RunContext;
use crate::playbook::model::{MetaAction, Play, Task};

/// Runs a `meta:` task (a `handler` or not) on the chosen hosts; false
/// once none of them is left to take the next step. Each host's line of
/// what it did is said at `-vv`, as Ansible says it.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_meta(
    ctx: &Arc<RunContext>,
    play: &Arc<Play>,
    task: &Task,
    action: MetaAction,
    states: &mut [Option<HostState>],
    batch: &Batch,
    chosen: &[usize],
    handler: bool,
) -> bool {
    let shown = ctx.secrets.mask(&task.display_name());
    // Its `when` holding on any of its hosts clears every host's errors,
    // as Ansible's does (`when: false` clears none).
    let clearing = action == MetaAction::ClearHostErrors
        && (task.when.is_empty() || !meeting_when(ctx, play, task, states, chosen).0.is_empty());
    if clearing {
        // Before the hosts are counted: it is what brings failed ones back
        // (an `always:` runs it on hosts that all failed).
        for &i in &batch.hosts {
            if let Some(state) = states[i].as_mut()
                && !state.unreachable
            {
                state.failed = false;
                state.errors_cleared = true;
            }
        }
    }
    let Some(active) = announce(ctx, states, chosen, (&shown, handler), &task.pos) else {
        return false;
    };
    match action {
        MetaAction::Noop => say_meta(ctx, states, &active, |_| "noop".into()),
        MetaAction::ClearHostErrors if clearing => {
            say_meta(ctx, states, &active, |_| "cleared host errors".into());
        }
        MetaAction::ClearHostErrors => {
            say_meta(ctx, states, &active, |host| {
                format!("not clearing host error state for {host}")
            });
        }
        MetaAction::FlushHandlers => {
            // As ansible-core 2.19: a `when:` chooses the hosts it flushes.
            let flushing = if task.when.is_empty() {
                chosen.to_vec()
            } else {
                meeting_when(ctx, play, task, states, &active).0
            };
            say_meta(ctx, states, &flushing, |host| {
                format!("triggered running handlers for {host}")
            });
            run_notified_handlers(ctx, play, states, batch, &flushing).await;
        }
        MetaAction::EndHost => {
            let (meeting, others) = meeting_when(ctx, play, task, states, &active);
            say_meta(ctx, states, &meeting, |host| {
                format!("ending play for {host}")
            });
            say_meta(ctx, states, &others, |host| {
                format!("end_host conditional evaluated to false, continuing execution for {host}")
            });
            for i in meeting {
                if let Some(state) = states[i].as_mut() {
                    state.ended = true;
                }
            }
        }
        MetaAction::EndBatch => {
            let (meeting, others) = meeting_when(ctx, play, task, states, &active);
            say_meta(ctx, states, &meeting, |_| "ending batch".into());
            say_meta(ctx, states, &others, |_| {
                "end_batch conditional evaluated to False, continuing current batch".into()
            });
            if !meeting.is_empty() {
                batch.end_batch(states);
            }
        }
        MetaAction::EndPlay => {
            let (meeting, others) = meeting_when(ctx, play, task, states, &active);
            say_meta(ctx, states, &meeting, |_| "ending play".into());
            say_meta(ctx, states, &others, |_| {
                "end_play conditional evaluated to False, continuing play".into()
            });
            if !meeting.is_empty() {
                batch.end_play(states);
            }
        }
    }
    any_active(states, chosen)
}

/// Says `META: ...` at `-vv` for each of `hosts`, as Ansible's strategy
/// says what a `meta:` did on a host.
fn say_meta(
    ctx: &RunContext,
    states: &[Option<HostState>],
    hosts: &[usize],
    what: impl Fn(&str) -> String,
) {
    for state in hosts.iter().filter_map(|&i| states[i].as_ref()) {
        say_vv(ctx, format!("META: {}", what(&state.name)));
    }
}

/// The hosts among `active` for which every `when:` of the task holds,
/// and the others; a host whose condition cannot be judged fails, naming
/// it.
fn meeting_when(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    states: &mut [Option<HostState>],
    active: &[usize],
) -> (Vec<usize>, Vec<usize>) {
    let task_vars: Map<String, Json> = task.vars.iter().cloned().collect();
    let mut meeting = Vec::new();
    for &i in active {
        let Some(state) = states[i].as_mut() else {
            continue;
        };
        let scope = state.scope_in(
            task.role_scope.as_deref(),
            &task_vars,
            &ctx.options.extra_vars,
        );
        let mut holds = true;
        for condition in &task.when {
            match ctx.templates.condition(condition, &scope) {
                Ok(true) => {}
                Ok(false) => holds = false,
                Err(e) => {
                    let message = format!(
                        "when `{condition}`: {e} (task `{}` at {})",
                        task.display_name(),
                        task.pos
                    );
                    fail_host(ctx, play, state, &task.display_name(), "meta", message);
                    holds = false;
                }
            }
            if !holds {
                break;
            }
        }
        if holds {
            meeting.push(i);
        }
    }
    let others = active
        .iter()
        .copied()
        .filter(|i| !meeting.contains(i))
        .collect();
    (meeting, others)
}
