//! Following a job as server-sent events. Two streams:
//! - `/jobs/{id}/log`, for a job run by any process: the lines already
//!   written, then each new one as the store gets it, then `end` with the
//!   job once it is no longer running.
//! - `/jobs/{id}/updates`, for a job this service runs: every update as
//!   the engine makes it (a playbook's plays, tasks and per-host results
//!   too), from memory, then `end`. This is what `capstan --server`
//!   prints from, exactly as a local run prints.
//!
//! Each event's id counts what came before it, so a client that
//! reconnects with `Last-Event-ID` gets only what it missed.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use capstan_wire::status::JobState;
use futures_util::Stream;

use crate::AppState;
use crate::auth::Reader;
use crate::error::{HttpError, HttpResult, PathOf};
use capstan_wire::ErrorCode;

/// How often the store is read for new lines while the job runs.
pub const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Lines sent in one read of the store.
const PAGE: usize = 500;

/// Follows a job's log: events `line` (a `LogLine`, id its number), then
/// `end` (the job's record).
#[utoipa::path(get, path = "/api/v1/jobs/{id}/log", operation_id = "follow_job_log", tag = "jobs",
    params(("id" = i64, Path, description = "The job's number"),
        ("Last-Event-ID" = Option<i64>, Header, description = "The last line number already seen")),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "`line` events (a LogLine each), then one `end` event (the JobRecord)"),
        (status = 404, body = capstan_wire::ApiError)),
    security(("token" = ["read"])))]
pub async fn follow(
    _: Reader,
    State(state): State<AppState>,
    PathOf(id): PathOf<i64>,
    headers: HeaderMap,
) -> HttpResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    state.capstan.job(id)?;
    let after = last_event_id(&headers);
    let events = futures_util::stream::unfold(Some(after), move |cursor| {
        let state = state.clone();
        async move {
            let mut after = cursor?;
            loop {
                // Read whether it ended before the lines, so none written
                // just before the end is missed.
                let job = state.capstan.job(id).ok();
                let lines = state
                    .capstan
                    .store()
                    .job_logs_after(id, after, PAGE)
                    .unwrap_or_default();
                if !lines.is_empty() {
                    let events: Vec<Result<Event, Infallible>> = lines
                        .iter()
                        .map(|(seq, line)| {
                            Ok(Event::default()
                                .event("line")
                                .id(seq.to_string())
                                .json_data(line)
                                .unwrap_or_default())
                        })
                        .collect();
                    after = lines.last().map_or(after, |(seq, _)| *seq);
                    return Some((futures_util::stream::iter(events), Some(after)));
                }
                match job {
                    Some(job) if job.state == JobState::Running => {
                        tokio::time::sleep(FOLLOW_POLL).await;
                    }
                    job => {
                        let end = Event::default()
                            .event("end")
                            .json_data(&job)
                            .unwrap_or_default();
                        return Some((futures_util::stream::iter(vec![Ok(end)]), None));
                    }
                }
            }
        }
    });
    Ok(Sse::new(futures_util::StreamExt::flatten(events)).keep_alive(KeepAlive::default()))
}

/// Follows a job this service runs: events `update` (a `JobUpdate`, id its
/// number from 1), then `end` (the job's record).
#[utoipa::path(get, path = "/api/v1/jobs/{id}/updates", operation_id = "follow_job_updates", tag = "jobs",
    params(("id" = i64, Path, description = "The job's number"),
        ("Last-Event-ID" = Option<i64>, Header, description = "How many updates were already seen")),
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "`update` events (a JobUpdate each), then one `end` event (the JobRecord)"),
        (status = 404, description = "No such job, or not one this service runs", body = capstan_wire::ApiError)),
    security(("token" = ["read"])))]
pub async fn updates(
    _: Reader,
    State(state): State<AppState>,
    PathOf(id): PathOf<i64>,
    headers: HeaderMap,
) -> HttpResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    state.capstan.job(id)?;
    let Some(live) = state.live.get(id) else {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            format!(
                "job {id} is not run by this service, or ended over {} minutes ago: /api/v1/jobs/{id}/log follows any job's log",
                crate::live::KEPT_AFTER_END.as_secs() / 60
            ),
        ));
    };
    let seen = last_event_id(&headers).max(0) as usize;
    let changes = live.subscribe();
    let events = futures_util::stream::unfold(Some((seen, changes)), move |cursor| {
        let (state, live) = (state.clone(), live.clone());
        async move {
            let (mut seen, mut changes) = cursor?;
            loop {
                // Marked seen before reading, so a change made while
                // reading wakes the next wait.
                changes.borrow_and_update();
                let (updates, ended) = live.read_from(seen);
                if !updates.is_empty() {
                    let events: Vec<Result<Event, Infallible>> = updates
                        .iter()
                        .map(|update| {
                            seen += 1;
                            Ok(Event::default()
                                .event("update")
                                .id(seen.to_string())
                                .json_data(update)
                                .unwrap_or_default())
                        })
                        .collect();
                    return Some((futures_util::stream::iter(events), Some((seen, changes))));
                }
                if ended {
                    let job = state.capstan.job(id).ok();
                    let end = Event::default()
                        .event("end")
                        .json_data(&job)
                        .unwrap_or_default();
                    return Some((futures_util::stream::iter(vec![Ok(end)]), None));
                }
                if changes.changed().await.is_err() {
                    return None;
                }
            }
        }
    });
    Ok(Sse::new(futures_util::StreamExt::flatten(events)).keep_alive(KeepAlive::default()))
}

/// The `Last-Event-ID` header as a number (0 when absent or not one).
fn last_event_id(headers: &HeaderMap) -> i64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0)
}
