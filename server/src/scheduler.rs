//! The service's scheduler: it reads the schedules from the store (so one
//! added, paused or removed by the CLI beside the service counts within a
//! second), asks the engine what is due, and starts each firing as a job
//! launched by `schedule:NAME`, like an API run. It sleeps until the next
//! due time, or a second at most.

use std::time::Duration;

use capstan_engine::Due;
use capstan_engine::clock::now_ms;
use capstan_engine::cron::CronTimes;
use capstan_wire::Actor;
use capstan_wire::schedules::ScheduledJob;
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::routes::runs::start_scheduled;

/// The longest the scheduler sleeps between looks at the store.
pub const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Runs the schedules until `stop` is cancelled.
pub async fn run(state: AppState, stop: CancellationToken) {
    let mut at_start = true;
    loop {
        let now = now_ms();
        let schedules = match state.capstan.store().schedules() {
            Ok(schedules) => schedules,
            Err(e) => {
                tracing::error!("reading schedules failed: {e}");
                Vec::new()
            }
        };
        let mut next_due = now + LOOK_EVERY.as_millis() as i64;
        for schedule in &schedules {
            let name = &schedule.spec.name;
            match state.capstan.take_due(schedule, now, at_start) {
                Ok(Due::Nothing) => {}
                Ok(Due::Skipped(why)) => {
                    tracing::info!(schedule = %name, "skipped: {why}");
                }
                Ok(Due::Fire(job)) => fire(&state, name, job).await,
                Err(e) => tracing::warn!(schedule = %name, "cannot be handled: {e}"),
            }
            if !schedule.paused
                && let Some(next) =
                    CronTimes::parse(&schedule.spec.cron, schedule.spec.tz.as_deref())
                        .ok()
                        .and_then(|times| times.next_after(now))
            {
                next_due = next_due.min(next);
            }
        }
        at_start = false;
        let wait = (next_due - now_ms()).clamp(1, LOOK_EVERY.as_millis() as i64);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
        }
    }
}

/// Starts one firing's job and records it on the schedule; a firing that
/// cannot start (its plugin was removed, say) is audited.
async fn fire(state: &AppState, name: &str, job: ScheduledJob) {
    let actor = Actor::Schedule(name.to_string());
    let recorded = match start_scheduled(state, &actor, job).await {
        Ok(job_id) => {
            tracing::info!(schedule = %name, job_id, "fired");
            state.announce(
                capstan_wire::events::EventKind::ScheduleFired,
                serde_json::json!({ "schedule": name, "job": job_id }),
            );
            state.capstan.schedule_fired(name, job_id)
        }
        Err(e) => {
            tracing::warn!(schedule = %name, "could not start: {}", e.0.message);
            state.capstan.schedule_failed(name, &e.0.message)
        }
    };
    if let Err(e) = recorded {
        tracing::error!(schedule = %name, "recording the firing failed: {e}");
    }
}
