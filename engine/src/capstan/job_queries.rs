//! The job history as a view asks for it: filtered by state, result and
//! text, with a job's logs and per-task results in one answer.

use std::path::PathBuf;

pub use capstan_wire::jobs::{JobDetail, JobFilter};

use super::{Capstan, no_job};
use crate::jobs::{JobRecord, JobRequest, RunRequest};
use crate::playbook::PlaybookOptions;
use crate::{Error, Result};

/// How many of the newest jobs a filter looks through.
const SCANNED_JOBS: usize = 5_000;

impl Capstan {
    /// The newest jobs that pass `filter`.
    pub fn find_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>> {
        let limit = if filter.limit == 0 { 200 } else { filter.limit };
        let scan = if filter.is_empty() {
            limit
        } else {
            SCANNED_JOBS
        };
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
        let recap = match job.is_playbook() {
            true => job
                .results
                .iter()
                .filter_map(|r| serde_json::from_value(r.data.clone()?).ok())
                .collect(),
            false => Vec::new(),
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
        let request = self.store.job_request(id)?.ok_or_else(|| no_job(id))?;
        match request {
            JobRequest::Action(request) => {
                if !request.secret_params.is_empty() {
                    return Err(Error::BadInput(format!(
                        "job {id} was given secret params ({}), whose values Capstan does not keep: \
                         run it again with them",
                        request.secret_params.join(", ")
                    )));
                }
                // Trusting new host keys was that run's answer to what it
                // saw; a re-run asks again.
                Ok(Rerun::Action(RunRequest {
                    trust_new_hosts: false,
                    ..request
                }))
            }
            JobRequest::Playbook(request) => {
                if let Some(module) = &request.adhoc {
                    return Err(Error::BadInput(format!(
                        "job {id} was an ad-hoc `{module}` command, whose arguments Capstan does \
                         not keep: run the command again"
                    )));
                }
                if !request.extra_vars.is_empty() {
                    return Err(Error::BadInput(format!(
                        "job {id} was given -e variables ({}), whose values Capstan does not keep: \
                         start the playbook again with them",
                        request.extra_vars.join(", ")
                    )));
                }
                Ok(Rerun::Playbook(PlaybookOptions {
                    playbook: PathBuf::from(&request.playbook),
                    inventory: request.inventory.map(PathBuf::from),
                    limit: request.limit,
                    tags: request.tags,
                    skip_tags: request.skip_tags,
                    check: request.check,
                    diff: request.diff,
                    trust_new_hosts: false,
                    become_password_env: request.become_password_env,
                    become_password_secret: request.become_password_secret,
                    ..Default::default()
                }))
            }
        }
    }
}
