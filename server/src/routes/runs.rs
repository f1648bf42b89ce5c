//! Starting work: a plugin action on targets, or a recorded job again.
//! Each answers as soon as the job is recorded (202, with its number) and
//! runs it in the service, launched by the caller; bad input (an unknown
//! plugin, action or target, params that do not fit) is answered 400
//! before any job is recorded.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use capstan_engine::jobs::{EventSink, JobEvent, RunRequest, started_signal};
use capstan_engine::playbook::{PlaybookEvent, PlaybookEventSink};
use capstan_engine::{JobControl, Rerun};
use capstan_wire::{ApiError, ErrorCode};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::AppState;
use crate::auth::{Caller, Runner};
use crate::error::{Body, HttpError, HttpResult, PathOf};

/// A job just started.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Started {
    /// Its number: `GET /api/v1/jobs/{id}` shows it, `…/log` follows it.
    pub job_id: i64,
}

/// Runs a plugin action on its targets.
#[utoipa::path(post, path = "/api/v1/runs", operation_id = "run_action", tag = "runs", request_body = RunRequest,
    responses((status = 202, body = Started), (status = 400, body = ApiError),
        (status = 404, description = "No such plugin", body = ApiError)),
    security(("token" = ["run"])))]
pub async fn run_action(
    Runner(caller): Runner,
    State(state): State<AppState>,
    Body(request): Body<RunRequest>,
) -> HttpResult<(StatusCode, Json<Started>)> {
    check_request(&caller, &request)?;
    start_action(&state, &caller, request).await
}

/// Runs a recorded job again as it ran (a playbook from the same files).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/rerun", operation_id = "rerun_job", tag = "jobs",
    params(("id" = i64, Path, description = "The job's number")),
    responses((status = 202, body = Started), (status = 400, body = ApiError), (status = 404, body = ApiError)),
    security(("token" = ["run"])))]
pub async fn rerun(
    Runner(caller): Runner,
    State(state): State<AppState>,
    PathOf(id): PathOf<i64>,
) -> HttpResult<(StatusCode, Json<Started>)> {
    match state.capstan.rerun_of(id)? {
        Rerun::Action(request) => {
            check_request(&caller, &request)?;
            start_action(&state, &caller, request).await
        }
        Rerun::Playbook(options) => {
            let (started, job_id) = started_signal();
            let sink: PlaybookEventSink = Arc::new(move |event: &PlaybookEvent| {
                if let PlaybookEvent::Started { job_id } = event {
                    started(*job_id);
                }
            });
            let (capstan, control) = (state.capstan.clone(), control(&state, &caller));
            let run = state.jobs.spawn(async move {
                capstan
                    .run_playbook_with(options, sink, control)
                    .await
                    .map(|_| ())
            });
            wait_for_job(job_id, run).await
        }
    }
}

/// What the API may not ask of the service's own machine and hosts.
fn check_request(caller: &Caller, request: &RunRequest) -> HttpResult<()> {
    if request.become_password_env.is_some() {
        return Err(HttpError(ApiError::field(
            "become_password_env",
            "the service does not read passwords from its environment for API calls",
        )));
    }
    if request.trust_new_hosts && !caller.scope.allows(capstan_wire::tokens::Scope::Admin) {
        return Err(HttpError(
            ApiError::field(
                "trust_new_hosts",
                "trusting new host keys changes the service's known hosts: it needs `admin`",
            )
            .with_code(ErrorCode::Forbidden),
        ));
    }
    Ok(())
}

async fn start_action(
    state: &AppState,
    caller: &Caller,
    request: RunRequest,
) -> HttpResult<(StatusCode, Json<Started>)> {
    let (started, job_id) = started_signal();
    let sink: EventSink = Arc::new(move |event: &JobEvent| {
        if let JobEvent::Started { job_id, .. } = event {
            started(*job_id);
        }
    });
    let (capstan, control) = (state.capstan.clone(), control(state, caller));
    let run = state
        .jobs
        .spawn(async move { capstan.run_with(request, sink, control).await.map(|_| ()) });
    wait_for_job(job_id, run).await
}

/// A job launched by the caller, cancelled when the service stops.
fn control(state: &AppState, caller: &Caller) -> JobControl {
    JobControl {
        launched_by: Some(caller.actor.clone()),
        cancel: state.stopping.child_token(),
    }
}

/// The job's number once it is recorded, or the error that came first.
async fn wait_for_job(
    job_id: oneshot::Receiver<i64>,
    run: tokio::task::JoinHandle<capstan_engine::Result<()>>,
) -> HttpResult<(StatusCode, Json<Started>)> {
    match job_id.await {
        Ok(job_id) => Ok((StatusCode::ACCEPTED, Json(Started { job_id }))),
        Err(_) => match run.await {
            Ok(Err(e)) => Err(e.into()),
            Ok(Ok(())) => Err(HttpError::new(
                ErrorCode::Failed,
                "the run ended without recording a job",
            )),
            Err(e) => Err(HttpError::new(
                ErrorCode::Failed,
                format!("the run stopped: {e}"),
            )),
        },
    }
}
