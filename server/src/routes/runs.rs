//! Starting work: a plugin action on targets, an uploaded playbook, or a
//! recorded job again. Each answers as soon as the job is recorded (202,
//! with its number) and runs it in the service, launched by the caller,
//! its updates kept for `/jobs/{id}/updates`; bad input (an unknown
//! plugin, action or target, params that do not fit, a path that leaves
//! the upload) is answered 400 before any job is recorded.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use capstan_engine::jobs::{JobEvent, RunRequest, started_signal};
use capstan_engine::playbook::{PlaybookEvent, PlaybookOptions};
use capstan_engine::{JobControl, Rerun};
use capstan_wire::jobs::PlaybookUpload;
use capstan_wire::schedules::{ScheduledJob, ScheduledPlaybook};
use capstan_wire::{Actor, ApiError, ErrorCode};
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
    accepted(start_action(&state, &caller.actor, request).await)
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
            accepted(start_action(&state, &caller.actor, request).await)
        }
        Rerun::Playbook(options) => accepted(start_playbook(&state, &caller.actor, options).await),
    }
}

/// Runs an uploaded playbook folder on the service's inventory.
#[utoipa::path(post, path = "/api/v1/playbooks/runs", operation_id = "run_playbook", tag = "runs",
    request_body = PlaybookUpload,
    responses((status = 202, body = Started), (status = 400, body = ApiError),
        (status = 404, description = "No such stored secret", body = ApiError)),
    security(("token" = ["run"])))]
pub async fn run_playbook(
    Runner(caller): Runner,
    State(state): State<AppState>,
    Body(upload): Body<PlaybookUpload>,
) -> HttpResult<(StatusCode, Json<Started>)> {
    if upload.trust_new_hosts && !caller.scope.allows(capstan_wire::tokens::Scope::Admin) {
        return Err(needs_admin_to_trust());
    }
    // Outside the data folder, which no plugin may read.
    let uploads = state.capstan.home().work_dir().join("uploads");
    let folder = create_private_dir_all(&uploads)
        .and_then(|()| {
            tempfile::Builder::new()
                .prefix("playbook-")
                .tempdir_in(&uploads)
        })
        .map_err(|e| {
            HttpError::new(
                ErrorCode::Failed,
                format!(
                    "cannot make a folder for the upload in {}: {e}",
                    uploads.display()
                ),
            )
        })?
        // Kept: the job's record names its playbook there, for re-runs.
        .keep();
    let started = start_upload(&state, &caller.actor, upload, &folder).await;
    if started.is_err() {
        // Refused before a job was recorded: nothing will read it again.
        let _ = std::fs::remove_dir_all(&folder);
    }
    accepted(started)
}

/// Writes an upload into `folder` and starts its playbook there.
async fn start_upload(
    state: &AppState,
    actor: &Actor,
    upload: PlaybookUpload,
    folder: &std::path::Path,
) -> HttpResult<i64> {
    let playbook = crate::upload::unpack(&upload, folder)
        .map_err(|e| HttpError(ApiError::field(&e.field, e.message)))?;
    let mut options = PlaybookOptions {
        playbook,
        inventory: None,
        limit: upload.limit,
        tags: upload.tags,
        skip_tags: upload.skip_tags,
        extra_vars: upload.extra_vars,
        check: upload.check,
        diff: upload.diff,
        trust_new_hosts: upload.trust_new_hosts,
        become_password_env: None,
        become_password_secret: upload.become_password_secret,
        secret_vars: upload.secret_vars,
        // The service reads no password files of its machine for a caller.
        vault_password_files: Vec::new(),
        vault_ids: Vec::new(),
        ansible_cfg: false,
        start_at_task: None,
        force_handlers: false,
        flush_cache: false,
        adhoc: None,
    };
    state
        .capstan
        .add_stored_secrets(&mut options, &upload.stored_secrets)?;
    start_playbook(state, actor, options).await
}

/// What the API may not ask of the service's own machine and hosts.
fn check_request(caller: &Caller, request: &RunRequest) -> HttpResult<()> {
    refuse_password_env(request, "become_password_env")?;
    if request.trust_new_hosts && !caller.scope.allows(capstan_wire::tokens::Scope::Admin) {
        return Err(needs_admin_to_trust());
    }
    Ok(())
}

fn needs_admin_to_trust() -> HttpError {
    HttpError(
        ApiError::field(
            "trust_new_hosts",
            "trusting new host keys changes the service's known hosts: it needs `admin`",
        )
        .with_code(ErrorCode::Forbidden),
    )
}

