//! The Jobs page: the history with filters, and one job's detail.

use std::sync::Arc;

use capstan_engine::jobs::{JobRecord, JobState, ResultStatus};
use capstan_engine::{Capstan, JobDetail, JobFilter};
use serde::Serialize;

use crate::error::UiResult;

/// One line of the history.
#[derive(Debug, Serialize)]
pub struct JobRow {
    /// Its number.
    pub id: i64,
    /// `plugin action`, or `playbook site.yml`.
    pub what: String,
    /// Its targets, comma-separated.
    pub targets: String,
    /// Running, finished or interrupted.
    pub state: JobState,
    /// The worst result across targets.
    pub overall: Option<ResultStatus>,
    /// Check mode.
    pub check: bool,
    /// Start (ms since the epoch).
    pub started_at_ms: i64,
    /// How long it ran, once it ended.
    pub duration_ms: Option<i64>,
}

impl From<&JobRecord> for JobRow {
    fn from(job: &JobRecord) -> Self {
        let what = match job.plugin.as_str() {
            "playbook" => {
                let file = std::path::Path::new(&job.action)
                    .file_name()
                    .map_or(job.action.clone(), |f| f.to_string_lossy().into_owned());
                format!("playbook {file}")
            }
            _ => format!("{} {}", job.plugin, job.action),
        };
        JobRow {
            id: job.id,
            what,
            targets: job.targets.join(", "),
            state: job.state,
            overall: job.overall(),
            check: job.check,
            started_at_ms: job.started_at_ms,
            duration_ms: job.finished_at_ms.map(|end| end - job.started_at_ms),
        }
    }
}

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
