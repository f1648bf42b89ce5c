//! What a playbook run tells the world: events as it goes, each task's
//! outcome per host, and the recap.

use std::sync::Arc;

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
        /// What to warn about as it starts, one warning per line (the
        /// run's own on the first play; a pattern that matched nothing).
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
        /// Where it is written, `file:line:column`.
        origin: Option<String>,
    },
    /// One host finished the current task.
    HostDone(TaskOutcome),
    /// A plugin, or the run itself, wrote a log line.
    Log(LogLine),
    /// Every play finished, or the run stopped.
    Finished {
        /// The job's id.
        job_id: i64,
        /// Per-host counts.
        recap: Vec<Recap>,
        /// Why the run stopped before its last play, if it did.
        error: Option<String>,
    },
}

/// Receives playbook events (the CLI prints them).
pub type PlaybookEventSink = Arc<dyn Fn(&PlaybookEvent) + Send + Sync>;

pub use capstan_wire::jobs::{LogLine, Recap, TaskOutcome};

use serde::Serialize;

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
    /// True when the run stopped, or any host was unreachable or ended it
    /// failed.
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.recap.iter().any(Recap::fails_run)
    }
}
