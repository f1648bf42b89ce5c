//! The Overview page: hosts by environment with their reachability, jobs
//! running and failing, and this machine's containers and services (put
//! together by the engine, which `capstan overview` also prints).

use std::sync::Arc;

use capstan_app::first_overview::FirstOverview;
use capstan_engine::Capstan;
use capstan_wire::overview::Overview;

use crate::error::UiResult;

/// Hosts by environment, running and failed jobs, and this machine's
/// containers and services: the first call takes what was started at
/// launch.
#[tauri::command]
pub async fn overview(
    capstan: tauri::State<'_, Arc<Capstan>>,
    first: tauri::State<'_, FirstOverview>,
) -> UiResult<Overview> {
    if let Some(started) = first.take().await {
        return Ok(started?);
    }
    Ok(capstan.overview().await?)
}
