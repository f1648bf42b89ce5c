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
