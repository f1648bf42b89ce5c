//! Starting work: a plugin action or a playbook. Each command returns the
//! new job's id as soon as the job is recorded and keeps running it in
//! the background, its events forwarded to the window.

use std::path::PathBuf;
use std::sync::Arc;

use capstan_engine::jobs::{RunRequest, started_signal};
use capstan_engine::playbook::PlaybookOptions;
use capstan_engine::{Capstan, Rerun};
use capstan_wire::jobs::PlaybookForm;
use tauri::AppHandle;
use tokio::sync::oneshot;

use crate::error::{UiError, UiResult};
use crate::events::Forwarder;

/// Starts a plugin action over its targets; returns the job's id. Bad
/// input (unknown action, params that do not fit, unknown target) comes
/// back here, before any job is recorded.
#[tauri::command]
pub async fn run_action(
    app: AppHandle,
    capstan: tauri::State<'_, Arc<Capstan>>,
    request: RunRequest,
) -> UiResult<i64> {
    start_action(app, capstan.inner().clone(), request).await
}

/// Starts a playbook; returns the job's id. A malformed playbook or a
/// missing file comes back here with its file and line.
#[tauri::command]
pub async fn run_playbook(
    app: AppHandle,
    capstan: tauri::State<'_, Arc<Capstan>>,
    form: PlaybookForm,
) -> UiResult<i64> {
    let playbook = form.playbook.trim();
    if playbook.is_empty() {
        return Err(UiError::field("playbook", "give the playbook's path"));
    }
    if !std::path::Path::new(playbook).is_file() {
        return Err(UiError::field(
            "playbook",
            format!("{playbook} is not a file"),
        ));
    }
    let inventory = Some(form.inventory.trim())
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    if let Some(path) = &inventory
        && !path.is_file()
    {
        return Err(UiError::field(
            "inventory",
            format!("{} is not a file", path.display()),
        ));
    }
    let options = PlaybookOptions {
        playbook: PathBuf::from(playbook),
        inventory,
        limit: Some(form.limit.trim().to_string()).filter(|l| !l.is_empty()),
        check: form.check,
        diff: form.diff,
        ..Default::default()
    };
    start_playbook(app, capstan.inner().clone(), options).await
}

/// Runs a recorded job again as it ran; returns the new job's id.
#[tauri::command]
pub async fn rerun(
    app: AppHandle,
    capstan: tauri::State<'_, Arc<Capstan>>,
    job_id: i64,
) -> UiResult<i64> {
    let capstan = capstan.inner().clone();
    match capstan.rerun_of(job_id)? {
        Rerun::Action(request) => start_action(app, capstan, request).await,
        Rerun::Playbook(options) => start_playbook(app, capstan, options).await,
    }
}

async fn start_action(app: AppHandle, capstan: Arc<Capstan>, request: RunRequest) -> UiResult<i64> {
    let (started, job_id) = started_signal();
    let sink = Forwarder::new(app).action_sink(started);
    let run =
        tauri::async_runtime::spawn(async move { capstan.run(request, sink).await.map(|_| ()) });
    wait_for_job(job_id, run).await
}

async fn start_playbook(
    app: AppHandle,
    capstan: Arc<Capstan>,
    options: PlaybookOptions,
) -> UiResult<i64> {
    let (started, job_id) = started_signal();
    let sink = Forwarder::new(app).playbook_sink(started);
    let run = tauri::async_runtime::spawn(async move {
        capstan.run_playbook(options, sink).await.map(|_| ())
    });
    wait_for_job(job_id, run).await
}

/// The job's id once it is recorded, or the error that stopped it first.
async fn wait_for_job(
    job_id: oneshot::Receiver<i64>,
    run: tauri::async_runtime::JoinHandle<capstan_engine::Result<()>>,
) -> UiResult<i64> {
    match job_id.await {
        Ok(id) => Ok(id),
        Err(_) => match run.await {
            Ok(Err(e)) => Err(e.into()),
            Ok(Ok(())) => Err(UiError::message("the run ended without recording a job")),
            Err(e) => Err(UiError::message(format!("the run stopped: {e}"))),
        },
    }
}
