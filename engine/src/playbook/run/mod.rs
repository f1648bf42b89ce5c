//! Executes a playbook: plays in order, each task on all of its hosts at
//! once, handlers after each section of a play (pre-tasks; roles and
//! tasks; post-tasks), every host's result recorded
//! as the task finishes.
//!
//! - `host_state`: one host's variables, facts, notifications and recap;
//! - `hosts`: one task fanned out over its hosts;
//! - `task`: one task on one host (loop, conditions, the plugin call);
//! - `results`: item and task results, folded as Ansible folds them.

mod controller_modules;
mod fetch;
mod host_state;
mod hosts;
mod include;
mod loops;
mod meta;
mod privilege;
mod results;
mod serial;
mod task;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::PlaybookOptions;
use super::context::{RunContext, RunHost};
use super::model::{Block, MetaAction, Play, Playbook, Step, Strategy, Task};
use super::modules::Module;
use super::report::{PlaybookEvent, Recap, TaskOutcome};
use super::selection::{rendered_tags, selected_by_tags};
use super::template::{Origin, Scope, Templates};
use crate::fan_out::{Finished, fan_out};
use crate::jobs::{LogLevel, LogLine, ResultStatus};
use host_state::{HostState, PlayHosts};
use hosts::run_task_on_hosts;
use serial::Batch;

