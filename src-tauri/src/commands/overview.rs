//! The Overview page: hosts by environment with their reachability, jobs
//! running and failing, and this machine's containers and services (put
//! together by the engine, which `capstan overview` also prints).

use std::sync::Arc;

use capstan_engine::Capstan;
use capstan_wire::overview::Overview;

use crate::error::UiResult;

/// Hosts by environment, running and failed jobs, and this machine's
/// containers and services.
#[tauri::command]
pub async fn overview(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Overview> {
    Ok(capstan.overview().await?)
}
