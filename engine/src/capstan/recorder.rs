//! The one place where a run's events become rows. Runners (the job
//! runner, the playbook runner) only announce what happens; the facade
//! puts a [`Recorder`] between them and whoever watches, and it saves each
//! event before passing it on, so a watcher told a job finished finds it
//! finished in the store.
//!
//! Log lines and task outcomes are saved in batches (a chatty plugin or a
//! task on 200 hosts does not cost a transaction per line or host): lines
//! every [`LOG_BATCH`] and before a target's result, outcomes when the next
//! task, play or the end comes.
//! Whatever is still pending when the recorder goes (a run dropped
//! mid-way) is saved then.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::jobs::{EventSink, JobEvent, LogLine, TargetResult};
use crate::playbook::{PlaybookEvent, PlaybookEventSink, Recap, TaskOutcome};
use capstan_store::{JobEnd, Store, StoreError};

/// Log lines saved in one transaction.
const LOG_BATCH: usize = 64;

/// Task outcomes saved in one transaction at most, when a task's hosts are
/// many.
const OUTCOME_BATCH: usize = 256;

/// Saves one job's events as they pass.
pub(crate) struct Recorder {
    store: Store,
    job_id: i64,
    /// Cancelled: the job ends `cancelled` rather than `finished`.
    cancel: CancellationToken,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    logs: Vec<LogLine>,
    outcomes: Vec<TaskOutcome>,
    /// The first failure to close the job, given back by [`Recorder::close`].
    closing: Option<StoreError>,
}

impl Recorder {
    /// A recorder for the job `job_id`, already created in `store`, which
    /// `cancel` stops.
    pub(crate) fn new(store: Store, job_id: i64, cancel: CancellationToken) -> Arc<Self> {
        Arc::new(Recorder {
            store,
            job_id,
            cancel,
            pending: Mutex::new(Pending::default()),
        })
    }

    /// A job sink that saves each event, then hands it to `watcher`.
    pub(crate) fn job_events(self: &Arc<Self>, watcher: EventSink) -> EventSink {
        let recorder = self.clone();
        Arc::new(move |event| {
            recorder.record_job(event);
            watcher(event);
        })
    }

    /// A playbook sink that saves each event, then hands it to `watcher`.
    pub(crate) fn playbook_events(
        self: &Arc<Self>,
        watcher: PlaybookEventSink,
    ) -> PlaybookEventSink {
        let recorder = self.clone();
        Arc::new(move |event| {
            recorder.record_playbook(event);
            watcher(event);
        })
    }

    /// Saves what is pending and tells whether the job could be closed
    /// (its end state saved).
    pub(crate) fn close(&self) -> Result<()> {
        self.flush_logs();
        self.flush_outcomes();
        match self.pending().closing.take() {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    fn record_job(&self, event: &JobEvent) {
        match event {
            JobEvent::Started { .. } => {}
            JobEvent::Log(line) => self.log(line),
            // A target's lines are saved before its result, as a watcher
            // told of the result may read them.
            JobEvent::TargetDone(result) => {
                self.flush_logs();
                self.result(result);
            }
            JobEvent::Finished { .. } => {
                self.flush_logs();
                self.finish(None, &[]);
            }
        }
    }

    fn record_playbook(&self, event: &PlaybookEvent) {
        match event {
            PlaybookEvent::Started { .. } => {}
            PlaybookEvent::Play { .. } | PlaybookEvent::Task { .. } => self.flush_outcomes(),
            PlaybookEvent::Log(line) => self.log(line),
            PlaybookEvent::HostDone(outcome) => {
                if push(&mut self.pending().outcomes, outcome, OUTCOME_BATCH) {
                    self.flush_outcomes();
                }
            }
            PlaybookEvent::Finished { recap, error, .. } => {
                self.flush_logs();
                self.flush_outcomes();
                self.finish(error.as_deref(), recap);
            }
        }
    }

    fn log(&self, line: &LogLine) {
        if push(&mut self.pending().logs, line, LOG_BATCH) {
            self.flush_logs();
        }
    }

    fn result(&self, result: &TargetResult) {
        self.logged(
            "a target result",
            self.store.save_result(self.job_id, result),
        );
    }

    /// Closes the job: a playbook's stopping error, one result per host of
    /// its recap, then the end time. The first failure is kept for
    /// [`Recorder::close`].
    fn finish(&self, error: Option<&str>, recap: &[Recap]) {
        if let Err(e) = self.close_job(error, recap) {
            tracing::error!(job = self.job_id, error = %e, "could not close the job");
            self.pending().closing.get_or_insert(e);
        }
    }

    fn close_job(&self, error: Option<&str>, recap: &[Recap]) -> Result<(), StoreError> {
        if let Some(error) = error {
            self.store.fail_job(self.job_id, error)?;
        }
        for host in recap {
            self.store.save_result(self.job_id, &recap_result(host))?;
        }
        let end = match self.cancel.is_cancelled() {
            true => JobEnd::Cancelled,
            false => JobEnd::Finished,
        };
        self.store.finish_job(self.job_id, end)
    }

    fn flush_logs(&self) {
        let lines = std::mem::take(&mut self.pending().logs);
        if !lines.is_empty() {
            self.logged("log lines", self.store.append_logs(self.job_id, &lines));
        }
    }

    fn flush_outcomes(&self) {
        let outcomes = std::mem::take(&mut self.pending().outcomes);
        if !outcomes.is_empty() {
            let saved = self.store.save_task_outcomes(self.job_id, &outcomes);
            self.logged("task results", saved);
        }
    }

    /// A save that failed is logged; the run goes on (its events were
    /// announced, and the watcher has them).
    fn logged(&self, what: &str, saved: Result<(), StoreError>) {
        if let Err(e) = saved {
            tracing::error!(job = self.job_id, error = %e, "could not save {what}");
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Recorder {
    /// A run dropped mid-way (its future cancelled) still keeps the lines
    /// and outcomes it announced.
    fn drop(&mut self) {
        self.flush_logs();
        self.flush_outcomes();
    }
}

/// Adds `item` to a batch; true when the batch is full and due to be saved.
fn push<T: Clone>(batch: &mut Vec<T>, item: &T, size: usize) -> bool {
    batch.push(item.clone());
    batch.len() >= size
}

/// A playbook host's recap as the job's result for that host.
fn recap_result(host: &Recap) -> TargetResult {
    TargetResult {
        target: host.host.clone(),
        status: host.status(),
        summary: host.counts(),
        diff: None,
        data: Some(serde_json::to_value(host).unwrap_or_default()),
        failure: None,
        duration_ms: 0,
    }
}