/// Runs every play of `playbook` over `hosts` and returns the recap, and
/// why the run stopped early if it did: a play whose `hosts:` cannot be
/// rendered stops it there, as in Ansible.
pub(crate) async fn run_playbook(
    ctx: Arc<RunContext>,
    playbook: &Playbook,
    hosts: Vec<RunHost>,
) -> (Vec<Recap>, Option<String>) {
    let mut states: Vec<Option<HostState>> =
        hosts.into_iter().map(|h| Some(HostState::new(h))).collect();
    let mut stopped = None;
    // Said once, before the first play's banner.
    let mut run_warnings = ctx.warnings.clone();
    if let Some(cache) = &ctx.fact_cache {
        run_warnings.extend(load_cached_facts(
            cache,
            ctx.options.flush_cache,
            &mut states,
        ));
    }
    for warning in &run_warnings {
        warn(&ctx, warning.clone());
    }
    let pattern = PlayPattern {
        templates: &ctx.templates,
        options: &ctx.options,
        inventory: &ctx.inventory,
    };
    for (index, play) in playbook.plays.iter().enumerate() {
        let (names, warning) = match pattern.hosts(play) {
            Ok(names) => (names, None),
            Err(PlayHostsError::Unmatched(message)) => {
                let warning = format!("{}: play `{}`: {message}; skipping it", play.pos, play.name);
                warn(&ctx, warning.clone());
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
        // The live hosts among them, in the run's order.
        let chosen: Vec<usize> = (0..states.len())
            .filter(|&i| {
                states[i]
                    .as_ref()
                    .is_some_and(|s| s.in_run() && names.contains(&s.name))
            })
            .collect();
        let names: Vec<String> = chosen
            .iter()
            .filter_map(|i| states[*i].as_ref().map(|s| s.name.clone()))
            .collect();
        run_warnings.extend(warning);
        (ctx.events)(&PlaybookEvent::Play {
            name: play.name.clone(),
            hosts: names.clone(),
            warning: (!run_warnings.is_empty())
                .then(|| std::mem::take(&mut run_warnings).join("\n")),
        });
        if chosen.is_empty() {
            continue;
        }
        let all = Arc::new(names);
        let extra = &ctx.options.extra_vars;
        let planned = serial::batches(play, &chosen, &ctx.templates, extra)
            .and_then(|b| Ok((b, serial::strategy(play, &ctx.templates, extra)?)));
        let (batches, strategy) = match planned {
            Ok(planned) => planned,
            Err(error) => {
                stopped = Some(error.to_string());
                break;
            }
        };
        if let Some(stop) = run_batches(&ctx, play, strategy, &mut states, batches, &all).await {
            // Said only when it keeps something from running.
            if stop.later_batches || index + 1 < playbook.plays.len() {
                warn(
                    &ctx,
                    format!("{}; no later batch or play runs, as in Ansible", stop.why),
                );
            }
            break;
        }
    }
    for state in states.iter().flatten() {
        state.target.close().await;
        for (_, login) in &state.logins {
            login.close().await;
        }
    }
    if let Some(cache) = &ctx.fact_cache {
        for state in states.iter().flatten() {
            if let Err(e) = cache.store(&state.name, &facts_without_secrets(&ctx, state)) {
                warn(&ctx, e);
            }
        }
    }
    // As Ansible's, the recap names the hosts that took part.
    let recap = states
        .into_iter()
        .flatten()
        .map(|s| {
            // Failed once, in good standing now: `meta: clear_host_errors`.
            let cleared = s.recap.failed > 0 && !s.failed && !s.unreachable;
            Recap { cleared, ..s.recap }
        })
        .filter(|r| r.ok + r.unreachable + r.failed + r.skipped + r.rescued + r.ignored > 0)
        .collect();
    (recap, stopped)
}

/// The facts a host keeps in the fact cache, less any that holds a secret
/// of the run (a vaulted value, a `--secret`): never written to disk, and
/// named in a warning.
fn facts_without_secrets(ctx: &RunContext, state: &HostState) -> Map<String, Json> {
    let mut facts = state.facts_to_keep();
    facts.retain(|name, value| {
        let text = value.to_string();
        let secret = ctx.secrets.mask(&text) != text;
        if secret {
            warn(
                ctx,
                format!(
                    "fact `{name}` of {} holds a secret: it is not kept in the fact cache",
                    state.name
                ),
            );
        }
        !secret
    });
    facts
}

/// Gives each host the facts kept from earlier runs (after forgetting
/// them with `--flush-cache`); what could not be read, as warnings.
fn load_cached_facts(
    cache: &crate::playbook::fact_cache::FactCache,
    flush: bool,
    states: &mut [Option<HostState>],
) -> Vec<String> {
    let mut warnings = Vec::new();
    for state in states.iter_mut().flatten() {
        let loaded = if flush {
            cache.flush(&state.name).map(|()| Map::new())
        } else {
            cache.load(&state.name)
        };
        match loaded {
            Ok(facts) if !facts.is_empty() => state.absorb_facts(&Map::from_iter([(
                "ansible_facts".to_string(),
                Json::Object(facts),
            )])),
            Ok(_) => {}
            Err(e) => warnings.push(e),
        }
    }
    warnings
}

/// Why a play's batches stopped the run.
struct Stop {
    /// Where and why: a limit broke a batch, or every host of it failed.
    why: String,
    /// Whether batches of the play were left to run.
    later_batches: bool,
}

/// Runs `play` batch by batch (each the whole play); why the run must
/// stop, when it must.
async fn run_batches(
    ctx: &Arc<RunContext>,
    play: &Play,
    strategy: Strategy,
    states: &mut [Option<HostState>],
    batches: Vec<Vec<usize>>,
    all: &Arc<Vec<String>>,
) -> Option<Stop> {
    let mut batches = batches.into_iter().peekable();
    while let Some(hosts) = batches.next() {
        // A `connection: local` play never reaches its hosts.
        if let Some(next) = batches.peek().filter(|_| !play.connection_local) {
            connect_ahead(states, next);
        }
        let names_of = |indices: &[usize], states: &[Option<HostState>]| {
            indices
                .iter()
                .filter_map(|i| states[*i].as_ref().filter(|s| s.in_run()))
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };
        let left: Vec<String> = all
            .iter()
            .filter(|name| {
                states
                    .iter()
                    .flatten()
                    .any(|s| &s.name == *name && s.in_run())
            })
            .cloned()
            .collect();
        let play_hosts = PlayHosts {
            all: all.clone(),
            left: Arc::new(left),
            batch: Arc::new(names_of(&hosts, states)),
        };
        for &i in &hosts {
            if let Some(state) = states[i].as_mut() {
                state.enter_play(&play_hosts);
            }
        }
        let batch = Batch::new(play, hosts).naming(play_hosts);
        match strategy {
            Strategy::Free => run_free(ctx, play, states, &batch.hosts).await,
            _ => run_play(ctx, play, states, &batch).await,
        }
        if batch.play_ended() {
            return None;
        }
        if let Some(reason) = batch.stop_reason(states) {
            return Some(Stop {
                why: format!("{}: play `{}`: {reason}", play.pos, play.name),
                later_batches: batches.peek().is_some(),
            });
        }
    }
    None
}

/// Opens the SSH connections of the next batch's hosts while this batch
/// runs, so its first task does not wait for their handshakes. Each
/// connection is made once whoever asks first; one that fails is reported
/// when its host's batch reaches it, as it would be without this.
fn connect_ahead(states: &[Option<HostState>], next: &[usize]) {
    for &i in next {
        if let Some(state) = &states[i]
            && let capstan_remote::Transport::Ssh(ssh) = &state.target.transport
        {
            let ssh = ssh.clone();
            tokio::spawn(async move {
                let _ = ssh.connect().await;
            });
        }
    }
}

/// `strategy: free`: each host of the batch runs the whole play at its
/// own pace, at most the run's `forks` at once. Each is its own
/// batch for `run_once`, `any_errors_fatal` and `max_fail_percentage`.
async fn run_free(
    ctx: &Arc<RunContext>,
    play: &Play,
    states: &mut [Option<HostState>],
    hosts: &[usize],
) {
    let play = Arc::new(play.clone());
    let taken: Vec<(usize, HostState)> = hosts
        .iter()
        .filter_map(|&i| states[i].take().map(|state| (i, state)))
        .collect();
    let places: Vec<usize> = taken.iter().map(|(i, _)| *i).collect();
    let work: Vec<_> = taken
        .into_iter()
        .map(|(_, state)| {
            let (ctx, play) = (ctx.clone(), play.clone());
            async move {
                let mut own = [Some(state)];
                let batch = Batch::new(&play, vec![0]);
                run_play(&ctx, &play, &mut own, &batch).await;
                let [state] = own;
                state
            }
        })
        .collect();
    let ended = fan_out(work, ctx.forks, &ctx.cancel).await;
    for (i, ended) in places.into_iter().zip(ended) {
        match ended {
            Finished::Done(state) => states[i] = state,
            Finished::Cancelled => {}
            Finished::Panicked(why) => tracing::error!(panic = %why, "a host's play panicked"),
        }
    }
}

/// Says `message` as the run's own line at `-vv` (Ansible's
/// `display.vv`): a log line of no target at debug level.
fn say_vv(ctx: &RunContext, message: String) {
    run_line(ctx, LogLevel::Debug, message);
}

/// Puts a warning about the run in its log.
fn warn(ctx: &RunContext, message: String) {
    run_line(ctx, LogLevel::Warn, message);
}

/// A log line of the run's own (no target).
fn run_line(ctx: &RunContext, level: LogLevel, message: String) {
    ctx.logs.line(LogLine {
        target: String::new(),
        level,
        message,
        fields: Vec::new(),
        at_ms: capstan_wire::clock::now_ms(),
    });
}

/// Why a play has no hosts to run on.
#[derive(Debug, PartialEq, Eq)]
enum PlayHostsError {
    /// Its `hosts:` could not be rendered: the run stops, as in Ansible.
    Unrendered(String),
    /// Its pattern names nothing in the inventory: the play is skipped
    /// with a warning, as in Ansible.
    Unmatched(String),
}

/// What picks a play's hosts: its pattern rendered with the extra vars,
/// matched in the inventory, cut by `--limit`.
struct PlayPattern<'a> {
    templates: &'a Templates,
    options: &'a PlaybookOptions,
    inventory: &'a [crate::inventory::Host],
}

impl PlayPattern<'_> {
    /// The names of the hosts `play` runs on, in inventory order.
    fn hosts(&self, play: &Play) -> Result<Vec<String>, PlayHostsError> {
        let extra = Scope::layered([(&self.options.extra_vars, Origin::Written)]);
        let pattern = self
            .templates
            .render_text(&play.hosts, &extra)
            .map_err(|e| PlayHostsError::Unrendered(e.to_string()))?;
        let select = |pattern: &str| -> Result<Vec<String>, PlayHostsError> {
            crate::inventory::pattern::select_names(pattern, self.inventory)
                .map_err(|e| PlayHostsError::Unmatched(e.to_string()))
        };
        let mut chosen = select(&pattern)?;
        if let Some(limit) = &self.options.limit {
            let allowed = select(limit)?;
            chosen.retain(|n| allowed.contains(n));
        }
        Ok(chosen)
    }
}

