//! Jobs: what a face asks to run, what the history holds of each run, and
//! the updates a running job pushes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::status::{FailureKind, JobKind, JobState, LogLevel, ResultStatus, overall_status};

/// A request to run one plugin action on some targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunRequest {
    /// The installed plugin's name.
    pub plugin: String,
    /// One of its actions.
    pub action: String,
    /// Parameters (a JSON object).
    pub params: Value,
    /// Target names; duplicates are dropped.
    pub targets: Vec<String>,
    /// Check mode: change nothing, say what would change.
    #[serde(default)]
    pub check: bool,
    /// Ask plugins for diffs.
    #[serde(default)]
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
    /// The stored secret holding the sudo password, if sudo asks: what an
    /// unattended run (a schedule's, a webhook's, the API's) uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_password_secret: Option<String>,
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
        params: Value,
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
            become_password_secret: None,
            secret_params: Vec::new(),
        }
    }
}

/// A playbook run as the history records it: enough to show it and to run
/// it again (the values of `-e` variables are not kept, only their names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaybookRequest {
    /// The playbook file.
    pub playbook: String,
    /// The inventory file, or none for Capstan's own hosts.
    #[serde(default)]
    pub inventory: Option<String>,
    /// The `--limit` host pattern.
    #[serde(default)]
    pub limit: Option<String>,
    /// Only tasks with these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Not tasks with these tags.
    #[serde(default)]
    pub skip_tags: Vec<String>,
    /// Names of the `-e` variables it was given.
    #[serde(default)]
    pub extra_vars: Vec<String>,
    /// Check mode.
    #[serde(default)]
    pub check: bool,
    /// Diffs.
    #[serde(default)]
    pub diff: bool,
    /// Environment variable holding the sudo password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_password_env: Option<String>,
    /// The stored secret holding the sudo password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_password_secret: Option<String>,
    /// For an ad-hoc command, its module: its arguments are not kept (they
    /// may hold secrets), so it cannot be run again from the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adhoc: Option<String>,
    /// The inventory's hosts when it ran, naturally sorted.
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// What a job was asked to do, typed by its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum JobRequest {
    /// A plugin action.
    Action(RunRequest),
    /// A playbook run over an inventory.
    Playbook(PlaybookRequest),
}

impl JobRequest {
    /// Which kind of job this request starts (the tag it is stored under).
    pub fn kind(&self) -> JobKind {
        match self {
            JobRequest::Action(_) => JobKind::Action,
            JobRequest::Playbook(_) => JobKind::Playbook,
        }
    }

    /// Targets (an action's) or hosts (a playbook inventory's).
    pub fn targets(&self) -> &[String] {
        match self {
            JobRequest::Action(r) => &r.targets,
            JobRequest::Playbook(p) => &p.hosts,
        }
    }

    /// Whether it runs in check mode.
    pub fn check(&self) -> bool {
        match self {
            JobRequest::Action(r) => r.check,
            JobRequest::Playbook(p) => p.check,
        }
    }
}

/// The result on one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetResult {
    /// The target's name.
    pub target: String,
    /// How it ended.
    pub status: ResultStatus,
    /// One line for people.
    pub summary: String,
    /// Unified diff, when the plugin gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Structured data, when the plugin gave some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    /// How long it took.
    pub duration_ms: u64,
}

/// One log line of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    /// The target whose run wrote it.
    pub target: String,
    /// Severity.
    pub level: LogLevel,
    /// The text.
    pub message: String,
    /// Key/value fields, as `[key, value]` pairs.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<String>>))]
    pub fields: Vec<(String, String)>,
    /// When (ms since the epoch).
    pub at_ms: i64,
}

/// A job as the history shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobRecord {
    /// Its number.
    pub id: i64,
    /// A plugin action or a playbook.
    pub kind: JobKind,
    /// The plugin that ran (`playbook` for a playbook, shown as such).
    pub plugin: String,
    /// The action that ran, or the playbook's path.
    pub action: String,
    /// Parameters given (a playbook's options), as recorded.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub params: crate::RawJson,
    /// Targets it ran on.
    pub targets: Vec<String>,
    /// Whether it ran in check mode.
    pub check: bool,
    /// Running, finished, interrupted or cancelled.
    pub state: JobState,
    /// Who started it: an OS user (the CLI, the window), a token, a
    /// schedule or a webhook.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "user:alice"))]
    pub launched_by: crate::Actor,
    /// Who asked for it to be cancelled, once someone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub cancelled_by: Option<crate::Actor>,
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

    /// Whether it is a playbook run.
    pub fn is_playbook(&self) -> bool {
        self.kind == JobKind::Playbook
    }

    /// `plugin action`, or `playbook site.yml` (the file's name).
    pub fn what(&self) -> String {
        match self.kind {
            JobKind::Playbook => {
                let file = std::path::Path::new(&self.action)
                    .file_name()
                    .map_or(self.action.clone(), |f| f.to_string_lossy().into_owned());
                format!("playbook {file}")
            }
            JobKind::Action => format!("{} {}", self.plugin, self.action),
        }
    }
}

