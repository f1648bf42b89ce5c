//! The service's watch on the store: every job that ends, whichever
//! process ran it (the service, the CLI or the window beside it), becomes a
//! `job-finished` event and queues the notifications its rules ask for. The store is the one place all of them write, so
//! reading it is what makes their jobs announce the same way.

use std::collections::HashMap;
use std::time::Duration;

use capstan_engine::clock::now_ms;
use capstan_engine::events::job_finished;
use capstan_wire::events::EventKind;
use tokio_util::sync::CancellationToken;

use crate::AppState;

/// How often the store is read for jobs that ended.
pub const LOOK_EVERY: Duration = Duration::from_millis(200);

/// How far back each look reaches beyond the last end seen: a job whose
/// end another process stamped a little before it committed is still
/// found (and announced once: the ids already announced are kept).
const LOOK_BACK_MS: i64 = 5_000;

/// Jobs read per look.
const PAGE: usize = 500;

/// Announces the jobs that end from now on until `stop` is cancelled.
pub async fn job_ends(state: AppState, stop: CancellationToken) {
    let mut since = now_ms();
    let mut announced: HashMap<i64, i64> = HashMap::new();
    loop {
        match state
            .capstan
            .store()
            .jobs_ended_since(since - LOOK_BACK_MS, PAGE)
        {
            Ok(ended) => {
                for (id, finished_at) in ended {
                    if finished_at < since - LOOK_BACK_MS || announced.contains_key(&id) {
                        continue;
                    }
                    announced.insert(id, finished_at);
                    since = since.max(finished_at);
                    announce(&state, id);
                }
            }
            Err(e) => tracing::error!("reading the jobs that ended failed: {e}"),
        }
        announced.retain(|_, at| *at >= since - LOOK_BACK_MS);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(LOOK_EVERY) => {}
        }
    }
}

/// Publishes one job's end, and queues the notifications its rules ask for.
fn announce(state: &AppState, id: i64) {
    let job = match state.capstan.job(id) {
        Ok(job) => job,
        Err(e) => {
            tracing::warn!(job = id, "a job that ended could not be read: {e}");
            return;
        }
    };
    if let Err(e) = state.capstan.queue_notifications(&job) {
        tracing::error!(job = id, "queueing the job's notifications failed: {e}");
    }
    if let Err(e) = state
        .events
        .publish(EventKind::JobFinished, None, job_finished(&job))
    {
        tracing::error!(job = id, "announcing the job's end failed: {e}");
    }
}