/// Runs the whole of `play` on one batch of its hosts.
async fn run_play(
    ctx: &Arc<RunContext>,
    play: &Play,
    states: &mut [Option<HostState>],
    batch: &Batch,
) {
    let chosen = &batch.hosts[..];
    let play = Arc::new(play.clone());
    if play.gathers_facts() {
        let mut setup = Task {
            name: Some("Gathering Facts".into()),
            tags: vec!["always".into()],
            become_: Some(false),
            ..Task::new(Module::Setup, "setup", play.pos.clone())
        };
        if !play.gather_subset.is_empty() {
            setup.args = super::model::Args::Map(serde_json::json!({
                "gather_subset": play.gather_subset,
            }));
        }
        let setup = Arc::new(setup);
        run_task(ctx, &play, &setup, states, batch, chosen, false).await;
    }
    // Play vars and vars files, rendered per host once facts are known.
    for i in chosen {
        let Some(state) = states[*i].as_mut().filter(|s| s.active()) else {
            continue;
        };
        let loaded = state.load_play_vars(
            &play,
            &ctx.templates,
            &ctx.dir,
            &ctx.options.extra_vars,
            &ctx.vault,
        );
        if let Err(error) = loaded {
            fail_host_setup(ctx, &play, state, error.to_string());
        }
    }
    // Ansible's order: pre-tasks, their handlers; roles and tasks, their
    // handlers; post-tasks, their handlers.
    for section in [
        vec![&play.pre_tasks],
        vec![&play.roles, &play.tasks],
        vec![&play.post_tasks],
    ] {
        for steps in section {
            run_steps(ctx, &play, steps, states, batch, chosen).await;
        }
        implicit_flush(ctx, &play, states, batch, chosen).await;
    }
    // A notification the last flush's handlers made ends with the play.
    for &i in chosen {
        if let Some(state) = states[i].as_mut() {
            state.notified.clear();
            state.handlers_due.clear();
        }
    }
}

/// Runs one task on the chosen hosts, then holds its batch to its limits;
/// false once none of them is left to take the next step.
async fn run_task(
    ctx: &Arc<RunContext>,
    play: &Arc<Play>,
    task: &Arc<Task>,
    states: &mut [Option<HostState>],
    batch: &Batch,
    chosen: &[usize],
    handler: bool,
) -> bool {
    batch.refresh_play_hosts(states, chosen);
    let failed_before = batch.failed(states);
    let going = run_task_on_hosts(ctx, play, task, states, chosen, handler).await;
    if batch.check(states, failed_before, task.any_errors_fatal) {
        return false;
    }
    going
}