/// How one playbook task ended on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskOutcome {
    /// The host, by its inventory name.
    pub host: String,
    /// The name of the play the task belongs to.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The result as `register:` sees it.
    #[serde(default)]
    pub result: Value,
    /// How long it took on this host.
    #[serde(default)]
    pub duration_ms: u64,
}

/// A host's totals, as Ansible's PLAY RECAP prints them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recap {
    /// The host, by its inventory name.
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
    /// Failures a block's `rescue:` took over (not counted as failed).
    #[serde(default)]
    pub rescued: u32,
    /// Failures let through by `ignore_errors`.
    #[serde(default)]
    pub ignored: u32,
    /// Its failures were cleared by `meta: clear_host_errors` and it ended
    /// the run in good standing: as in Ansible, the run does not fail on
    /// its account, though `failed` still counts them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cleared: bool,
}

impl Recap {
    /// The host's overall status.
    pub fn status(&self) -> ResultStatus {
        if self.unreachable > 0 {
            ResultStatus::Unreachable
        } else if self.failed > 0 && !self.cleared {
            ResultStatus::Failed
        } else if self.changed > 0 {
            ResultStatus::Changed
        } else {
            ResultStatus::Ok
        }
    }

    /// Whether the run fails on this host's account: it was lost, or it
    /// failed and was not cleared.
    pub fn fails_run(&self) -> bool {
        self.status().is_failure()
    }

    /// `ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0`.
    pub fn counts(&self) -> String {
        format!(
            "ok={} changed={} unreachable={} failed={} skipped={} rescued={} ignored={}",
            self.ok,
            self.changed,
            self.unreachable,
            self.failed,
            self.skipped,
            self.rescued,
            self.ignored
        )
    }
}

/// Which jobs a history view wants. Empty fields match every job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

    /// Whether it lets every job through.
    pub fn is_empty(&self) -> bool {
        self.state.is_none()
            && self.result.is_none()
            && self.text.as_deref().is_none_or(|t| t.trim().is_empty())
    }
}

/// Everything a job view shows of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// One line of the job history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobRow {
    /// Its number.
    pub id: i64,
    /// A plugin action or a playbook.
    pub kind: JobKind,
    /// `plugin action`, or `playbook site.yml`.
    pub what: String,
    /// Its targets, comma-separated.
    pub targets: String,
    /// Running, finished, interrupted or cancelled.
    pub state: JobState,
    /// Who started it: an OS user (the CLI, the window), a token, a
    /// schedule or a webhook.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "user:alice"))]
    pub launched_by: crate::Actor,
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
        JobRow {
            id: job.id,
            kind: job.kind,
            what: job.what(),
            targets: job.targets.join(", "),
            state: job.state,
            launched_by: job.launched_by.clone(),
            overall: job.overall(),
            check: job.check,
            started_at_ms: job.started_at_ms,
            duration_ms: job.finished_at_ms.map(|end| end - job.started_at_ms),
        }
    }
}

/// What a face sends to start a playbook: the Run page's fields as typed
/// (empty inventory: Capstan's own hosts; empty limit: every host).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaybookForm {
    /// The playbook file.
    pub playbook: String,
    /// An inventory file, or empty.
    #[serde(default)]
    pub inventory: String,
    /// A host pattern (`--limit`), or empty.
    #[serde(default)]
    pub limit: String,
    /// Check mode.
    #[serde(default)]
    pub check: bool,
    /// Show diffs.
    #[serde(default)]
    pub diff: bool,
}

/// A playbook run sent to a service with the playbook's folder
/// (`capstan --server URL playbook run`): it runs there on the service's
/// inventory, host keys and credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaybookUpload {
    /// The playbook, as the path of one of `files`.
    pub playbook: String,
    /// The playbook's folder (roles, templates, files, vars): every file
    /// by its path relative to the folder.
    pub files: Vec<UploadedFile>,
    /// Only hosts matching this pattern (`--limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// Only tasks with one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Not tasks with one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_tags: Vec<String>,
    /// Extra variables (`-e`), stronger than any other.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extra_vars: serde_json::Map<String, Value>,
    /// Names of extra variables whose values are secret: masked in every
    /// stored or printed output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_vars: Vec<String>,
    /// Secrets from the service's secrets store, by name, given to the
    /// playbook as variables of those names (masked everywhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored_secrets: Vec<String>,
    /// Check mode: change nothing, report what would change.
    #[serde(default)]
    pub check: bool,
    /// Show diffs of what changes.
    #[serde(default)]
    pub diff: bool,
    /// Record unknown host keys instead of refusing them (needs `admin`).
    #[serde(default)]
    pub trust_new_hosts: bool,
    /// The stored secret holding the sudo password, for `become`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_password_secret: Option<String>,
}

