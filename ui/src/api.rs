//! Every call from the window to the backend: one function per Tauri
//! command, typed on both sides, and the event streams the backend
//! pushes. Pages call these, never Tauri.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(command: &str, args: JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], js_name = listen, catch)]
    async fn tauri_listen(
        event: &str,
        handler: &Closure<dyn FnMut(JsValue)>,
    ) -> Result<JsValue, JsValue>;
}

/// A failed call: the backend's message and, for a form, the field it is
/// about.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ApiError {
    /// What went wrong and what to do next.
    pub message: String,
    /// The form field (`name`, `path`…), if the error is about one.
    #[serde(default)]
    pub field: Option<String>,
}

impl ApiError {
    fn new(message: String) -> Self {
        ApiError {
            message,
            field: None,
        }
    }

    /// The message when it is about `field`.
    pub fn about(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

/// What every call returns.
pub type ApiResult<T> = Result<T, ApiError>;

/// Calls a backend command with named arguments.
async fn call<T: DeserializeOwned>(command: &str, args: Value) -> ApiResult<T> {
    let args = serde_wasm_bindgen::to_value(&args)
        .map_err(|e| ApiError::new(format!("{command}: could not send the arguments: {e}")))?;
    let value = tauri_invoke(command, args).await.map_err(|e| {
        serde_wasm_bindgen::from_value::<ApiError>(e.clone()).unwrap_or_else(|_| {
            ApiError::new(
                e.as_string()
                    .unwrap_or_else(|| format!("{command} failed: {e:?}")),
            )
        })
    })?;
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| ApiError::new(format!("{command} answered something unexpected: {e}")))
}

/// Subscribes to a backend event for the life of the window; `handler`
/// gets each payload.
pub async fn listen<T: DeserializeOwned + 'static>(
    event: &'static str,
    mut handler: impl FnMut(T) + 'static,
) {
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |message: JsValue| {
        let payload = js_sys::Reflect::get(&message, &"payload".into()).unwrap_or(JsValue::NULL);
        match serde_wasm_bindgen::from_value::<T>(payload) {
            Ok(value) => handler(value),
            Err(e) => crate::console_error(&format!("{event}: unexpected payload: {e}")),
        }
    });
    if let Err(e) = tauri_listen(event, &closure).await {
        crate::console_error(&format!("could not listen to {event}: {e:?}"));
    }
    // The window listens for as long as it lives.
    closure.forget();
}

/// Subscribes to a backend event whose payload is JSON text (large
/// batches: parsing one string beats walking thousands of JS objects).
pub async fn listen_json<T: DeserializeOwned + 'static>(
    event: &'static str,
    mut handler: impl FnMut(T) + 'static,
) {
    listen(event, move |text: String| {
        match serde_json::from_str::<T>(&text) {
            Ok(value) => handler(value),
            Err(e) => crate::console_error(&format!("{event}: unexpected payload: {e}")),
        }
    })
    .await;
}

// ---------------------------------------------------------------- types

/// A job's or a target's result, in Ansible's words (`ok`, `changed`,
/// `failed`, `skipped`, `unreachable`); a job's state (`running`,
/// `finished`, `interrupted`).
pub type Status = String;

/// One environment's hosts by their last check.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EnvironmentHosts {
    /// `dev`, `preprod`, `prod` or `none`.
    pub name: String,
    /// Hosts.
    pub hosts: usize,
    /// Reachable at their last check.
    pub reachable: usize,
    /// Unreachable at their last check.
    pub unreachable: usize,
}

/// The Overview page's data.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Overview {
    /// Hosts per environment.
    pub environments: Vec<EnvironmentHosts>,
    /// Jobs still running.
    pub running_jobs: usize,
    /// Recent failed jobs.
    pub recent_failures: Vec<JobRow>,
    /// The newest jobs.
    pub recent_jobs: Vec<JobRow>,
    /// Containers on this machine (running, all).
    pub containers: Option<(usize, usize)>,
    /// Swarm services this machine manages.
    pub services: Option<usize>,
    /// Why the local engine could not be read.
    pub docker_error: Option<String>,
}

/// One line of the job history.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct JobRow {
    /// Its number.
    pub id: i64,
    /// `plugin action` or `playbook file.yml`.
    pub what: String,
    /// Targets, comma-separated.
    pub targets: String,
    /// Its state.
    pub state: Status,
    /// Its worst result.
    pub overall: Option<Status>,
    /// Check mode.
    pub check: bool,
    /// Start (ms since the epoch).
    pub started_at_ms: i64,
    /// Duration once ended.
    pub duration_ms: Option<i64>,
}