/// The flush that ends each section of a play: a task of Ansible's own,
/// tagged `always` and the play's tags (so a `--skip-tags` naming the
/// play's skips it), which says what it does in the run's debug lines
/// (`-vvvv`, Ansible's `ANSIBLE_DEBUG`).
async fn implicit_flush(
    ctx: &Arc<RunContext>,
    play: &Arc<Play>,
    states: &mut [Option<HostState>],
    batch: &Batch,
    chosen: &[usize],
) {
    let tags =
        crate::playbook::selection::rendered_tags(&play.tags, play, &ctx.templates, &ctx.options);
    let always = ["always".to_string()];
    if !crate::playbook::selection::selected_by_tags(&always, &tags, &ctx.options) {
        return;
    }
    for state in chosen.iter().filter_map(|&i| states[i].as_ref()) {
        let message = match state.notified.is_empty() && state.handlers_due.is_empty() {
            true => format!("No handler notifications for {}, skipping.", state.name),
            false => format!("META: triggered running handlers for {}", state.name),
        };
        run_line(ctx, LogLevel::Trace, message);
    }
    run_notified_handlers(ctx, play, states, batch, chosen).await;
}

/// Runs the handlers the chosen hosts have notified, each on the hosts
/// that notified it, once, in the order the handlers are written. What a
/// handler notifies while it runs reaches a handler written after it in
/// this flush, and one written before it (or itself) in the next, as
/// Ansible's notifications do.
async fn run_notified_handlers(
    ctx: &Arc<RunContext>,
    play: &Arc<Play>,
    states: &mut [Option<HostState>],
    batch: &Batch,
    chosen: &[usize],
) {
    let late: Vec<Task> = ctx
        .late_handlers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|(at, _)| *at == play.pos)
        .map(|(_, handler)| handler.clone())
        .collect();
    let handlers: std::borrow::Cow<[Task]> = if late.is_empty() {
        std::borrow::Cow::Borrowed(&play.handlers)
    } else {
        std::borrow::Cow::Owned(play.handlers.iter().cloned().chain(late).collect())
    };
    let topics = answered_topics(&handlers);
    // With force_handlers a host that failed after notifying still runs
    // the handlers (and stays failed).
    let force = play.force_handlers.unwrap_or(ctx.force_handlers);
    // Per host, the handlers (by index) it is to run in this flush.
    let mut due: HashMap<usize, BTreeSet<usize>> = HashMap::new();
    for &i in chosen {
        if let Some(state) = states[i].as_mut() {
            let mut handlers_due: BTreeSet<usize> = state.handlers_due.drain(..).collect();
            let notified = std::mem::take(&mut state.notified);
            handlers_due.extend(answering(ctx, &handlers, &topics, state, &notified));
            due.insert(i, handlers_due);
        }
    }
    for (at, handler) in handlers.iter().enumerate() {
        let notified: Vec<usize> = chosen
            .iter()
            .copied()
            .filter(|i| {
                states[*i]
                    .as_ref()
                    .is_some_and(|s| s.active() || (force && s.forcible()))
                    && due.get(i).is_some_and(|d| d.contains(&at))
            })
            .collect();
        if notified.is_empty() {
            continue;
        }
        for &i in &notified {
            if let Some(state) = states[i].as_mut() {
                state.forced = state.failed;
            }
            if let Some(d) = due.get_mut(&i) {
                d.remove(&at);
            }
        }
        run_handler(ctx, play, handler, states, batch, &notified).await;
        for &i in chosen {
            let Some(state) = states[i].as_mut() else {
                continue;
            };
            state.forced = false;
            let raised = std::mem::take(&mut state.notified);
            for next in answering(ctx, &handlers, &topics, state, &raised) {
                match next > at {
                    true => {
                        due.entry(i).or_default().insert(next);
                    }
                    false => state.handlers_due.push(next),
                }
            }
        }
    }
}

/// The handlers (by index) that answer any of `notified` on `state`'s
/// host: by a name, a `listen` topic, or a templated name as the host
/// renders it (one that cannot be rendered answers to none).
fn answering(
    ctx: &RunContext,
    handlers: &[Task],
    topics: &[Vec<String>],
    state: &HostState,
    notified: &[String],
) -> Vec<usize> {
    if notified.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    for (at, (handler, answers)) in handlers.iter().zip(topics).enumerate() {
        let templated = handler
            .name
            .as_deref()
            .filter(|n| Templates::is_template(n));
        let rendered = rendered_name(ctx, templated, state);
        if notified
            .iter()
            .any(|n| answers.contains(n) || rendered.as_ref() == Some(n))
        {
            found.push(at);
        }
    }
    found
}

/// A handler named by a template, as `state`'s host renders its name.
fn rendered_name(ctx: &RunContext, templated: Option<&str>, state: &HostState) -> Option<String> {
    let name = templated?;
    let scope = state.scope(&Map::new(), &ctx.options.extra_vars);
    ctx.templates.render_text(name, &scope).ok()
}

