//! Every call from the window to the backend: one function per Tauri
//! command, typed on both sides, and the event streams the backend
//! pushes. Pages call these, never Tauri.

use serde::de::DeserializeOwned;
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

// Every type the backend sends or takes is the wire crate's: defined once,
// so the window and the engine cannot drift apart.
pub use capstan_wire::ApiError;
pub use capstan_wire::docker::{
    ContainerRow, ContainerState, DockerView, LogChunk, ServiceMode, ServiceRow, TaskRow,
};
pub use capstan_wire::hosts::{Facts, Host, HostAuth, HostCheck, HostForm, HostView};
pub use capstan_wire::jobs::{
    JobDetail, JobFilter, JobRow, JobUpdate, LogLine, PlaybookForm, Recap, RunRequest,
    TargetResult, TaskOutcome,
};
pub use capstan_wire::notifications::{
    Channel, ChannelKind, ChannelSpec, DeliveryState, NotificationDelivery, NotifyOn, Rule,
    RuleSpec, SmtpSecurity, SmtpSettings,
};
pub use capstan_wire::overview::Overview;
pub use capstan_wire::plugins::{Inspection, PluginView};
pub use capstan_wire::schedules::{
    Misfire, Overlap, Schedule, ScheduleSpec, ScheduledJob, ScheduledPlaybook,
};
pub use capstan_wire::secrets::SecretInfo;
pub use capstan_wire::status::{JobState, ResultStatus};
pub use capstan_wire::webhooks::{Hook, HookAuth, HookSpec};

// ---------------------------------------------------------------- calls

/// Tells the backend the first page is painted and usable, with when (ms
/// since the page began loading) the UI's code started, its data arrived
/// and it painted.
pub async fn ui_ready(code_ms: f64, data_ms: f64, painted_ms: f64) {
    let marks = json!({ "codeMs": code_ms, "dataMs": data_ms, "paintedMs": painted_ms });
    let _ = call::<()>("ui_ready", marks).await;
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

/// Asks for a running job to be cancelled, whichever process runs it;
/// returns what became of the request, in words.
pub async fn cancel_job(job_id: i64) -> ApiResult<String> {
    call("cancel_job", json!({ "jobId": job_id })).await
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

/// Every schedule, with its next times.
pub async fn schedules() -> ApiResult<Vec<Schedule>> {
    call("schedules", json!({})).await
}

/// Adds a schedule.
pub async fn add_schedule(spec: ScheduleSpec) -> ApiResult<Schedule> {
    call("add_schedule", json!({ "spec": spec })).await
}

/// Pauses or resumes a schedule.
pub async fn pause_schedule(name: String, paused: bool) -> ApiResult<Schedule> {
    call("pause_schedule", json!({ "name": name, "paused": paused })).await
}

/// Removes a schedule.
pub async fn remove_schedule(name: String) -> ApiResult<()> {
    call("remove_schedule", json!({ "name": name })).await
}

/// Every secret's name and dates.
pub async fn secrets() -> ApiResult<Vec<SecretInfo>> {
    call("secrets", json!({})).await
}

/// Seals and stores a secret.
pub async fn set_secret(name: String, value: String) -> ApiResult<()> {
    call("set_secret", json!({ "name": name, "value": value })).await
}

/// Removes a secret.
pub async fn remove_secret(name: String) -> ApiResult<()> {
    call("remove_secret", json!({ "name": name })).await
}

/// Every webhook, with its deliveries counted.
pub async fn webhooks() -> ApiResult<Vec<Hook>> {
    call("webhooks", json!({})).await
}

/// Adds a webhook.
pub async fn add_webhook(spec: HookSpec) -> ApiResult<Hook> {
    call("add_webhook", json!({ "spec": spec })).await
}

/// Removes a webhook.
pub async fn remove_webhook(name: String) -> ApiResult<()> {
    call("remove_webhook", json!({ "name": name })).await
}

/// Every notification channel.
pub async fn channels() -> ApiResult<Vec<Channel>> {
    call("channels", json!({})).await
}

/// Adds a notification channel.
pub async fn add_channel(spec: ChannelSpec) -> ApiResult<Channel> {
    call("add_channel", json!({ "spec": spec })).await
}

/// Removes a notification channel.
pub async fn remove_channel(name: String) -> ApiResult<()> {
    call("remove_channel", json!({ "name": name })).await
}

/// Every notification rule.
pub async fn rules() -> ApiResult<Vec<Rule>> {
    call("rules", json!({})).await
}

/// Adds a notification rule.
pub async fn add_rule(spec: RuleSpec) -> ApiResult<Rule> {
    call("add_rule", json!({ "spec": spec })).await
}

/// Removes a notification rule.
pub async fn remove_rule(name: String) -> ApiResult<()> {
    call("remove_rule", json!({ "name": name })).await
}

/// The newest notification deliveries, with their attempts.
pub async fn notification_deliveries() -> ApiResult<Vec<NotificationDelivery>> {
    call("notification_deliveries", json!({})).await
}

/// The SMTP server e-mail channels send through, if set.
pub async fn smtp() -> ApiResult<Option<SmtpSettings>> {
    call("smtp", json!({})).await
}

/// Sets the SMTP server.
pub async fn set_smtp(settings: SmtpSettings) -> ApiResult<()> {
    call("set_smtp", json!({ "settings": settings })).await
}
