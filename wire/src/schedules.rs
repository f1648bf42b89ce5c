//! Schedules: a job (a plugin action or a playbook) run by `capstan serve`
//! at the times a cron expression names, in a time zone, with rules for a
//! run that would overlap the last one and for times the service missed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jobs::RunRequest;

named_enum! {
    /// What a firing does while the schedule's last job still runs.
    pub enum Overlap {
        /// Skip this firing (counted as skipped).
        Skip = "skip",
        /// Start another job beside it.
        Allow = "allow",
    }
}

named_enum! {
    /// What the service does, when it starts, about firings it missed
    /// while it was down.
    pub enum Misfire {
        /// Run once for all of them.
        RunOnce = "run-once",
        /// Skip them; wait for the next time.
        Skip = "skip",
    }
}

/// A playbook as a schedule runs it: a file on the service's machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduledPlaybook {
    /// The playbook file, on the service's machine.
    pub playbook: String,
    /// An inventory file; without one, the stored inventory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<String>,
    /// Only hosts matching this pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// Only tasks with one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Not tasks with one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_tags: Vec<String>,
    /// Extra variables (not secrets: they are stored as given).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extra_vars: serde_json::Map<String, Value>,
    /// Secrets from the service's secrets store, by name, given to the
    /// playbook as variables of those names (masked everywhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored_secrets: Vec<String>,
    /// The stored secret holding the sudo password, for `become`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_password_secret: Option<String>,
    /// Check mode.
    #[serde(default)]
    pub check: bool,
    /// Show diffs.
    #[serde(default)]
    pub diff: bool,
}

/// What a schedule runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ScheduledJob {
    /// A plugin action on targets.
    Action {
        /// The run, as `POST /api/v1/runs` takes it.
        request: RunRequest,
    },
    /// A playbook.
    Playbook {
        /// The playbook and its options.
        playbook: ScheduledPlaybook,
    },
}

impl ScheduledPlaybook {
    /// A run of the playbook file `path` on the service's inventory, with
    /// no limit, tags, variables or secrets, not in check mode.
    pub fn new(path: impl Into<String>) -> Self {
        ScheduledPlaybook {
            playbook: path.into(),
            inventory: None,
            limit: None,
            tags: Vec::new(),
            skip_tags: Vec::new(),
            extra_vars: Default::default(),
            stored_secrets: Vec::new(),
            become_password_secret: None,
            check: false,
            diff: false,
        }
    }
}

impl ScheduledJob {
    /// `debug msg` or `playbook site.yml`, for lists.
    pub fn describe(&self) -> String {
        match self {
            ScheduledJob::Action { request } => format!("{} {}", request.plugin, request.action),
            ScheduledJob::Playbook { playbook } => format!("playbook {}", playbook.playbook),
        }
    }
}

/// A schedule to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleSpec {
    /// Its name: its jobs are launched by `schedule:NAME`.
    pub name: String,
    /// When: a cron expression of 5 fields, or 6 with seconds first
    /// (`0 3 * * *`, `*/10 * * * * *`).
    pub cron: String,
    /// The IANA time zone the expression is read in (`Europe/Paris`);
    /// UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// What it runs.
    pub job: ScheduledJob,
    /// While its last job runs: skip (the default) or allow another.
    #[serde(default = "default_overlap")]
    pub overlap: Overlap,
    /// Times missed while the service was down: run once (the default)
    /// or skip.
    #[serde(default = "default_misfire")]
    pub misfire: Misfire,
}

fn default_overlap() -> Overlap {
    Overlap::Skip
}

fn default_misfire() -> Misfire {
    Misfire::RunOnce
}

/// A schedule as listed: what it is, and what it has done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    /// What was asked for.
    #[serde(flatten)]
    pub spec: ScheduleSpec,
    /// Paused: it does not fire until resumed.
    pub paused: bool,
    /// Who added it.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_by: crate::Actor,
    /// When (ms since the epoch).
    pub created_at_ms: i64,
    /// The last time it was due and handled (fired or skipped).
    pub last_due_ms: Option<i64>,
    /// The job it started last.
    pub last_job_id: Option<i64>,
    /// Jobs it started.
    pub fired: u64,
    /// Firings skipped (overlap, or missed while the service was down).
    pub skipped: u64,
    /// The next times it fires (empty when paused).
    pub next_runs_ms: Vec<i64>,
}
