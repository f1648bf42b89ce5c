//! The Hosts page: the inventory, its import from an Ansible inventory,
//! connection checks with the host-key trust step, and facts.

use std::path::Path;
use std::sync::Arc;

use capstan_engine::Capstan;
use capstan_engine::remote::HostKeyPolicy;
use capstan_wire::hosts::{Facts, Host, HostCheck, HostForm, HostView};

use crate::error::{UiError, UiResult};

/// Every host with its latest check.
#[tauri::command]
pub fn hosts(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Vec<HostView>> {
    Ok(capstan.host_views()?)
}

/// Adds a host, or saves an edited one (`editing` is its name before the
/// edit; a rename is one atomic replace in the engine).
#[tauri::command]
pub fn save_host(
    capstan: tauri::State<'_, Arc<Capstan>>,
    form: HostForm,
    editing: Option<String>,
) -> UiResult<Host> {
    Ok(capstan.save_host_form(&form, editing.as_deref())?)
}

/// Removes a host.
#[tauri::command]
pub fn remove_host(capstan: tauri::State<'_, Arc<Capstan>>, name: String) -> UiResult<()> {
    Ok(capstan.remove_host(&name)?)
}

/// Imports an Ansible inventory file; returns how many hosts it held.
#[tauri::command]
pub fn import_inventory(capstan: tauri::State<'_, Arc<Capstan>>, path: String) -> UiResult<usize> {
    let path = path.trim();
    if path.is_empty() {
        return Err(UiError::field("path", "give the inventory file's path"));
    }
    capstan
        .import_inventory(Path::new(path))
        .map(|hosts| hosts.len())
        .map_err(|e| UiError::field("path", e.to_string()))
}

/// Logs in to a host. `fingerprint` records a host key seen for the first
/// time, only if it has that fingerprint: the one the page showed and the
/// user compared (a second connection showing another key is refused).
#[tauri::command]
pub async fn check_host(
    capstan: tauri::State<'_, Arc<Capstan>>,
    name: String,
    fingerprint: Option<String>,
) -> UiResult<HostCheck> {
    let policy = match fingerprint {
        Some(fingerprint) => HostKeyPolicy::TrustFingerprint(fingerprint),
        None => HostKeyPolicy::RequireKnown,
    };
    Ok(capstan.check_host(&name, policy).await?)
}

/// Gathers a host's facts (a recorded job).
#[tauri::command]
pub async fn host_facts(capstan: tauri::State<'_, Arc<Capstan>>, name: String) -> UiResult<Facts> {
    Ok(capstan.facts(&name).await?)
}
