//! What a playbook run tells the world: events as it goes, each task's
//! outcome per host, and the recap.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::jobs::ResultStatus;

/// Something that happened in a playbook run, in order.
#[derive(Debug, Clone)]
pub enum PlaybookEvent {
    /// The run was recorded as a job.
    Started {
        /// Its job id.
        job_id: i64,
    },
    /// A play starts on these hosts.
    Play {
        /// The play's name.
        name: String,
        /// Its hosts.
        hosts: Vec<String>,
        /// Why it has none, when its pattern matched nothing.
        warning: Option<String>,
    },
    /// A task (or handler) starts on `hosts` hosts.
    Task {
        /// Its name.
        name: String,
        /// Whether it is a handler.
        handler: bool,
        /// How many hosts run it.
        hosts: usize,
    },
    /// One host finished the current task.
    HostDone(TaskOutcome),
    /// Every play finished, or the run stopped.
    Finished {
        /// The job.
        job_id: i64,
        /// Per-host counts.
        recap: Vec<Recap>,
        /// Why the run stopped before its last play, if it did.
        error: Option<String>,
    },
}

/// Receives playbook events (the CLI prints them).
pub type PlaybookEventSink = Arc<dyn Fn(&PlaybookEvent) + Send + Sync>;

/// How one task ended on one host.
#[derive(Debug, Clone, Serialize)]
pub struct TaskOutcome {
    /// The host.
    pub host: String,
    /// The play.
    pub play: String,
    /// The task's name.
    pub task: String,
    /// The module it ran.
    pub module: String,
    /// ok, changed, failed, skipped or unreachable.
    pub status: ResultStatus,
    /// Failed, but `ignore_errors` let the host go on.
    pub ignored: bool,
    /// One line for people.
    pub summary: String,
    /// What changed, when asked for diffs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The result as `register:` sees it.
    pub result: Json,
    /// How long it took on this host.
    pub duration_ms: u64,
}

/// A host's totals, as Ansible's PLAY RECAP prints them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Recap {
    /// The host.
    pub host: String,
    /// Tasks that ran without failing (changed ones included).
    pub ok: u32,
    /// Tasks that changed something.
    pub changed: u32,
    /// 1 when the host could not be reached.
    pub unreachable: u32,
    /// Tasks that failed.
    pub failed: u32,
    /// Tasks skipped by `when` or check mode.
    pub skipped: u32,
    /// Failures let through by `ignore_errors`.
    pub ignored: u32,
}

impl Recap {
    /// The host's overall status.
    pub fn status(&self) -> ResultStatus {
        if self.unreachable > 0 {
            ResultStatus::Unreachable
        } else if self.failed > 0 {
            ResultStatus::Failed
        } else if self.changed > 0 {
            ResultStatus::Changed
        } else {
            ResultStatus::Ok
        }
    }

    /// `ok=3 changed=1 unreachable=0 failed=0 skipped=0 ignored=0`.
    pub fn counts(&self) -> String {
        format!(
            "ok={} changed={} unreachable={} failed={} skipped={} ignored={}",
            self.ok, self.changed, self.unreachable, self.failed, self.skipped, self.ignored
        )
    }
}

/// What a finished playbook run produced.
#[derive(Debug, Clone, Serialize)]
pub struct PlaybookReport {
    /// The job in the history.
    pub job_id: i64,
    /// Per-host totals, in natural order of host names (`h2` before `h10`).
    pub recap: Vec<Recap>,
    /// Why the run stopped before its last play, if it did (a play whose
    /// `hosts:` could not be rendered or matched).
    pub error: Option<String>,
}

impl PlaybookReport {
    /// True when the run stopped, or any host failed or was unreachable.
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.recap.iter().any(|r| r.failed > 0 || r.unreachable > 0)
    }
}
