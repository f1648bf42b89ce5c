//! The event bus of a running Capstan: each event goes to every installed
//! plugin that subscribes to its kind, through one bounded queue and one
//! worker per plugin, so a plugin sees its events one at a time and in the
//! order they were published. A delivery the plugin refuses (or that
//! crashes, or hits a limit) is tried again after a growing delay, with the
//! same event id, up to [`BusSettings::attempts`] times: delivery is at
//! least once. Each event is written to the store's outbox before it is
//! queued and struck off once settled, so a service that stops or dies
//! meanwhile hands it again when it starts ([`EventBus::resume`]). A
//! producer may wait, bounded, until every subscriber has acknowledged an
//! event ([`EventBus::publish_and_wait`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capstan_wire::Actor;
use capstan_wire::events::{Acknowledgements, Event, EventKind, GaveUp, SubscriberStatus};
use capstan_wire::jobs::JobRecord;
use capstan_wire::status::ResultStatus;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::capstan::EventDelivery;
use crate::{Capstan, Result};

/// How the bus queues and retries.
#[derive(Debug, Clone, Copy)]
pub struct BusSettings {
    /// Events one plugin may have waiting; past it new ones are dropped
    /// for that plugin (and reported as failed to a waiting producer).
    pub backlog: usize,
    /// Delivery attempts per event and plugin, the first included.
    pub attempts: u32,
    /// The delay before the second attempt; it doubles after each one.
    pub first_retry: Duration,
    /// The longest delay between attempts.
    pub max_retry: Duration,
}

impl Default for BusSettings {
    fn default() -> Self {
        BusSettings {
            backlog: 1_000,
            attempts: 5,
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(60),
        }
    }
}

/// Hands events to subscribed plugins. Cloning shares the bus.
#[derive(Clone)]
pub struct EventBus {
    capstan: Arc<Capstan>,
    settings: BusSettings,
    next_id: Arc<AtomicU64>,
    queues: Arc<Mutex<HashMap<String, mpsc::Sender<Queued>>>>,
    status: Arc<Mutex<HashMap<String, SubscriberStatus>>>,
}

/// One event waiting for one plugin, and who to tell how it went.
struct Queued {
    event: Arc<Event>,
    tracker: Arc<AckTracker>,
}

/// An event on its way, and the subscribers it went to.
pub struct Published {
    /// The event as handlers receive it.
    pub event: Arc<Event>,
    tracker: Arc<AckTracker>,
}

impl Published {
    /// Waits until every subscriber has handled the event or given up on
    /// it, or until `wait` has passed; says who did what.
    pub async fn acknowledgements(&self, wait: Duration) -> Acknowledgements {
        self.tracker.wait(self.event.id, wait).await
    }
}

