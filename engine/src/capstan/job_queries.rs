//! The job history as a view asks for it: filtered by state, result and
//! text, with a job's logs and per-task results in one answer.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Capstan;
use crate::jobs::{JobRecord, JobState, LogLine, ResultStatus, RunRequest};
use crate::playbook::{PlaybookOptions, Recap, TaskOutcome};
use crate::{Error, Result};

/// Which jobs a history view wants. Empty fields match every job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobFilter {
    /// Only jobs in this state.
    #[serde(default)]
    pub state: Option<JobState>,
    /// Only jobs whose overall result is this one.
    #[serde(default)]
    pub result: Option<ResultStatus>,
    /// Only jobs whose plugin, action or targets contain this text
    /// (case-insensitive).
    #[serde(default)]
    pub text: Option<String>,
    /// At most this many, newest first (0: 200).
    #[serde(default)]
    pub limit: usize,
}

impl JobFilter {
    /// Whether `job` passes the filter.
    pub fn matches(&self, job: &JobRecord) -> bool {
        if self.state.is_some_and(|s| s != job.state) {
            return false;
        }
        if self.result.is_some() && self.result != job.overall() {
            return false;
        }
        match self.text.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => {
                let text = text.to_lowercase();
                job.plugin.to_lowercase().contains(&text)
                    || job.action.to_lowercase().contains(&text)
                    || job.targets.iter().any(|t| t.to_lowercase().contains(&text))
            }
            _ => true,
        }
    }
}

/// Everything a job view shows of one job.
#[derive(Debug, Clone, Serialize)]
pub struct JobDetail {
    /// The job with its per-target results.
    pub job: JobRecord,
    /// Its log lines, in order (when asked for).
    pub logs: Vec<LogLine>,
    /// A playbook's per-task results per host, in the order they finished
    /// (empty for a plugin action).
    pub tasks: Vec<TaskOutcome>,
    /// The worst result across targets, once any finished.
    pub overall: Option<ResultStatus>,
    /// A playbook's recap per host (empty for a plugin action).
    pub recap: Vec<Recap>,
}

/// How many of the newest jobs a filter looks through.
const SCANNED_JOBS: usize = 5_000;

impl Capstan {
    /// The newest jobs that pass `filter`.
    pub fn find_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>> {
        let limit = if filter.limit == 0 { 200 } else { filter.limit };
        let unfiltered = filter.state.is_none()
            && filter.result.is_none()
            && filter.text.as_deref().is_none_or(|t| t.trim().is_empty());
        let scan = if unfiltered { limit } else { SCANNED_JOBS };
        Ok(self
            .store
            .jobs(scan)?
            .into_iter()
            .filter(|job| filter.matches(job))
            .take(limit)
            .collect())
    }

    /// A job with its tasks, and its logs when `logs` (a view that gets
    /// the lines from the job's events leaves them out).
    pub fn job_detail(&self, id: i64, logs: bool) -> Result<JobDetail> {
        let job = self.job(id)?;
        // A playbook stores each host's recap as its result's data.
        let recap = match job.plugin.as_str() {
            "playbook" => job
                .results
                .iter()
                .filter_map(|r| serde_json::from_value(r.data.clone()?).ok())
                .collect(),
            _ => Vec::new(),
        };
        Ok(JobDetail {
            overall: job.overall(),
            recap,
            job,
            logs: if logs {
                self.store.job_logs(id)?
            } else {
                Vec::new()
            },
            tasks: self.store.task_outcomes(id)?,
        })
    }
}

/// What running a recorded job again takes.
#[derive(Debug, Clone)]
pub enum Rerun {
    /// A plugin action, with its request as it was.
    Action(RunRequest),
    /// A playbook, with the options it ran with.
    Playbook(PlaybookOptions),
}

impl Capstan {
    /// How to run job `id` again as it ran. A playbook run given `-e`
    /// variables is refused: their values are not stored (they may be
    /// secrets), so it must be started again with them.
    pub fn rerun_of(&self, id: i64) -> Result<Rerun> {
        let job = self.job(id)?;
        let request = self.store.job_request(id)?.unwrap_or_else(|| {
            let mut request = RunRequest::new(
                &job.plugin,
                &job.action,
                job.params.clone(),
                job.targets.clone(),
            );
            request.check = job.check;
            request
        });
        if !request.secret_params.is_empty() {
            return Err(Error::BadInput(format!(
                "job {id} was given secret params ({}), whose values Capstan does not keep: \
                 run it again with them",
                request.secret_params.join(", ")
            )));
        }
        if job.plugin != "playbook" {
            // Trusting new host keys was that run's answer to what it saw;
            // a re-run asks again.
            return Ok(Rerun::Action(RunRequest {
                trust_new_hosts: false,
                ..request
            }));
        }
        let params = &request.params;
        let extra: Vec<&str> = params["extra_vars"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        if !extra.is_empty() {
            return Err(Error::BadInput(format!(
                "job {id} was given -e variables ({}), whose values Capstan does not keep: \
                 start the playbook again with them",
                extra.join(", ")
            )));
        }
        let strings = |key: &str| -> Vec<String> {
            params[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        };
        Ok(Rerun::Playbook(PlaybookOptions {
            playbook: PathBuf::from(&job.action),
            inventory: params["inventory"].as_str().map(PathBuf::from),
            limit: params["limit"].as_str().map(String::from),
            tags: strings("tags"),
            skip_tags: strings("skip_tags"),
            check: request.check,
            diff: request.diff,
            trust_new_hosts: false,
            become_password_env: request.become_password_env.clone(),
            ..Default::default()
        }))
    }
}
