//! One task across its hosts: its shown name, each live host's run at
//! once (at most the run's `forks`, stopped by the run's
//! cancellation), each outcome announced as the host ends.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::host_state::HostState;
use super::task::run_task;
use crate::fan_out::{Finished, fan_out};
use crate::playbook::context::RunContext;
use crate::playbook::model::{Play, Switch, Task};
use crate::playbook::report::PlaybookEvent;
use crate::playbook::template::Templates;

/// Runs one task on the given hosts at once; false when none of them is
/// left to take the next task.
pub(super) async fn run_task_on_hosts(
    ctx: &Arc<RunContext>,
    play: &Arc<Play>,
    task: &Arc<Task>,
    states: &mut [Option<HostState>],
    chosen: &[usize],
    handler: bool,
) -> bool {
    let mut active: Vec<usize> = chosen
        .iter()
        .copied()
        .filter(|i| states[*i].as_ref().is_some_and(HostState::active))
        .collect();
    let Some(first) = active.first().and_then(|i| states[*i].as_ref()) else {
        return false;
    };
    // `run_once`: the first host runs it; the others get what it set.
    let once = runs_once(ctx, task, first)
        .then(|| (active.clone(), (first.set.clone(), first.included.clone())));
    if once.is_some() || task.module.once_per_batch() {
        active.truncate(1);
    }
    let shown = shown_name(ctx, task, first);
    (ctx.events)(&PlaybookEvent::Task {
        name: shown.clone(),
        handler,
        hosts: active.len(),
        origin: Some(task.pos.to_string()),
    });
    if ctx.hostvars_used {
        let hostvars = hostvars_of(states);
        for &i in &active {
            if let Some(state) = states[i].as_mut() {
                state.hostvars = Some(hostvars.clone());
            }
        }
    }
    let task_span = tracing::debug_span!("task", name = %shown, hosts = active.len());
    let work: Vec<_> = active
        .iter()
        .map(|&i| {
            let state = states[i].take().expect("active host");
            let (ctx, play, task, shown) = (ctx.clone(), play.clone(), task.clone(), shown.clone());
            let host_span = tracing::debug_span!(parent: &task_span, "host", name = %state.name);
            tracing::Instrument::instrument(
                async move {
                    let (state, outcome) = run_task(&ctx, &play, &task, shown, state).await;
                    tracing::debug!(status = %outcome.status, "task done");
                    (ctx.events)(&PlaybookEvent::HostDone(outcome));
                    state
                },
                host_span,
            )
        })
        .collect();
    let at_once = task
        .throttle
        .map_or(ctx.forks, |t| (t as usize).min(ctx.forks));
    let ended = fan_out(work, at_once, &ctx.cancel).await;
    for (&i, ended) in active.iter().zip(ended) {
        match ended {
            Finished::Done(state) => states[i] = Some(state),
            // A cancelled or lost host leaves the run.
            Finished::Cancelled => {}
            Finished::Panicked(why) => tracing::error!(panic = %why, "a host's task panicked"),
        }
    }
    hand_over_delegated_facts(states, &active);
    if let Some((all, before)) = once {
        share_what_was_set(states, &all, &before);
        active = all;
    }
    active
        .iter()
        .any(|i| states[*i].as_ref().is_some_and(HostState::active))
}

/// `hostvars` as the task starts: every host of the run by name, with the
/// variables it shows others (one value the task's hosts share).
fn hostvars_of(states: &[Option<HostState>]) -> minijinja::Value {
    let all: Map<String, Json> = states
        .iter()
        .flatten()
        .map(|s| (s.name.clone(), Json::Object(s.visible_vars())))
        .collect();
    minijinja::Value::from_serialize(&all)
}

/// Whether `task` runs once for the batch: `run_once` as written, or its
/// template rendered with what the batch's first host knows (one that
/// cannot be rendered is a warning, and the task runs on every host).
fn runs_once(ctx: &RunContext, task: &Task, first: &HostState) -> bool {
    match &task.run_once {
        None | Some(Switch::Fixed(false)) => false,
        Some(Switch::Fixed(true)) => true,
        Some(Switch::Template(written)) => {
            let vars: Map<String, Json> = task.vars.iter().cloned().collect();
            let scope = first.scope_in(task.role_scope.as_deref(), &vars, &ctx.options.extra_vars);
            match ctx.templates.render_value(written, &scope) {
                Ok(value) => crate::playbook::template::truthy_json(&value),
                Err(e) => {
                    super::warn(
                        ctx,
                        format!(
                            "{}: run_once `{written}`: {e}; running on every host",
                            task.pos
                        ),
                    );
                    false
                }
            }
        }
    }
}

/// After a `run_once` task: what the host that ran it registered, set or
/// included (the values of `set` and `included` that differ from
/// `before`) is set on the others.
fn share_what_was_set(
    states: &mut [Option<HostState>],
    all: &[usize],
    (set_before, included_before): &(Map<String, Json>, Map<String, Json>),
) {
    let Some(ran) = all.first().and_then(|i| states[*i].as_ref()) else {
        return;
    };
    let changed = |now: &Map<String, Json>, before: &Map<String, Json>| -> Vec<(String, Json)> {
        now.iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let set = changed(&ran.set, set_before);
    let included = changed(&ran.included, included_before);
    for &i in &all[1..] {
        if let Some(state) = states[i].as_mut() {
            state.set.extend(set.iter().cloned());
            state.included.extend(included.iter().cloned());
        }
    }
}

/// Hands facts gathered or set for a delegate (`delegate_facts`) to it.
fn hand_over_delegated_facts(states: &mut [Option<HostState>], ran: &[usize]) {
    let mut handed = Vec::new();
    for &i in ran {
        if let Some(state) = states[i].as_mut() {
            handed.append(&mut state.facts_for_others);
        }
    }
    for facts in handed {
        if let Some(state) = states.iter_mut().flatten().find(|s| s.name == facts.host) {
            state.take_delegated(facts);
        }
    }
}

/// The task's name as shown, stored and sent with each outcome: rendered
/// with the first host's variables when it is a template (as Ansible
/// does), kept as written if that fails, and masked.
fn shown_name(ctx: &RunContext, task: &Task, first: &HostState) -> String {
    let name = task.display_name();
    let name = if Templates::is_template(&name) {
        let scope = first.scope_in(
            task.role_scope.as_deref(),
            &Map::new(),
            &ctx.options.extra_vars,
        );
        ctx.templates.render_text(&name, &scope).unwrap_or(name)
    } else {
        name
    };
    // As Ansible's banners: a role's task is `ROLE : NAME`.
    let name = match &task.role {
        Some(role) => format!("{} : {name}", role.name),
        None => name,
    };
    ctx.secrets.mask(&name)
}