/// A result on one target.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TargetResult {
    /// The target.
    pub target: String,
    /// How it ended.
    pub status: Status,
    /// One line.
    pub summary: String,
    /// A unified diff.
    #[serde(default)]
    pub diff: Option<String>,
    /// Why it failed (`denied`, `limit`…).
    #[serde(default)]
    pub failure: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

/// A job as stored.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct JobRecord {
    /// Its number.
    pub id: i64,
    /// Plugin (or `playbook`).
    pub plugin: String,
    /// Action (or the playbook's path).
    pub action: String,
    /// Its parameters.
    pub params: Value,
    /// Its targets.
    pub targets: Vec<String>,
    /// Check mode.
    pub check: bool,
    /// Its state.
    pub state: Status,
    /// Start.
    pub started_at_ms: i64,
    /// End.
    pub finished_at_ms: Option<i64>,
    /// Why it failed as a whole, if it did.
    #[serde(default)]
    pub error: Option<String>,
    /// Results per target.
    pub results: Vec<TargetResult>,
}

/// A log line.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LogLine {
    /// The target whose run wrote it.
    pub target: String,
    /// `info`, `warn`…
    pub level: String,
    /// The text.
    pub message: String,
}

/// A playbook task's result on one host.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TaskOutcome {
    /// The host.
    pub host: String,
    /// The play.
    pub play: String,
    /// The task.
    pub task: String,
    /// Its module.
    pub module: String,
    /// How it ended.
    pub status: Status,
    /// Failed but ignored.
    pub ignored: bool,
    /// One line.
    pub summary: String,
    /// A diff.
    #[serde(default)]
    pub diff: Option<String>,
}

/// A host's recap.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Recap {
    /// The host.
    pub host: String,
    /// Counts.
    pub ok: u32,
    /// Changed.
    pub changed: u32,
    /// Unreachable.
    pub unreachable: u32,
    /// Failed.
    pub failed: u32,
    /// Skipped.
    pub skipped: u32,
}

/// Everything the job view needs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct JobDetail {
    /// The job.
    pub job: JobRecord,
    /// Its log.
    pub logs: Vec<LogLine>,
    /// A playbook's task results.
    pub tasks: Vec<TaskOutcome>,
    /// The worst result across targets.
    pub overall: Option<Status>,
    /// A playbook's recap per host.
    pub recap: Vec<Recap>,
}

/// Something that happened in a job, pushed as it happens.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum JobUpdate {
    /// The job was recorded.
    Started {
        /// The job.
        job_id: i64,
        /// Its targets.
        targets: Vec<String>,
    },
    /// A log line.
    Log {
        /// The job.
        job_id: i64,
        /// The target.
        target: String,
        /// Its level.
        level: String,
        /// Its text.
        message: String,
    },
    /// A target finished.
    TargetDone {
        /// The job.
        job_id: i64,
        /// Its result.
        result: TargetResult,
    },
    /// A play starts.
    Play {
        /// The job.
        job_id: i64,
        /// Its name.
        name: String,
        /// Its hosts.
        hosts: Vec<String>,
    },
    /// A task starts.
    Task {
        /// The job.
        job_id: i64,
        /// Its name.
        name: String,
    },
    /// A task finished on a host.
    HostDone {
        /// The job.
        job_id: i64,
        /// The outcome.
        outcome: TaskOutcome,
    },
    /// The job ended.
    Finished {
        /// The job.
        job_id: i64,
        /// Its worst result.
        overall: Option<Status>,
        /// A playbook's recap.
        recap: Vec<Recap>,
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

/// How to log in to a host.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum HostAuth {
    /// A key file.
    KeyFile(String),
    /// The ssh-agent.
    Agent,
    /// A password from this environment variable.
    PasswordEnv(String),
}

/// A host of the inventory.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Host {
    /// Its name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Login method.
    pub auth: HostAuth,
    /// Environment.
    pub environment: Option<String>,
    /// Groups.
    pub groups: Vec<String>,
}

/// A connection check.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct HostCheck {
    /// The host.
    pub name: String,
    /// Logged in.
    pub reachable: bool,
    /// `uname` or why not.
    pub message: String,
    /// An unknown host key's fingerprint.
    #[serde(default)]
    pub unknown_key: Option<String>,
    /// How long it took.
    pub elapsed_ms: u64,
    /// When.
    pub checked_at_ms: i64,
}

/// A host with its last check.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct HostView {
    /// The host.
    pub host: Host,
    /// Its last check.
    pub check: Option<HostCheck>,
}