/// Runs one notified handler on the hosts that notified it: a task; an
/// `include_tasks`, whose tasks run in its place as handlers; a `meta:`
/// (but `flush_handlers`, refused in Ansible's words). Boxed: a handler's
/// include and meta reach back here.
fn run_handler<'a>(
    ctx: &'a Arc<RunContext>,
    play: &'a Arc<Play>,
    handler: &'a Task,
    states: &'a mut [Option<HostState>],
    batch: &'a Batch,
    notified: &'a [usize],
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        if let Some(include) = &handler.include {
            batch.enter_handler_include(true);
            include::run_include(ctx, play, include, states, batch, notified).await;
            batch.enter_handler_include(false);
            return;
        }
        match handler.meta {
            Some(MetaAction::FlushHandlers) => {
                for &i in notified {
                    if let Some(state) = states[i].as_mut() {
                        let name = handler.display_name();
                        let why = "flush_handlers cannot be used as a handler".to_string();
                        fail_host(ctx, play, state, &name, "meta", why);
                    }
                }
            }
            Some(action) => {
                meta::run_meta(ctx, play, handler, action, states, batch, notified, true).await;
            }
            None => {
                let handler = Arc::new(handler.clone());
                run_task(ctx, play, &handler, states, batch, notified, true).await;
            }
        }
    })
}

/// The first of `names` no handler of the play answers to now (its own,
/// its roles', those an `include_role` that ran brought), in Ansible's
/// words; with `error_on_missing_handler = False` each such name is a
/// warning instead (once), and nothing fails. A handler named by a
/// template answers to its name as `state`'s host renders it; one that
/// cannot be rendered answers to none, with Ansible's warning.
fn missing_handler(
    ctx: &RunContext,
    play: &Play,
    state: &HostState,
    names: &[String],
) -> Option<String> {
    if names.is_empty() {
        return None;
    }
    let late = ctx
        .late_handlers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let handlers: Vec<&Task> = play
        .handlers
        .iter()
        .chain(
            late.iter()
                .filter(|(at, _)| *at == play.pos)
                .map(|(_, h)| h),
        )
        .collect();
    // Handlers named by a template answer to their names as this host
    // renders them (Ansible renders each as it searches, warning about
    // one it cannot).
    let mut rendered: Vec<String> = Vec::new();
    let mut scope = None;
    for handler in &handlers {
        let Some(name) = handler
            .name
            .as_deref()
            .filter(|n| Templates::is_template(n))
        else {
            continue;
        };
        let scope = scope.get_or_insert_with(|| state.scope(&Map::new(), &ctx.options.extra_vars));
        match ctx.templates.render_text(name, scope) {
            Ok(name) => rendered.push(name),
            Err(e) if handler.listen.is_empty() => warn_once(
                ctx,
                format!("unusable {name}"),
                format!(
                    "Handler '{name}' is unusable because it has no listen topics and the name \
                     could not be templated (host-specific variables are not supported in \
                     handler names). The error: {e}"
                ),
            ),
            Err(_) => {}
        }
    }
    let answered =
        |name: &String| rendered.contains(name) || handlers.iter().any(|h| h.answers_to(name));
    for name in names.iter().filter(|n| !answered(n)) {
        let message = format!(
            "The requested handler '{name}' was not found in either the main handlers list nor \
             in the listening handlers list"
        );
        if !ctx.missing_handler_warns {
            return Some(message);
        }
        warn_once(ctx, format!("missing {name}"), message);
    }
    None
}

/// Warns with `message` unless a warning under `key` was given already.
fn warn_once(ctx: &RunContext, key: String, message: String) {
    let mut warned = ctx
        .missing_handlers_warned
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !warned.contains(&key) {
        warned.push(key);
        warn(ctx, message);
    }
}

/// What each handler answers to, as Ansible resolves a notification.
/// Handlers come in blocks: the play's `handlers:` is one, each role
/// instance's another. Ansible searches the blocks last first and each
/// block top down, so a name reaches the first handler of that name in the
/// last block holding one (a role read twice brings its handlers twice;
/// one runs), and a `listen:` topic every handler listening to it, but
/// only one of those sharing a name.
fn answered_topics(handlers: &[Task]) -> Vec<Vec<String>> {
    let mut claimed: Vec<String> = Vec::new();
    let mut listened: Vec<(String, String)> = Vec::new();
    let mut answered: Vec<Vec<String>> = vec![Vec::new(); handlers.len()];
    for block in handler_blocks(handlers).into_iter().rev() {
        for i in block {
            let handler = &handlers[i];
            for name in handler.handler_names() {
                if !claimed.contains(&name) {
                    claimed.push(name.clone());
                    answered[i].push(name);
                }
            }
            for topic in handler.listen_topics() {
                if let Some(name) = &handler.name {
                    let key = (topic.clone(), name.clone());
                    if listened.contains(&key) {
                        continue;
                    }
                    listened.push(key);
                }
                answered[i].push(topic);
            }
        }
    }
    answered
}