/// One file of an uploaded playbook folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadedFile {
    /// Its path inside the folder, with `/` between parts (no `..`, not
    /// absolute).
    pub path: String,
    /// Its bytes, in standard base64.
    pub content_base64: String,
    /// Whether it is executable (a script the playbook runs).
    #[serde(default)]
    pub executable: bool,
}

/// Something that happened in a running job, pushed to a face as it
/// happens (the window's `job-updates`, the API's event stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum JobUpdate {
    /// The job was recorded; its targets start.
    Started {
        /// The job's id, as `capstan jobs show` takes it.
        job_id: i64,
        /// Its targets (a playbook's come with its plays).
        targets: Vec<String>,
    },
    /// A log line.
    Log {
        /// The job's id, as `capstan jobs show` takes it.
        job_id: i64,
        /// The target whose run wrote it.
        target: String,
        /// How loud it is (`debug` lines are kept but not shown by default).
        level: LogLevel,
        /// The line as the plugin wrote it, secrets masked.
        message: String,
    },
    /// A plugin action finished on one target.
    TargetDone {
        /// The job's id, as `capstan jobs show` takes it.
        job_id: i64,
        /// How the action ended there, with its data and output.
        result: TargetResult,
    },
    /// A playbook's play starts.
    Play {
        /// The job's id, as `capstan jobs show` takes it.
        job_id: i64,
        /// The play's name.
        name: String,
        /// The hosts it runs on, after `--limit`.
        hosts: Vec<String>,
        /// What to warn about as it starts, one warning per line: the
        /// first play carries the run's (ansible.cfg settings not
        /// honoured), and a play whose pattern matched no host says so.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
    },
    /// A playbook task starts.
    Task {
        /// The job's id, as `capstan jobs show` takes it.
        job_id: i64,
        /// The task's name.
        name: String,
        /// Whether it is a handler.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        handler: bool,
        /// How many hosts run it.
        #[serde(default)]
        hosts: usize,
        /// Where the task is written, `file:line:column`: `-vv` prints it
        /// as Ansible's `task path:`, and a failure shows the lines there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<String>,
    },
    /// A playbook task finished on one host.
    HostDone {
        /// The job's id, as `capstan jobs show` takes it.
        job_id: i64,
        /// How it ended.
        outcome: TaskOutcome,
    },
    /// The job ended.
    Finished {
        /// The job's id, as `capstan jobs show` takes it.
        job_id: i64,
        /// The worst status across targets.
        overall: Option<ResultStatus>,
        /// A playbook's recap per host.
        recap: Vec<Recap>,
        /// Why a playbook stopped before its last play, if it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

impl JobUpdate {
    /// The job it is about.
    pub fn job_id(&self) -> i64 {
        match self {
            JobUpdate::Started { job_id, .. }
            | JobUpdate::Log { job_id, .. }
            | JobUpdate::TargetDone { job_id, .. }
            | JobUpdate::Play { job_id, .. }
            | JobUpdate::Task { job_id, .. }
            | JobUpdate::HostDone { job_id, .. }
            | JobUpdate::Finished { job_id, .. } => *job_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: JobKind, plugin: &str, action: &str) -> JobRecord {
        JobRecord {
            id: 1,
            kind,
            plugin: plugin.into(),
            action: action.into(),
            params: crate::RawJson::null(),
            targets: vec!["web-1".into()],
            check: false,
            state: JobState::Finished,
            launched_by: crate::Actor::User("alice".into()),
            cancelled_by: None,
            started_at_ms: 1_000,
            finished_at_ms: Some(1_500),
            error: None,
            results: Vec::new(),
        }
    }

    #[test]
    fn the_kind_not_the_plugin_name_makes_a_playbook() {
        let played = job(JobKind::Playbook, "playbook", "/srv/ops/site.yml");
        assert_eq!(played.what(), "playbook site.yml");
        // A third-party plugin called `playbook` (installed before the
        // name was reserved) is still an action.
        let plugin = job(JobKind::Action, "playbook", "deploy");
        assert!(!plugin.is_playbook());
        assert_eq!(plugin.what(), "playbook deploy");
        let row = JobRow::from(&played);
        assert_eq!(row.duration_ms, Some(500));
        assert_eq!(row.kind, JobKind::Playbook);
    }

    #[test]
    fn a_request_carries_its_kind_on_the_wire() {
        let request = JobRequest::Playbook(PlaybookRequest {
            playbook: "site.yml".into(),
            ..Default::default()
        });
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["kind"], "playbook");
        assert_eq!(serde_json::from_value::<JobRequest>(json).unwrap(), request);
        let action = JobRequest::Action(RunRequest::new("debug", "msg", Value::Null, ["local"]));
        assert_eq!(serde_json::to_value(&action).unwrap()["kind"], "action");
        assert_eq!(action.targets(), ["local"]);
    }

    #[test]
    fn a_job_that_failed_as_a_whole_is_failed() {
        let mut record = job(JobKind::Playbook, "playbook", "site.yml");
        assert_eq!(record.overall(), None);
        record.error = Some("hosts: undefined".into());
        assert_eq!(record.overall(), Some(ResultStatus::Failed));
    }
}
