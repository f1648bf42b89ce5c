//! A job's events as [`JobUpdate`]s, the one shape every face shows them
//! in: the window's `job-updates`, the API's update stream and the CLI's
//! printers. The engine's events carry the job's number only when it is
//! recorded; an [`UpdateStream`] remembers it for the events after.

use std::sync::atomic::{AtomicI64, Ordering};

use capstan_wire::jobs::JobUpdate;

use crate::jobs::{JobEvent, ResultStatus, overall_status};
use crate::playbook::PlaybookEvent;

/// Turns one job's events into updates.
#[derive(Debug, Default)]
pub struct UpdateStream {
    job_id: AtomicI64,
}

impl UpdateStream {
    /// The job these updates are about (0 until it is recorded).
    pub fn job_id(&self) -> i64 {
        self.job_id.load(Ordering::Relaxed)
    }

    /// A plugin action's event as an update.
    pub fn of_action(&self, event: &JobEvent) -> JobUpdate {
        let job_id = self.job_id();
        match event {
            JobEvent::Started { job_id, targets } => {
                self.job_id.store(*job_id, Ordering::Relaxed);
                JobUpdate::Started {
                    job_id: *job_id,
                    targets: targets.clone(),
                }
            }
            JobEvent::Log(line) => JobUpdate::Log {
                job_id,
                target: line.target.clone(),
                level: line.level,
                message: line.message.clone(),
            },
            JobEvent::TargetDone(result) => JobUpdate::TargetDone {
                job_id,
                result: result.clone(),
            },
            JobEvent::Finished { job_id, overall } => JobUpdate::Finished {
                job_id: *job_id,
                overall: *overall,
                recap: Vec::new(),
                error: None,
            },
        }
    }

    /// A playbook's event as an update.
    pub fn of_playbook(&self, event: &PlaybookEvent) -> JobUpdate {
        let job_id = self.job_id();
        match event {
            PlaybookEvent::Started { job_id } => {
                self.job_id.store(*job_id, Ordering::Relaxed);
                JobUpdate::Started {
                    job_id: *job_id,
                    targets: Vec::new(),
                }
            }
            PlaybookEvent::Play {
                name,
                hosts,
                warning,
            } => JobUpdate::Play {
                job_id,
                name: name.clone(),
                hosts: hosts.clone(),
                warning: warning.clone(),
            },
            PlaybookEvent::Task {
                name,
                handler,
                hosts,
                origin,
            } => JobUpdate::Task {
                job_id,
                name: name.clone(),
                handler: *handler,
                hosts: *hosts,
                origin: origin.clone(),
            },
            PlaybookEvent::Log(line) => JobUpdate::Log {
                job_id,
                target: line.target.clone(),
                level: line.level,
                message: line.message.clone(),
            },
            PlaybookEvent::HostDone(outcome) => JobUpdate::HostDone {
                job_id,
                outcome: outcome.clone(),
            },
            PlaybookEvent::Finished {
                job_id,
                recap,
                error,
            } => JobUpdate::Finished {
                job_id: *job_id,
                overall: if error.is_some() {
                    Some(ResultStatus::Failed)
                } else {
                    overall_status(recap.iter().map(|r| r.status()))
                },
                recap: recap.clone(),
                error: error.clone(),
            },
        }
    }
}
