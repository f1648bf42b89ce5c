//! The updates of the jobs this service runs, kept in memory while each
//! runs and for a while after, so a client that started one (the CLI
//! with `--server`) can follow it as it happens and print exactly what a
//! local run prints. Jobs run by other processes are followed from the
//! store instead (`/jobs/{id}/log`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capstan_engine::jobs::{EventSink, JobEvent, JobUpdate, UpdateStream};
use capstan_engine::playbook::{PlaybookEvent, PlaybookEventSink};
use tokio::sync::watch;

/// How long a finished job's updates stay to be read.
pub const KEPT_AFTER_END: Duration = Duration::from_secs(600);

/// Updates kept per job; past that, log lines are dropped (the store has
/// them all) and the rest kept.
const MAX_UPDATES: usize = 50_000;

/// One job's updates so far.
#[derive(Debug, Default)]
struct Journal {
    updates: Vec<JobUpdate>,
    dropped_lines: usize,
    ended_at: Option<Instant>,
}

/// One job's updates, and a signal that moves whenever one is added.
#[derive(Debug)]
pub struct LiveJob {
    journal: Mutex<Journal>,
    /// Counts changes: an update added, or the run's end.
    changed: watch::Sender<u64>,
}

impl LiveJob {
    fn new() -> Self {
        LiveJob {
            journal: Mutex::default(),
            changed: watch::channel(0).0,
        }
    }

    fn push(&self, update: JobUpdate) {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        if journal.updates.len() >= MAX_UPDATES && matches!(update, JobUpdate::Log { .. }) {
            if journal.dropped_lines == 0 {
                tracing::warn!(
                    MAX_UPDATES,
                    "a job wrote more updates than are kept in memory: further log lines are in its stored log only"
                );
            }
            journal.dropped_lines += 1;
            return;
        }
        journal.updates.push(update);
        drop(journal);
        self.changed.send_modify(|n| *n += 1);
    }

    /// Marks the job's run over: the stream ends once it is read.
    pub fn end(&self) {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        journal.ended_at = Some(Instant::now());
        drop(journal);
        self.changed.send_modify(|n| *n += 1);
    }

    /// The updates from number `from` (0-based) on, and whether the run
    /// is over.
    pub fn read_from(&self, from: usize) -> (Vec<JobUpdate>, bool) {
        let journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        let updates = journal.updates.get(from..).unwrap_or_default().to_vec();
        (updates, journal.ended_at.is_some())
    }

    /// A receiver that sees a change whenever an update is added or the
    /// run ends.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// Every job this service runs, by number.
#[derive(Debug, Default)]
pub struct LiveJobs {
    jobs: Mutex<HashMap<i64, Arc<LiveJob>>>,
}

impl LiveJobs {
    /// The job's updates, if this service runs (or recently ran) it.
    pub fn get(&self, job_id: i64) -> Option<Arc<LiveJob>> {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&job_id)
            .cloned()
    }

    /// Starts keeping the updates of a job whose run is about to begin;
    /// it is found by number once its first update names it.
    pub fn track(self: &Arc<Self>) -> Tracked {
        Tracked {
            jobs: self.clone(),
            job: Arc::new(LiveJob::new()),
            stream: Arc::new(UpdateStream::default()),
        }
    }

    fn register(&self, job_id: i64, job: Arc<LiveJob>) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.retain(|_, job| {
            let journal = job.journal.lock().unwrap_or_else(|e| e.into_inner());
            journal
                .ended_at
                .is_none_or(|ended| ended.elapsed() < KEPT_AFTER_END)
        });
        jobs.insert(job_id, job);
    }
}

/// One job being tracked: the sinks to give the engine, and the end.
#[derive(Clone)]
pub struct Tracked {
    jobs: Arc<LiveJobs>,
    job: Arc<LiveJob>,
    stream: Arc<UpdateStream>,
}

impl Tracked {
    fn push(&self, update: JobUpdate) {
        if let JobUpdate::Started { job_id, .. } = update {
            self.jobs.register(job_id, self.job.clone());
        }
        self.job.push(update);
    }

    /// A sink for a plugin action's events, calling `also` for each too.
    pub fn action_sink(&self, also: impl Fn(&JobEvent) + Send + Sync + 'static) -> EventSink {
        let this = self.clone();
        Arc::new(move |event: &JobEvent| {
            also(event);
            this.push(this.stream.of_action(event));
        })
    }

    /// A sink for a playbook's events, calling `also` for each too.
    pub fn playbook_sink(
        &self,
        also: impl Fn(&PlaybookEvent) + Send + Sync + 'static,
    ) -> PlaybookEventSink {
        let this = self.clone();
        Arc::new(move |event: &PlaybookEvent| {
            also(event);
            this.push(this.stream.of_playbook(event));
        })
    }

    /// The run is over (its record final).
    pub fn end(&self) {
        self.job.end();
    }
}
