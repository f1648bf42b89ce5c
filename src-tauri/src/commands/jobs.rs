//! The Jobs page: the history with filters, and one job's detail.

use std::sync::Arc;

use capstan_engine::Capstan;
use capstan_wire::jobs::{JobDetail, JobFilter, JobRow};

use crate::error::UiResult;

/// The newest jobs that pass `filter`.
#[tauri::command]
pub fn jobs(capstan: tauri::State<'_, Arc<Capstan>>, filter: JobFilter) -> UiResult<Vec<JobRow>> {
    Ok(capstan
        .find_jobs(&filter)?
        .iter()
        .map(JobRow::from)
        .collect())
}

/// One job: its results per target, a playbook's tasks, and its log when
/// `logs` (the job view of a job it watches live leaves the log out).
#[tauri::command]
pub fn job(capstan: tauri::State<'_, Arc<Capstan>>, id: i64, logs: bool) -> UiResult<JobDetail> {
    Ok(capstan.job_detail(id, logs)?)
}

/// Asks for a running job to be cancelled, whichever process runs it (this
/// window, a terminal, the service); says what became of the request.
#[tauri::command]
pub fn cancel_job(capstan: tauri::State<'_, Arc<Capstan>>, job_id: i64) -> UiResult<String> {
    use capstan_engine::store::CancelRequest;
    Ok(match capstan.cancel_job(job_id, &capstan.actor())? {
        CancelRequest::Recorded { .. } => format!("job {job_id}: cancel requested"),
        CancelRequest::AlreadyEnded(state) => format!("job {job_id} had already ended: {state}"),
        CancelRequest::OwnerGone => {
            format!("job {job_id}'s process is gone: it is now marked interrupted")
        }
        CancelRequest::NoSuchJob => {
            return Err(crate::error::UiError::field(
                "job",
                format!("there is no job {job_id}"),
            ));
        }
    })
}
