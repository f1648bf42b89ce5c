//! The service's watch on the store: every job that ends, whichever
//! process ran it (the service, the CLI or the window beside it), becomes a
//! `job-finished` event and queues the notifications its rules ask for. The store is the one place all of them write, so
//! reading it is what makes their jobs announce the same way.

use std::collections::HashMap;
use std::time::Duration;

use capstan_engine::clock::now_ms;
use capstan_engine::events::job_finished;
use capstan_wire::Actor;
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

/// How far back a restarted service announces the jobs that ended while it
/// was down (the last end it announced is kept in the store).
const CATCH_UP_MS: i64 = 24 * 60 * 60 * 1_000;

/// The settings key of the last job end announced.
const CURSOR: &str = "watch.last_end";

/// Announces the jobs that end until `stop` is cancelled, starting with
/// those that ended since the last one a service on this store announced
/// (a day at most), so an end while no service ran still notifies.
pub async fn job_ends(state: AppState, stop: CancellationToken) {
    let store = state.capstan.store();
    let now = now_ms();
    let mut since = store
        .setting(CURSOR)
        .ok()
        .flatten()
        .and_then(|text| text.parse::<i64>().ok())
        .map_or(now, |last| last.clamp(now - CATCH_UP_MS, now));
    let mut announced: HashMap<i64, i64> = HashMap::new();
    let me = Actor::User("capstan serve".into());
    let mut recorded = since;
    loop {
        // Every page from a little before the last end seen: ends another
        // process stamped just before it committed are found too.
        let mut from = (since - LOOK_BACK_MS, 0);
        loop {
            let page = match store.jobs_ended_after(from.0, from.1, PAGE) {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!("reading the jobs that ended failed: {e}");
                    break;
                }
            };
            for &(id, finished_at) in &page {
                from = (finished_at, id);
                if announced.insert(id, finished_at).is_none() {
                    since = since.max(finished_at);
                    announce(&state, id);
                }
            }
            if page.len() < PAGE {
                break;
            }
        }
        if since != recorded {
            match store.set_setting(CURSOR, &since.to_string(), &me, now_ms()) {
                Ok(()) => recorded = since,
                Err(e) => tracing::warn!("recording the last job end announced failed: {e}"),
            }
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