/// The host form as typed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct HostForm {
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Port.
    pub port: String,
    /// User.
    pub user: String,
    /// `agent`, `key`, `password-env`.
    pub auth: String,
    /// Key path or variable name.
    pub auth_value: String,
    /// Environment.
    pub environment: String,
    /// Groups.
    pub groups: String,
}

/// Facts gathered from a host.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Facts {
    /// The job that gathered them.
    pub job_id: i64,
    /// The facts.
    pub facts: Option<Value>,
    /// Why not.
    pub error: Option<String>,
}

/// A capability with its plain words.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CapabilityView {
    /// Its name.
    pub name: String,
    /// What it allows.
    pub words: String,
    /// Held now.
    pub granted: bool,
}

/// An action a plugin offers.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ActionInfo {
    /// Its name.
    pub name: String,
    /// What it does.
    pub summary: String,
    /// Its parameters' JSON Schema.
    pub params_schema: Value,
}

/// A plugin.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PluginView {
    /// Its name.
    pub name: String,
    /// Version.
    pub version: String,
    /// What it is for.
    pub summary: String,
    /// Shipped with Capstan.
    pub bundled: bool,
    /// Installed.
    pub installed: bool,
    /// Its actions.
    pub actions: Vec<ActionInfo>,
    /// What it asked for and holds.
    pub capabilities: Vec<CapabilityView>,
}

/// A component file described, for the grant dialog.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Inspection {
    /// Its name.
    pub name: String,
    /// Version.
    pub version: String,
    /// What it is for.
    pub summary: String,
    /// Actions and summaries.
    pub actions: Vec<(String, String)>,
    /// What it asks for.
    pub capabilities: Vec<CapabilityView>,
    /// The file's hash.
    pub sha256: String,
    /// What installing it would replace, in words, if anything.
    pub replaces: Option<String>,
}

/// A container row.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ContainerRow {
    /// Short id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Image.
    pub image: String,
    /// `running`, `exited`…
    pub state: String,
    /// `Up 3 minutes`…
    pub status: String,
    /// Published ports.
    pub ports: String,
    /// Its swarm service.
    pub service: Option<String>,
}

/// A swarm service row.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ServiceRow {
    /// Short id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `replicated` or `global`.
    pub mode: String,
    /// Running tasks.
    pub running: u64,
    /// Wanted tasks.
    pub desired: u64,
    /// Image.
    pub image: String,
    /// Ports.
    pub ports: String,
    /// Last update's state.
    pub update: String,
    /// Stack.
    pub stack: Option<String>,
}

/// A swarm node row.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct NodeRow {
    /// Short id.
    pub id: String,
    /// Hostname.
    pub hostname: String,
    /// Role.
    pub role: String,
    /// Availability.
    pub availability: String,
    /// State.
    pub state: String,
    /// Manager status.
    pub manager_status: String,
    /// Engine version.
    pub engine: String,
}

/// A service's task row.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TaskRow {
    /// Short id.
    pub id: String,
    /// Slot (0 for a global service).
    pub slot: u64,
    /// Node.
    pub node: String,
    /// Desired state.
    pub desired: String,
    /// Current state.
    pub state: String,
    /// Error.
    pub error: String,
}

/// A host's engine, pushed as it changes.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct DockerView {
    /// The stream.
    pub stream: u64,
    /// The host.
    pub host: String,
    /// Containers.
    pub containers: Vec<ContainerRow>,
    /// Services.
    pub services: Vec<ServiceRow>,
    /// Nodes.
    pub nodes: Vec<NodeRow>,
    /// Why the view stopped.
    pub error: Option<String>,
}

/// A piece of followed container output.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LogChunk {
    /// The stream.
    pub stream: u64,
    /// Text.
    pub text: String,
    /// The stream ended.
    pub ended: bool,
    /// Why, if early.
    pub error: Option<String>,
}

/// Which jobs the history shows.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct JobFilter {
    /// A state, or none.
    pub state: Option<String>,
    /// A result, or none.
    pub result: Option<String>,
    /// Text in plugin, action or targets.
    pub text: Option<String>,
    /// How many.
    pub limit: usize,
}

/// A plugin action to run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunRequest {
    /// Plugin.
    pub plugin: String,
    /// Action.
    pub action: String,
    /// Params (an object).
    pub params: Value,
    /// Targets.
    pub targets: Vec<String>,
    /// Check mode.
    pub check: bool,
    /// Diffs.
    pub diff: bool,
}

