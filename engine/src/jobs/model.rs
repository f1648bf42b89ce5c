//! What a job is made of: its request, per-target results and log lines.

use serde::{Deserialize, Serialize};

/// An action to run over targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRequest {
    /// The installed plugin's name.
    pub plugin: String,
    /// One of its actions.
    pub action: String,
    /// Parameters (a JSON object).
    pub params: serde_json::Value,
    /// Target names; duplicates are dropped.
    pub targets: Vec<String>,
    /// Check mode: change nothing, say what would change.
    pub check: bool,
    /// Ask plugins for diffs.
    pub diff: bool,
    /// Record unknown host keys instead of refusing them.
    #[serde(default)]
    pub trust_new_hosts: bool,
    /// Run every command as this user through sudo (Ansible's `become`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_user: Option<String>,
    /// Environment variable holding the sudo password, if sudo asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_password_env: Option<String>,
    /// Params the action's schema marks secret, as recorded: their values
    /// are masked in the history, so a re-run must be given them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_params: Vec<String>,
}

impl RunRequest {
    /// A request with the defaults: no check mode, no diff, known host keys
    /// only, no `become`.
    pub fn new<T: Into<String>>(
        plugin: &str,
        action: &str,
        params: serde_json::Value,
        targets: impl IntoIterator<Item = T>,
    ) -> Self {
        RunRequest {
            plugin: plugin.into(),
            action: action.into(),
            params,
            targets: targets.into_iter().map(Into::into).collect(),
            check: false,
            diff: false,
            trust_new_hosts: false,
            become_user: None,
            become_password_env: None,
            secret_params: Vec::new(),
        }
    }
}

/// How an action ended on one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultStatus {
    /// Nothing needed to change.
    Ok,
    /// Something changed.
    Changed,
    /// It did not work.
    Failed,
    /// Nothing to do.
    Skipped,
    /// The target could not be reached.
    Unreachable,
}

impl ResultStatus {
    /// Lower-case name, as stored and printed.
    pub fn name(self) -> &'static str {
        match self {
            ResultStatus::Ok => "ok",
            ResultStatus::Changed => "changed",
            ResultStatus::Failed => "failed",
            ResultStatus::Skipped => "skipped",
            ResultStatus::Unreachable => "unreachable",
        }
    }

    /// Parses a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Ok,
            Self::Changed,
            Self::Failed,
            Self::Skipped,
            Self::Unreachable,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// Why a target failed, when the host knows better than "the plugin said so".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The plugin reported failure itself.
    Plugin,
    /// A host call was refused: a capability is not granted.
    Denied,
    /// The parameters did not fit the action.
    BadParams,
    /// A limit (memory, CPU, wall time, log, output) stopped the plugin.
    Limit,
    /// The plugin trapped: panic, stack overflow, bad memory access.
    Crashed,
    /// The host could not run the plugin at all.
    Host,
    /// The target could not be reached (refused, timed out, host key, login).
    Unreachable,
}

impl FailureKind {
    /// Kebab-case name, as stored and printed.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Plugin => "plugin",
            FailureKind::Denied => "denied",
            FailureKind::BadParams => "bad-params",
            FailureKind::Limit => "limit",
            FailureKind::Crashed => "crashed",
            FailureKind::Host => "host",
            FailureKind::Unreachable => "unreachable",
        }
    }

    /// Parses a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Plugin,
            Self::Denied,
            Self::BadParams,
            Self::Limit,
            Self::Crashed,
            Self::Host,
            Self::Unreachable,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// The result on one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetResult {
    /// The target's name.
    pub target: String,
    /// How it ended.
    pub status: ResultStatus,
    /// One line for people.
    pub summary: String,
    /// Unified diff, when the plugin gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Structured data, when the plugin gave some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    /// How long it took.
    pub duration_ms: u64,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Still going.
    Running,
    /// Every target has a result.
    Finished,
    /// The process running it died before it finished.
    Interrupted,
}

impl JobState {
    /// Lower-case name, as stored.
    pub fn name(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Finished => "finished",
            JobState::Interrupted => "interrupted",
        }
    }

    /// Parses a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Running, Self::Finished, Self::Interrupted]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Very detailed.
    Trace,
    /// Detailed.
    Debug,
    /// Normal.
    Info,
    /// Something to look at.
    Warn,
    /// Something went wrong.
    Error,
}

impl LogLevel {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }

    /// Parses a stored name (unknown names read as info).
    pub fn from_name(name: &str) -> Self {
        [
            Self::Trace,
            Self::Debug,
            Self::Info,
            Self::Warn,
            Self::Error,
        ]
        .into_iter()
        .find(|l| l.name() == name)
        .unwrap_or(LogLevel::Info)
    }
}

/// One log line of a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogLine {
    /// The target whose run wrote it.
    pub target: String,
    /// Severity.
    pub level: LogLevel,
    /// The text.
    pub message: String,
    /// Key/value fields.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub fields: Vec<(String, String)>,
    /// When (ms since the epoch).
    pub at_ms: i64,
}

/// A job as the history shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    /// Its number.
    pub id: i64,
    /// Plugin that ran.
    pub plugin: String,
    /// Action that ran.
    pub action: String,
    /// Parameters given.
    pub params: serde_json::Value,
    /// Targets it ran on.
    pub targets: Vec<String>,
    /// Whether it ran in check mode.
    pub check: bool,
    /// Running, finished or interrupted.
    pub state: JobState,
    /// Start (ms since the epoch).
    pub started_at_ms: i64,
    /// End, once it ended.
    pub finished_at_ms: Option<i64>,
    /// Why it failed as a whole, when it did (a playbook stopped by a play
    /// whose hosts could not be chosen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Results per target (only those that finished).
    pub results: Vec<TargetResult>,
}

impl JobRecord {
    /// The worst status across targets: failed/unreachable beat changed,
    /// changed beats ok; `None` while no target has finished. A job that
    /// failed as a whole is failed.
    pub fn overall(&self) -> Option<ResultStatus> {
        if self.error.is_some() {
            return Some(ResultStatus::Failed);
        }
        overall_status(self.results.iter().map(|r| r.status))
    }
}

/// The worst of several statuses (failed > unreachable > changed > ok > skipped).
pub fn overall_status(statuses: impl Iterator<Item = ResultStatus>) -> Option<ResultStatus> {
    let rank = |s: ResultStatus| match s {
        ResultStatus::Failed => 4,
        ResultStatus::Unreachable => 3,
        ResultStatus::Changed => 2,
        ResultStatus::Ok => 1,
        ResultStatus::Skipped => 0,
    };
    statuses.max_by_key(|s| rank(*s))
}
