//! Every call from the window to the backend: one function per Tauri
//! command, typed on both sides. Pages call these, never Tauri.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(command: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// Calls a backend command; its error is the backend's message.
async fn invoke<T: DeserializeOwned>(command: &str, args: JsValue) -> Result<T, String> {
    let value = tauri_invoke(command, args).await.map_err(|e| {
        e.as_string()
            .unwrap_or_else(|| format!("{command} failed: {e:?}"))
    })?;
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| format!("{command} answered something unexpected: {e}"))
}

/// Hosts per environment, with the newest jobs and the local engine.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Overview {
    /// `(environment, hosts)`; hosts without one are under `none`.
    pub environments: Vec<(String, usize)>,
    /// Jobs still running.
    pub running_jobs: usize,
    /// Recent jobs that failed: `(id, plugin action, targets)`.
    pub recent_failures: Vec<(i64, String, String)>,
    /// The newest jobs: `(id, what, state, overall)`.
    pub recent_jobs: Vec<(i64, String, String, String)>,
    /// Containers on this machine (running, all), when it has an engine.
    pub containers: Option<(usize, usize)>,
    /// Swarm services this machine manages.
    pub services: Option<usize>,
    /// Why the local engine could not be read, if it could not.
    pub docker_error: Option<String>,
}

/// The Overview page's data.
pub async fn overview() -> Result<Overview, String> {
    invoke("overview", JsValue::UNDEFINED).await
}