/// A playbook to run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PlaybookForm {
    /// The playbook file.
    pub playbook: String,
    /// An inventory file, or empty.
    pub inventory: String,
    /// A host pattern, or empty.
    pub limit: String,
    /// Check mode.
    pub check: bool,
    /// Diffs.
    pub diff: bool,
}

// ---------------------------------------------------------------- calls

/// Tells the backend the first page is painted and usable.
pub async fn ui_ready() {
    let _ = call::<()>("ui_ready", json!({})).await;
}

/// The Overview page's data.
pub async fn overview() -> ApiResult<Overview> {
    call("overview", json!({})).await
}

/// The inventory with each host's last check.
pub async fn hosts() -> ApiResult<Vec<HostView>> {
    call("hosts", json!({})).await
}

/// Adds a host, or saves the edit of host `editing`.
pub async fn save_host(form: HostForm, editing: Option<String>) -> ApiResult<Host> {
    call("save_host", json!({ "form": form, "editing": editing })).await
}

/// Removes a host.
pub async fn remove_host(name: String) -> ApiResult<()> {
    call("remove_host", json!({ "name": name })).await
}

/// Imports an Ansible inventory file; returns the number of hosts.
pub async fn import_inventory(path: String) -> ApiResult<usize> {
    call("import_inventory", json!({ "path": path })).await
}

/// Logs in to a host; `trust` records a first-seen host key, only if it
/// has that fingerprint (the one the user was shown).
pub async fn check_host(name: String, trust: Option<String>) -> ApiResult<HostCheck> {
    call("check_host", json!({ "name": name, "fingerprint": trust })).await
}

/// Gathers a host's facts.
pub async fn host_facts(name: String) -> ApiResult<Facts> {
    call("host_facts", json!({ "name": name })).await
}

/// Every plugin.
pub async fn plugins() -> ApiResult<Vec<PluginView>> {
    call("plugins", json!({})).await
}

/// Describes a component file for the grant dialog.
pub async fn inspect_plugin(path: String) -> ApiResult<Inspection> {
    call("inspect_plugin", json!({ "path": path })).await
}

/// Installs a component with exactly these grants; `replace` confirms
/// replacing a plugin of the same name, whose data goes unless `keep_data`.
pub async fn install_plugin(
    path: String,
    sha256: String,
    grants: Vec<String>,
    replace: bool,
    keep_data: bool,
) -> ApiResult<PluginView> {
    call(
        "install_plugin",
        json!({ "path": path, "sha256": sha256, "grants": grants, "replace": replace, "keepData": keep_data }),
    )
    .await
}

/// Grants or revokes one capability.
pub async fn set_grant(plugin: String, capability: String, granted: bool) -> ApiResult<PluginView> {
    call(
        "set_grant",
        json!({ "plugin": plugin, "capability": capability, "granted": granted }),
    )
    .await
}

/// Uninstalls a plugin.
pub async fn remove_plugin(name: String) -> ApiResult<()> {
    call("remove_plugin", json!({ "name": name })).await
}

/// Starts a plugin action; returns the job's id.
pub async fn run_action(request: RunRequest) -> ApiResult<i64> {
    call("run_action", json!({ "request": request })).await
}

/// Starts a playbook; returns the job's id.
pub async fn run_playbook(form: PlaybookForm) -> ApiResult<i64> {
    call("run_playbook", json!({ "form": form })).await
}

/// Runs a job again; returns the new job's id.
pub async fn rerun(job_id: i64) -> ApiResult<i64> {
    call("rerun", json!({ "jobId": job_id })).await
}

/// The history.
pub async fn jobs(filter: JobFilter) -> ApiResult<Vec<JobRow>> {
    call("jobs", json!({ "filter": filter })).await
}

/// One job, with its log when `logs`.
pub async fn job(id: i64, logs: bool) -> ApiResult<JobDetail> {
    call("job", json!({ "id": id, "logs": logs })).await
}

/// Starts a live view of a host's engine; returns the stream's id.
pub async fn watch_docker(host: String) -> ApiResult<u64> {
    call("watch_docker", json!({ "host": host })).await
}

/// A service's tasks.
pub async fn service_tasks(host: String, service: String) -> ApiResult<Vec<TaskRow>> {
    call("service_tasks", json!({ "host": host, "service": service })).await
}

/// Follows a container's output; returns the stream's id.
pub async fn follow_logs(host: String, container: String, tail: u32) -> ApiResult<u64> {
    call(
        "follow_logs",
        json!({ "host": host, "container": container, "tail": tail }),
    )
    .await
}

/// Stops a stream.
pub async fn stop_stream(stream: u64) {
    let _ = call::<()>("stop_stream", json!({ "stream": stream })).await;
}