/// The handlers' indices grouped in blocks as Ansible loads them: each run
/// of handlers from the same place (the play, or one role instance).
fn handler_blocks(handlers: &[Task]) -> Vec<std::ops::Range<usize>> {
    let same_place = |a: &Task, b: &Task| match (&a.role, &b.role) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    };
    let mut blocks: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, handler) in handlers.iter().enumerate() {
        match blocks.last_mut() {
            Some(block) if same_place(&handlers[block.start], handler) => block.end = i + 1,
            _ => blocks.push(i..i + 1),
        }
    }
    blocks
}

/// Runs `steps` in order on the chosen hosts that are still active;
/// false once none of them is left to take the next step.
fn run_steps<'a>(
    ctx: &'a Arc<RunContext>,
    play: &'a Arc<Play>,
    steps: &'a [Step],
    states: &'a mut [Option<HostState>],
    batch: &'a Batch,
    chosen: &'a [usize],
) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
    Box::pin(async move {
        for step in steps {
            let going = match step {
                Step::Task(task) if batch.running_handlers() => {
                    // The tasks an `include_tasks` handler brought: handlers
                    // too, which tags do not choose.
                    run_handler(ctx, play, task, states, batch, chosen).await;
                    any_active(states, chosen)
                }
                Step::Task(task) => {
                    let tags = rendered_tags(&task.tags, play, &ctx.templates, &ctx.options);
                    let play_tags = rendered_tags(&play.tags, play, &ctx.templates, &ctx.options);
                    if !selected_by_tags(&tags, &play_tags, &ctx.options) || !started_at(ctx, task)
                    {
                        continue;
                    }
                    if let Some(action) = task.meta {
                        let going =
                            meta::run_meta(ctx, play, task, action, states, batch, chosen, false)
                                .await;
                        if !going {
                            return false;
                        }
                        continue;
                    }
                    let task = Arc::new(task.as_ref().clone());
                    run_task(ctx, play, &task, states, batch, chosen, false).await
                }
                Step::Block(block) => run_block(ctx, play, block, states, batch, chosen).await,
                Step::Include(include) => {
                    let tags = rendered_tags(&include.tags, play, &ctx.templates, &ctx.options);
                    let play_tags = rendered_tags(&play.tags, play, &ctx.templates, &ctx.options);
                    if !selected_by_tags(&tags, &play_tags, &ctx.options) || waiting_for_start(ctx)
                    {
                        continue;
                    }
                    include::run_include(ctx, play, include, states, batch, chosen).await
                }
            };
            if !going {
                return false;
            }
        }
        any_active(states, chosen)
    })
}

/// A block on the chosen hosts: its body; its `rescue:` on the hosts that
/// failed in the body (they are rescued, not failed, and go on); its
/// `always:` on every host that entered it and can still be reached,
/// failed or not (a failure it did not rescue stands after it).
async fn run_block(
    ctx: &Arc<RunContext>,
    play: &Arc<Play>,
    block: &Block,
    states: &mut [Option<HostState>],
    batch: &Batch,
    chosen: &[usize],
) -> bool {
    let mut entered: Vec<usize> = chosen
        .iter()
        .copied()
        .filter(|i| states[*i].as_ref().is_some_and(HostState::active))
        .collect();
    if entered.is_empty() {
        return false;
    }
    if let Some(role) = &block.once {
        // A role's block: the hosts that already ran it sit it out.
        entered.retain(|&i| states[i].as_mut().is_some_and(|s| s.first_run_of(role)));
        if entered.is_empty() {
            return true;
        }
    }
    // A failed host still runs the block's `rescue:` or `always:` (whose
    // `meta: clear_host_errors` may keep it in the play): a fatal error
    // in the body breaks the batch only when other hosts are still going.
    let rescuable = !block.rescue.is_empty() || !block.always.is_empty();
    if rescuable {
        batch.enter_rescuable(true);
    }
    run_steps(ctx, play, &block.body, states, batch, &entered).await;
    if rescuable {
        batch.enter_rescuable(false);
    }
    let failed_in_body = hosts_where(states, &entered, |s| s.failed && !s.unreachable);
    if !block.rescue.is_empty() && !failed_in_body.is_empty() {
        for &i in &failed_in_body {
            if let Some(state) = states[i].as_mut() {
                state.rescue();
            }
        }
        run_steps(ctx, play, &block.rescue, states, batch, &failed_in_body).await;
    }
    if !block.always.is_empty() {
        let reachable = hosts_where(states, &entered, |s| !s.unreachable);
        let failed_before = hosts_where(states, &reachable, |s| s.failed);
        for &i in &failed_before {
            if let Some(state) = states[i].as_mut() {
                state.failed = false;
                state.errors_cleared = false;
            }
        }
        run_steps(ctx, play, &block.always, states, batch, &reachable).await;
        for &i in &failed_before {
            if let Some(state) = states[i].as_mut() {
                // Unless its `always:` cleared the host's errors.
                state.failed |= !state.errors_cleared;
                state.errors_cleared = false;
            }
        }
    }
    // A limit that broke the batch lets a host finish its rescue and
    // always, and no more.
    if batch.is_broken() {
        batch.end(states);
    }
    any_active(states, &entered)
}

