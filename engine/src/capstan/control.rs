//! How a job is launched and stopped: who launched it, the token that
//! cancels it, and the watch that turns a cancel request recorded in the
//! store (by any process: another CLI, the window, the service) into that
//! token being cancelled here, where the job runs.

use std::time::Duration;

use capstan_store::{CancelRequest, Store};
use capstan_wire::Actor;
use tokio_util::sync::CancellationToken;

use super::Capstan;
use crate::Result;

/// How often a running job's owner looks for a cancel request: a request
/// is acted on within this (plus the stopping itself).
pub const CANCEL_POLL: Duration = Duration::from_millis(250);

/// Who launches a job and what stops it.
#[derive(Debug, Clone, Default)]
pub struct JobControl {
    /// Recorded as the job's launcher; `None`: this process's OS user.
    pub launched_by: Option<Actor>,
    /// Cancelling it stops the job: targets under way are dropped (their
    /// remote commands signalled), none is started, and the job is
    /// recorded `cancelled` with what had finished.
    pub cancel: CancellationToken,
}

impl JobControl {
    /// A control that cancels with `cancel`.
    pub fn cancelled_by(cancel: CancellationToken) -> Self {
        JobControl {
            cancel,
            ..Default::default()
        }
    }
}

/// Watches the store for a request to cancel `job_id` while it runs;
/// stops watching when dropped.
pub(crate) struct CancelWatch {
    task: tokio::task::JoinHandle<()>,
}

impl CancelWatch {
    pub(crate) fn start(store: Store, job_id: i64, cancel: CancellationToken) -> Self {
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(CANCEL_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tick.tick() => {}
                }
                match store.cancel_requested(job_id) {
                    Ok(true) => {
                        tracing::info!(job = job_id, "cancel requested: stopping the job");
                        cancel.cancel();
                        return;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(job = job_id, error = %e, "could not look for a cancel request")
                    }
                }
            }
        });
        CancelWatch { task }
    }
}

impl Drop for CancelWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Capstan {
    /// Who this handle acts as: the OS user running it.
    pub fn actor(&self) -> Actor {
        Actor::User(crate::inventory::current_user())
    }

    /// Asks for job `id` to be cancelled, whichever process runs it; that
    /// process stops it within [`CANCEL_POLL`] of the request.
    pub fn cancel_job(&self, id: i64, by: &Actor) -> Result<CancelRequest> {
        Ok(self.store.request_cancel(id, by)?)
    }
}
