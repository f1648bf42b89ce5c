//! The Schedules and Secrets pages: schedules listed with their next
//! times, added, paused, resumed and removed; secrets listed by name, set
//! and removed. Changes are audited as the OS user running the window.

use std::sync::Arc;

use capstan_engine::Capstan;
use capstan_wire::schedules::{Schedule, ScheduleSpec};
use capstan_wire::secrets::SecretInfo;

use crate::error::{UiError, UiResult};

/// Every schedule, with its next times.
#[tauri::command]
pub fn schedules(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Vec<Schedule>> {
    Ok(capstan.schedules()?)
}

/// Adds a schedule once its times and its job check out.
#[tauri::command]
pub async fn add_schedule(
    capstan: tauri::State<'_, Arc<Capstan>>,
    spec: ScheduleSpec,
) -> UiResult<Schedule> {
    Ok(capstan.add_schedule(spec, &capstan.actor()).await?)
}

/// Pauses (`paused: true`) or resumes a schedule.
#[tauri::command]
pub fn pause_schedule(
    capstan: tauri::State<'_, Arc<Capstan>>,
    name: String,
    paused: bool,
) -> UiResult<Schedule> {
    Ok(capstan.pause_schedule(&name, paused, &capstan.actor())?)
}

/// Removes a schedule; its jobs stay in the history.
#[tauri::command]
pub fn remove_schedule(capstan: tauri::State<'_, Arc<Capstan>>, name: String) -> UiResult<()> {
    Ok(capstan.remove_schedule(&name, &capstan.actor())?)
}

/// Every secret's name and dates (never a value).
#[tauri::command]
pub fn secrets(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Vec<SecretInfo>> {
    Ok(capstan.secrets()?)
}

/// Seals and stores a secret, replacing one of that name.
#[tauri::command]
pub fn set_secret(
    capstan: tauri::State<'_, Arc<Capstan>>,
    name: String,
    value: String,
) -> UiResult<()> {
    if value.is_empty() {
        return Err(UiError::field("value", "type the secret's value"));
    }
    Ok(capstan.set_secret(name.trim(), &value, &capstan.actor())?)
}

/// Removes a secret.
#[tauri::command]
pub fn remove_secret(capstan: tauri::State<'_, Arc<Capstan>>, name: String) -> UiResult<()> {
    Ok(capstan.remove_secret(&name, &capstan.actor())?)
}