/// The chosen hosts still taking tasks, with a step the play runs itself
/// (an include, a `meta:`; a `handler` or not) announced to them as
/// `shown`; `None` when none is left.
fn announce(
    ctx: &RunContext,
    states: &[Option<HostState>],
    chosen: &[usize],
    (shown, handler): (&str, bool),
    origin: &capstan_yaml::Pos,
) -> Option<Vec<usize>> {
    let active = hosts_where(states, chosen, HostState::active);
    if active.is_empty() {
        return None;
    }
    (ctx.events)(&PlaybookEvent::Task {
        name: shown.to_string(),
        handler,
        hosts: active.len(),
        origin: Some(origin.to_string()),
    });
    Some(active)
}

/// The chosen hosts (still in the run) whose state passes `test`.
fn hosts_where(
    states: &[Option<HostState>],
    chosen: &[usize],
    test: impl Fn(&HostState) -> bool,
) -> Vec<usize> {
    chosen
        .iter()
        .copied()
        .filter(|i| states[*i].as_ref().is_some_and(&test))
        .collect()
}

/// Whether any of the chosen hosts still takes tasks.
fn any_active(states: &[Option<HostState>], chosen: &[usize]) -> bool {
    chosen
        .iter()
        .any(|i| states[*i].as_ref().is_some_and(HostState::active))
}

/// Fails a host whose play vars could not be loaded, with a result that
/// says why.
fn fail_host_setup(ctx: &RunContext, play: &Play, state: &mut HostState, message: String) {
    fail_host(ctx, play, state, "play vars", "vars", message);
}

/// Fails a host outside a plugin's task (its play vars, a `meta:`
/// condition), with a result that names `task` and says why.
fn fail_host(
    ctx: &RunContext,
    play: &Play,
    state: &mut HostState,
    task: &str,
    module: &str,
    message: String,
) {
    state.failed = true;
    state.recap.failed += 1;
    let outcome = TaskOutcome {
        host: state.name.clone(),
        play: play.name.clone(),
        task: ctx.secrets.mask(task),
        module: module.into(),
        status: ResultStatus::Failed,
        ignored: false,
        summary: message.clone(),
        diff: None,
        result: serde_json::json!({"failed": true, "msg": message}),
        duration_ms: 0,
    };
    (ctx.events)(&PlaybookEvent::HostDone(outcome));
}

/// Ansible's tag rules: `--tags` keeps tasks with a listed tag (or
/// `always`); `--skip-tags` drops tasks with a listed tag; `never` runs
/// only when asked for by name.
/// Whether `task` runs as far as `--start-at-task` goes: it matches the
/// pattern (which is then spent), or the run has already started.
fn started_at(ctx: &RunContext, task: &Task) -> bool {
    let mut start = ctx
        .start_at
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(pattern) = start.as_deref() else {
        return true;
    };
    let matches = super::selection::task_names(task)
        .iter()
        .any(|name| super::selection::glob_matches(pattern, name));
    if matches {
        *start = None;
    }
    matches
}

