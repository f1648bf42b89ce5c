//! Jobs: the history with the CLI's filters, one job, and cancelling one
//! whichever process runs it.

use axum::Json;
use axum::extract::State;
use capstan_engine::store::CancelRequest;
use capstan_wire::jobs::{JobDetail, JobFilter, JobRecord};
use capstan_wire::status::{JobState, ResultStatus};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{Reader, Runner};
use crate::error::{HttpError, HttpResult, Params, PathOf, SizedJson};

/// The most jobs one page lists.
pub const MAX_LIMIT: usize = 1_000;

/// Filters of `GET /jobs`, as `capstan jobs list` has them.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// How many, newest first (default 20, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs whose worst result is this one.
    pub result: Option<ResultStatus>,
    /// Only jobs whose plugin, action or targets contain this text.
    pub grep: Option<String>,
}

/// The newest jobs that pass the filters.
#[utoipa::path(get, path = "/api/v1/jobs", operation_id = "list_jobs", tag = "jobs", params(JobQuery),
    responses((status = 200, body = Vec<JobRecord>), (status = 400, body = capstan_wire::ApiError)),
    security(("token" = ["read"])))]
pub async fn list(
    _: Reader,
    State(state): State<AppState>,
    Params(query): Params<JobQuery>,
) -> HttpResult<SizedJson<Vec<JobRecord>>> {
    let limit = query.limit.unwrap_or(20);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(HttpError(capstan_wire::ApiError::field(
            "limit",
            format!("limit must be 1 to {MAX_LIMIT}"),
        )));
    }
    let filter = JobFilter {
        state: query.state,
        result: query.result,
        text: query.grep,
        limit,
    };
    let jobs = state.capstan.find_jobs(&filter)?;
    let size = jobs.len() * JOB_JSON_BYTES + 2;
    Ok(SizedJson(jobs, size))
}

/// About how long one job of a page is as JSON (one with a result and
/// short parameters is about 380 bytes).
const JOB_JSON_BYTES: usize = 512;

/// One job: its results, a playbook's tasks and recap, and its log.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", operation_id = "show_job", tag = "jobs",
    params(("id" = i64, Path, description = "The job's number")),
    responses((status = 200, body = JobDetail), (status = 404, body = capstan_wire::ApiError)),
    security(("token" = ["read"])))]
pub async fn show(
    _: Reader,
    State(state): State<AppState>,
    PathOf(id): PathOf<i64>,
) -> HttpResult<Json<JobDetail>> {
    Ok(Json(state.capstan.job_detail(id, true)?))
}

/// What became of a cancel request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Cancelled {
    /// `requested` (the process running it stops it within a second),
    /// `already_ended` or `owner_gone` (now marked interrupted).
    pub outcome: String,
    /// The job as it is now.
    pub job: JobRecord,
}

/// Cancels a running job, whichever process runs it.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", operation_id = "cancel_job", tag = "jobs",
    params(("id" = i64, Path, description = "The job's number")),
    responses((status = 200, body = Cancelled), (status = 404, body = capstan_wire::ApiError)),
    security(("token" = ["run"])))]
pub async fn cancel(
    Runner(caller): Runner,
    State(state): State<AppState>,
    PathOf(id): PathOf<i64>,
) -> HttpResult<Json<Cancelled>> {
    let outcome = match state.capstan.cancel_job(id, &caller.actor)? {
        CancelRequest::NoSuchJob => {
            return Err(HttpError::new(
                capstan_wire::ErrorCode::NotFound,
                format!("no job {id}"),
            ));
        }
        CancelRequest::Recorded { .. } => "requested",
        CancelRequest::AlreadyEnded(_) => "already_ended",
        CancelRequest::OwnerGone => "owner_gone",
    };
    Ok(Json(Cancelled {
        outcome: outcome.into(),
        job: state.capstan.job(id)?,
    }))
}