impl EventBus {
    /// A bus over `capstan`'s installed plugins. Event ids start from the
    /// clock in microseconds, so they keep increasing across restarts.
    pub fn new(capstan: Arc<Capstan>, settings: BusSettings) -> Self {
        let start = capstan_wire::clock::now_ms().max(0) as u64 * 1_000;
        EventBus {
            capstan,
            settings,
            next_id: Arc::new(AtomicU64::new(start)),
            queues: Arc::new(Mutex::new(HashMap::new())),
            status: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Publishes an event to every plugin subscribed to `kind`; returns at
    /// once (the handlers run on the plugins' own workers).
    pub fn publish(
        &self,
        kind: EventKind,
        target: Option<String>,
        data: Value,
    ) -> Result<Published> {
        let event = Arc::new(Event {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            kind,
            at_ms: capstan_wire::clock::now_ms(),
            target,
            data,
        });
        let subscribers = self.capstan.subscribers(kind)?;
        if let Err(e) = self
            .capstan
            .store()
            .owe_event(&subscribers, &event, event.at_ms)
        {
            // Still handed on now; only a restart before it is handled
            // would lose it.
            tracing::error!(event = event.id, kind = %kind, "recording the event in the outbox failed: {e}");
        }
        let tracker = Arc::new(AckTracker::new(&subscribers));
        for plugin in subscribers {
            self.enqueue(&plugin, event.clone(), tracker.clone());
        }
        tracing::debug!(event = event.id, kind = %kind, "event published");
        Ok(Published { event, tracker })
    }

    /// Hands again the events the outbox says are still owed (a service
    /// that stopped or died before its subscribers settled them), each
    /// plugin's in the order they were first published, with their first
    /// ids. Call it once, before anything publishes. An event whose plugin
    /// no longer subscribes to its kind (or is gone) is struck off.
    /// Returns how many were queued again.
    pub fn resume(&self) -> Result<usize> {
        let store = self.capstan.store();
        let mut subscribers: HashMap<EventKind, Vec<String>> = HashMap::new();
        let mut queued = 0;
        for owed in store.owed_events()? {
            let kind = owed.event.kind;
            let wanted = match subscribers.entry(kind) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(new) => {
                    new.insert(self.capstan.subscribers(kind)?)
                }
            };
            if !wanted.contains(&owed.plugin) {
                tracing::info!(plugin = %owed.plugin, event = owed.event.id, "an owed event's plugin no longer subscribes to it: struck off");
                self.strike_off(&owed.plugin, owed.event.id);
                continue;
            }
            let tracker = Arc::new(AckTracker::new(std::slice::from_ref(&owed.plugin)));
            if self.enqueue(&owed.plugin, Arc::new(owed.event), tracker) {
                queued += 1;
            }
        }
        if queued > 0 {
            tracing::info!(
                queued,
                "events owed from before the restart are handed again"
            );
        }
        Ok(queued)
    }

    /// Queues `event` for `plugin`; false (the event dropped for it,
    /// struck off and settled as failed) when its backlog is full.
    fn enqueue(&self, plugin: &str, event: Arc<Event>, tracker: Arc<AckTracker>) -> bool {
        let id = event.id;
        let kind = event.kind;
        let queued = Queued {
            event,
            tracker: tracker.clone(),
        };
        let Err(refused) = self.queue_for(plugin).try_send(queued) else {
            return true;
        };
        let why = match refused {
            mpsc::error::TrySendError::Full(_) => format!(
                "its backlog is full ({} events waiting)",
                self.settings.backlog
            ),
            mpsc::error::TrySendError::Closed(_) => "its worker stopped".to_string(),
        };
        tracing::warn!(plugin, event = id, kind = %kind, "event dropped: {why}");
        self.update_status(plugin, |s| {
            s.dropped += 1;
            s.last_error = Some(why.clone());
        });
        self.strike_off(plugin, id);
        tracker.settle(plugin, Err(why));
        false
    }

    /// Removes an event settled by (or for) `plugin` from the outbox.
    fn strike_off(&self, plugin: &str, event: u64) {
        if let Err(e) = self.capstan.store().settle_event(plugin, event) {
            tracing::warn!(
                plugin,
                event,
                "striking a settled event off the outbox failed: {e}"
            );
        }
    }

    /// Publishes and waits, at most `wait`, for every subscriber to
    /// acknowledge: what a producer uses before acting on what it
    /// announced (a task about to stop, once the proxy has drained it).
    pub async fn publish_and_wait(
        &self,
        kind: EventKind,
        target: Option<String>,
        data: Value,
        wait: Duration,
    ) -> Result<Acknowledgements> {
        let published = self.publish(kind, target, data)?;
        Ok(published.acknowledgements(wait).await)
    }

    /// How each plugin that has been handed events is doing.
    pub fn status(&self) -> Vec<SubscriberStatus> {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        let mut rows: Vec<SubscriberStatus> = status
            .values()
            .cloned()
            .map(|mut row| {
                row.backlog = queues
                    .get(&row.plugin)
                    .map_or(0, |q| (q.max_capacity() - q.capacity()) as u64);
                row
            })
            .collect();
        rows.sort_by(|a, b| a.plugin.cmp(&b.plugin));
        rows
    }

    /// The queue of `plugin`, its worker started on first use.
    fn queue_for(&self, plugin: &str) -> mpsc::Sender<Queued> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = queues.get(plugin).filter(|q| !q.is_closed()) {
            return queue.clone();
        }
        let (sender, receiver) = mpsc::channel(self.settings.backlog.max(1));
        queues.insert(plugin.to_string(), sender.clone());
        self.update_status(plugin, |_| {});
        tokio::spawn(self.clone().work(plugin.to_string(), receiver));
        sender
    }

    fn update_status(&self, plugin: &str, change: impl FnOnce(&mut SubscriberStatus)) {
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        let row = status
            .entry(plugin.to_string())
            .or_insert_with(|| SubscriberStatus {
                plugin: plugin.to_string(),
                ..SubscriberStatus::default()
            });
        change(row);
    }