/// Whether `--start-at-task` is still passing steps over.
fn waiting_for_start(ctx: &RunContext) -> bool {
    ctx.start_at
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_some()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::host_state::tests::empty_play;
    use super::*;

    fn tagged(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|t| t.to_string()).collect()
    }

    /// A handler named `name` (none when empty) listening to `listen`,
    /// from `role` (none: the play's own).
    fn handler(
        name: &str,
        listen: &[&str],
        role: Option<&Arc<crate::playbook::model::RoleRef>>,
    ) -> Task {
        let pos = capstan_yaml::Pos {
            file: "site.yml".into(),
            line: 1,
            column: 1,
        };
        Task {
            name: (!name.is_empty()).then(|| name.to_string()),
            listen: tagged(listen),
            role: role.cloned(),
            ..Task::new(Module::Debug, "debug", pos)
        }
    }

    #[test]
    fn a_name_reaches_the_first_of_the_play_and_the_last_roles_and_listeners_run_once() {
        let web = Arc::new(crate::playbook::model::RoleRef {
            name: "web".into(),
            path: "roles/web".into(),
        });
        let again = Arc::new(crate::playbook::model::RoleRef {
            name: "web".into(),
            path: "roles/web".into(),
        });
        let handlers = [
            handler("restart", &[], None),
            handler("restart", &[], None),
            handler("a", &["topic"], None),
            handler("a", &["topic"], None),
            handler("", &["topic"], None),
            handler("reload", &[], Some(&web)),
            handler("reload", &[], Some(&again)),
        ];
        let answered = answered_topics(&handlers);
        let answers = |i: usize, topic: &str| answered[i].iter().any(|t| t == topic);
        assert!(answers(0, "restart") && !answers(1, "restart"));
        assert!(answers(2, "topic") && !answers(3, "topic") && answers(4, "topic"));
        assert!(!answers(5, "reload") && answers(6, "reload"));
        assert!(answers(6, "web : reload"));
    }

    fn options(tags: &[&str], skip: &[&str]) -> PlaybookOptions {
        PlaybookOptions {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            skip_tags: skip.iter().map(|t| t.to_string()).collect(),
            ..PlaybookOptions::default()
        }
    }

    #[test]
    fn tags_select_tasks_as_ansibles_do() {
        let none = options(&[], &[]);
        assert!(selected_by_tags(&tagged(&[]), &[], &none));
        assert!(!selected_by_tags(&tagged(&["never"]), &[], &none));
        let web = options(&["web"], &[]);
        assert!(selected_by_tags(&tagged(&["web"]), &[], &web));
        assert!(!selected_by_tags(&tagged(&["db"]), &[], &web));
        assert!(selected_by_tags(&tagged(&["always"]), &[], &web));
        assert!(selected_by_tags(&tagged(&["never", "web"]), &[], &web));
        // The play's tags count as the task's.
        assert!(selected_by_tags(&tagged(&[]), &["web".into()], &web));
        // `--skip-tags` wins over everything, `always` too.
        let skip = options(&[], &["always"]);
        assert!(!selected_by_tags(&tagged(&["always"]), &[], &skip));
        // `all` does not bring back `never`; naming it does.
        assert!(!selected_by_tags(
            &tagged(&["never"]),
            &[],
            &options(&["all"], &[])
        ));
        assert!(selected_by_tags(
            &tagged(&["never"]),
            &[],
            &options(&["never"], &[])
        ));
        // `tagged` and `untagged`, as Ansible reads them.
        let only_tagged = options(&["tagged"], &[]);
        assert!(selected_by_tags(&tagged(&["web"]), &[], &only_tagged));
        assert!(!selected_by_tags(&tagged(&[]), &[], &only_tagged));
        let only_untagged = options(&["untagged"], &[]);
        assert!(selected_by_tags(&tagged(&[]), &[], &only_untagged));
        assert!(!selected_by_tags(&tagged(&["web"]), &[], &only_untagged));
        assert!(selected_by_tags(&tagged(&["always"]), &[], &only_untagged));
        assert!(!selected_by_tags(
            &tagged(&["always"]),
            &[],
            &options(&["untagged"], &["always"])
        ));
        assert!(!selected_by_tags(
            &tagged(&["web"]),
            &[],
            &options(&[], &["tagged"])
        ));
        assert!(!selected_by_tags(
            &tagged(&[]),
            &[],
            &options(&[], &["all"])
        ));
        assert!(selected_by_tags(
            &tagged(&["always"]),
            &[],
            &options(&[], &["all"])
        ));
    }

    fn inventory() -> Vec<crate::inventory::Host> {
        ["web-1", "web-2", "web-3", "db-1"]
            .iter()
            .map(|name| {
                let group = if name.starts_with("web") { "web" } else { "db" };
                crate::inventory::Host {
                    name: name.to_string(),
                    address: "127.0.0.1".into(),
                    port: 22,
                    user: "root".into(),
                    auth: crate::inventory::HostAuth::Agent,
                    environment: None,
                    groups: vec![group.to_string()],
                    vars: Default::default(),
                }
            })
            .collect()
    }

    fn play_on(hosts: &str) -> Play {
        Play {
            hosts: hosts.into(),
            ..empty_play()
        }
    }

    #[test]
    fn a_plays_hosts_are_its_rendered_pattern_cut_by_the_limit() {
        let templates = Templates::new();
        let inventory = inventory();
        let mut options = options(&[], &[]);
        options.extra_vars.insert("tier".into(), json!("web"));
        let pattern = PlayPattern {
            templates: &templates,
            options: &options,
            inventory: &inventory,
        };
        assert_eq!(
            pattern.hosts(&play_on("{{ tier }}:!web-3")).unwrap(),
            ["web-1", "web-2"]
        );
        let limited_options = PlaybookOptions {
            limit: Some("web-2:db-1".into()),
            ..options.clone()
        };
        let limited = PlayPattern {
            options: &limited_options,
            ..pattern
        };
        assert_eq!(limited.hosts(&play_on("web")).unwrap(), ["web-2"]);
        assert_eq!(limited.hosts(&play_on("all")).unwrap(), ["web-2", "db-1"]);
    }

    #[test]
    fn a_pattern_that_cannot_render_stops_the_run_and_one_that_matches_nothing_skips() {
        let templates = Templates::new();
        let inventory = inventory();
        let options = options(&[], &[]);
        let pattern = PlayPattern {
            templates: &templates,
            options: &options,
            inventory: &inventory,
        };
        assert_eq!(
            pattern.hosts(&play_on("{{ nowhere }}")),
            Err(PlayHostsError::Unrendered("'nowhere' is undefined".into()))
        );
        assert!(matches!(
            pattern.hosts(&play_on("mail")),
            Err(PlayHostsError::Unmatched(_))
        ));
    }
}