/// 202 with the job's number.
fn accepted(job_id: HttpResult<i64>) -> HttpResult<(StatusCode, Json<Started>)> {
    Ok((StatusCode::ACCEPTED, Json(Started { job_id: job_id? })))
}

/// Starts a plugin action in the service, launched by `actor`; its number
/// once it is recorded.
pub async fn start_action(state: &AppState, actor: &Actor, request: RunRequest) -> HttpResult<i64> {
    let (started, job_id) = started_signal();
    let tracked = state.live.track();
    let sink = tracked.action_sink(move |event: &JobEvent| {
        if let JobEvent::Started { job_id, .. } = event {
            started(*job_id);
        }
    });
    let (capstan, control) = (state.capstan.clone(), control(state, actor));
    let run = state.jobs.spawn(async move {
        let ran = capstan.run_with(request, sink, control).await.map(|_| ());
        tracked.end();
        ran
    });
    wait_for_job(job_id, run).await
}

/// Starts a playbook in the service, launched by `actor`; its number
/// once it is recorded.
pub async fn start_playbook(
    state: &AppState,
    actor: &Actor,
    options: PlaybookOptions,
) -> HttpResult<i64> {
    let (started, job_id) = started_signal();
    let tracked = state.live.track();
    let sink = tracked.playbook_sink(move |event: &PlaybookEvent| {
        if let PlaybookEvent::Started { job_id } = event {
            started(*job_id);
        }
    });
    let (capstan, control) = (state.capstan.clone(), control(state, actor));
    let run = state.jobs.spawn(async move {
        let ran = capstan
            .run_playbook_with(options, sink, control)
            .await
            .map(|_| ());
        tracked.end();
        ran
    });
    wait_for_job(job_id, run).await
}

/// Refuses a job kept to run later that would read a sudo password from
/// the service's environment (`field` names where, for the error).
pub fn refuse_environment_password(job: &ScheduledJob, field: &str) -> HttpResult<()> {
    match job {
        ScheduledJob::Action { request } => refuse_password_env(request, field),
        ScheduledJob::Playbook { .. } => Ok(()),
    }
}

/// Refuses a request that names an environment variable for the sudo
/// password: through the API, that would be the service's environment.
fn refuse_password_env(request: &RunRequest, field: &str) -> HttpResult<()> {
    if request.become_password_env.is_some() {
        return Err(HttpError(ApiError::field(
            field,
            "the service does not read passwords from its environment for API calls",
        )));
    }
    Ok(())
}

/// Starts a job kept to run later (a schedule's or a webhook's), launched
/// by `actor`, with a playbook's stored secrets; its number.
pub async fn start_scheduled(
    state: &AppState,
    actor: &Actor,
    job: ScheduledJob,
) -> HttpResult<i64> {
    match job {
        ScheduledJob::Action { request } => start_action(state, actor, request).await,
        ScheduledJob::Playbook { playbook } => {
            let stored = playbook.stored_secrets.clone();
            let mut options = scheduled_playbook(playbook);
            state.capstan.add_stored_secrets(&mut options, &stored)?;
            start_playbook(state, actor, options).await
        }
    }
}

/// A kept playbook as the engine runs it.
fn scheduled_playbook(playbook: ScheduledPlaybook) -> PlaybookOptions {
    PlaybookOptions {
        playbook: std::path::PathBuf::from(playbook.playbook),
        inventory: playbook.inventory.map(std::path::PathBuf::from),
        limit: playbook.limit,
        tags: playbook.tags,
        skip_tags: playbook.skip_tags,
        extra_vars: playbook.extra_vars,
        check: playbook.check,
        diff: playbook.diff,
        trust_new_hosts: false,
        become_password_env: None,
        become_password_secret: playbook.become_password_secret,
        secret_vars: Vec::new(),
        vault_password_files: Vec::new(),
        vault_ids: Vec::new(),
        ansible_cfg: false,
        start_at_task: None,
        force_handlers: false,
        flush_cache: false,
        adhoc: None,
    }
}

/// A job launched by `actor`, cancelled when the service stops.
fn control(state: &AppState, actor: &Actor) -> JobControl {
    JobControl {
        launched_by: Some(actor.clone()),
        cancel: state.stopping.child_token(),
    }
}

/// The job's number once it is recorded, or the error that came first.
async fn wait_for_job(
    job_id: oneshot::Receiver<i64>,
    run: tokio::task::JoinHandle<capstan_engine::Result<()>>,
) -> HttpResult<i64> {
    match job_id.await {
        Ok(job_id) => Ok(job_id),
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

/// Creates a folder and its missing parents, the ones made private to the
/// service's user.
fn create_private_dir_all(path: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}
