//! The Webhooks page: hooks listed with their deliveries, added and
//! removed. Changes are audited as the OS user running the window.

use std::sync::Arc;

use capstan_engine::Capstan;
use capstan_wire::webhooks::{Hook, HookSpec};

use crate::error::UiResult;

/// Every webhook, with its deliveries counted.
#[tauri::command]
pub fn webhooks(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Vec<Hook>> {
    Ok(capstan.webhooks()?)
}

/// Adds a webhook once its secret and its job check out.
#[tauri::command]
pub async fn add_webhook(
    capstan: tauri::State<'_, Arc<Capstan>>,
    spec: HookSpec,
) -> UiResult<Hook> {
    Ok(capstan.add_webhook(spec, &capstan.actor()).await?)
}

/// Removes a webhook; the jobs it started stay in the history.
#[tauri::command]
pub fn remove_webhook(capstan: tauri::State<'_, Arc<Capstan>>, name: String) -> UiResult<()> {
    Ok(capstan.remove_webhook(&name, &capstan.actor())?)
}