    /// One plugin's worker: its events one at a time, each until it is
    /// acknowledged, dropped or out of attempts. It ends when the bus and
    /// every clone of it are gone.
    async fn work(self, plugin: String, mut queue: mpsc::Receiver<Queued>) {
        // The worker must not keep its own queue open: it holds a bus
        // without the queue map's senders.
        let bus = EventBus {
            queues: Arc::new(Mutex::new(HashMap::new())),
            ..self
        };
        while let Some(queued) = queue.recv().await {
            let outcome = bus.deliver(&plugin, &queued.event).await;
            bus.strike_off(&plugin, queued.event.id);
            queued.tracker.settle(&plugin, outcome);
        }
    }

    /// Tries one event on one plugin until it is settled.
    async fn deliver(&self, plugin: &str, event: &Event) -> std::result::Result<(), String> {
        let attempts = self.settings.attempts.max(1);
        let mut delay = self.settings.first_retry;
        let mut attempt = 1;
        loop {
            let why = match self.capstan.deliver_event(plugin, event).await {
                Ok(EventDelivery::Acknowledged) => {
                    self.update_status(plugin, |s| s.delivered += 1);
                    return Ok(());
                }
                Ok(EventDelivery::Drop(why)) => {
                    tracing::warn!(plugin, event = event.id, "event not delivered: {why}");
                    self.update_status(plugin, |s| {
                        s.dropped += 1;
                        s.last_error = Some(why.clone());
                    });
                    return Err(why);
                }
                Ok(EventDelivery::Retry(why)) => why,
                Err(e) => e.to_string(),
            };
            self.update_status(plugin, |s| {
                s.retried += 1;
                s.last_error = Some(why.clone());
            });
            if attempt >= attempts {
                let why = format!("gave up after {attempt} attempts: {why}");
                tracing::warn!(plugin, event = event.id, "{why}");
                self.update_status(plugin, |s| s.dropped += 1);
                return Err(why);
            }
            tracing::info!(
                plugin,
                event = event.id,
                attempt,
                "event not handled, retrying in {delay:?}: {why}"
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.settings.max_retry);
            attempt += 1;
        }
    }
}

/// Who has settled one event so far, watched by producers waiting on it.
struct AckTracker(watch::Sender<AckState>);

#[derive(Default)]
struct AckState {
    waiting: BTreeSet<String>,
    acknowledged: Vec<String>,
    failed: Vec<GaveUp>,
}

impl AckTracker {
    fn new(subscribers: &[String]) -> Self {
        AckTracker(watch::Sender::new(AckState {
            waiting: subscribers.iter().cloned().collect(),
            ..AckState::default()
        }))
    }

    /// Records how `plugin` settled the event.
    fn settle(&self, plugin: &str, outcome: std::result::Result<(), String>) {
        self.0.send_if_modified(|state| {
            if !state.waiting.remove(plugin) {
                return false;
            }
            match outcome {
                Ok(()) => state.acknowledged.push(plugin.to_string()),
                Err(reason) => state.failed.push(GaveUp {
                    plugin: plugin.to_string(),
                    reason,
                }),
            }
            true
        });
    }

    /// Waits for every subscriber to settle, at most `wait`.
    async fn wait(&self, event: u64, wait: Duration) -> Acknowledgements {
        let mut state = self.0.subscribe();
        let _ = tokio::time::timeout(wait, state.wait_for(|s| s.waiting.is_empty())).await;
        let state = state.borrow();
        Acknowledgements {
            event,
            acknowledged: state.acknowledged.clone(),
            pending: state.waiting.iter().cloned().collect(),
            failed: state.failed.clone(),
        }
    }
}

/// What a `job-finished` event says of a job: never its parameters (they
/// may hold secrets), only what ran, where, how it went and who started it.
pub fn job_finished(job: &JobRecord) -> Value {
    let count = |status: ResultStatus| job.results.iter().filter(|r| r.status == status).count();
    let (schedule, webhook) = match &job.launched_by {
        Actor::Schedule(name) => (Some(name.as_str()), None),
        Actor::Webhook(name) => (None, Some(name.as_str())),
        _ => (None, None),
    };
    json!({
        "job": job.id,
        "kind": job.kind,
        "name": if job.is_playbook() { job.action.clone() } else { format!("{}.{}", job.plugin, job.action) },
        "plugin": job.plugin,
        "action": job.action,
        "state": job.state,
        "status": job.overall(),
        "launched_by": job.launched_by.to_string(),
        "schedule": schedule,
        "webhook": webhook,
        "targets": job.targets,
        "changed": count(ResultStatus::Changed),
        "failed": count(ResultStatus::Failed) + count(ResultStatus::Unreachable),
        "error": job.error,
        "started_at_ms": job.started_at_ms,
        "finished_at_ms": job.finished_at_ms,
    })
}
