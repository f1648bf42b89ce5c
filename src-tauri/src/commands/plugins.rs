//! The Plugins page: what is installed and what each holds; installing a
//! component through the grant dialog; granting, revoking, removing.

use std::path::Path;
use std::sync::Arc;

use capstan_engine::capability::{Grant, GrantSet};
use capstan_engine::{Capstan, Inspected};
use capstan_wire::plugins::{Inspection, PluginView};

use crate::error::{UiError, UiResult};

/// Every plugin: installed ones, then bundled ones not installed yet.
#[tauri::command]
pub async fn plugins(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Vec<PluginView>> {
    Ok(capstan.plugin_views().await?)
}

async fn inspect(capstan: &Capstan, path: &str) -> UiResult<Inspected> {
    let path = path.trim();
    if path.is_empty() {
        return Err(UiError::field("path", "give the plugin's .wasm file"));
    }
    capstan
        .inspect_file(Path::new(path))
        .await
        .map_err(|e| UiError::field("path", e.to_string()))
}

/// Reads a component file and says what it is and what it asks for.
#[tauri::command]
pub async fn inspect_plugin(
    capstan: tauri::State<'_, Arc<Capstan>>,
    path: String,
) -> UiResult<Inspection> {
    let inspected = inspect(&capstan, &path).await?;
    Ok(capstan.inspection(&inspected)?)
}

/// Installs the component at `path` with exactly `grants` (each among what
/// it asked for), provided the file is still the one the user inspected.
/// Replacing a plugin of the same name takes `replace` (the user confirmed
/// it); its stored data goes unless `keep_data`.
#[tauri::command]
pub async fn install_plugin(
    capstan: tauri::State<'_, Arc<Capstan>>,
    path: String,
    sha256: String,
    grants: Vec<String>,
    replace: bool,
    keep_data: bool,
) -> UiResult<PluginView> {
    let inspected = inspect(&capstan, &path).await?;
    if inspected.sha256 != sha256 {
        return Err(UiError::field(
            "path",
            "the file changed since you looked at it: read it again before installing",
        ));
    }
    let grants = parse_grants(&grants)?;
    let record = if replace {
        capstan.install_over(&inspected, grants, keep_data)?
    } else {
        capstan.install(&inspected, grants)?
    };
    Ok(Capstan::installed_view(record))
}

fn parse_grants(names: &[String]) -> UiResult<GrantSet> {
    let grants = names
        .iter()
        .map(|n| n.parse::<Grant>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(UiError::message)?;
    Ok(GrantSet::from_grants(grants))
}

/// Grants (`granted: true`) or revokes one capability; returns the plugin.
#[tauri::command]
pub async fn set_grant(
    capstan: tauri::State<'_, Arc<Capstan>>,
    plugin: String,
    capability: String,
    granted: bool,
) -> UiResult<PluginView> {
    let cap = capability.parse::<Grant>().map_err(UiError::message)?;
    if granted {
        capstan.grant(&plugin, cap).await?;
    } else {
        capstan.revoke(&plugin, cap).await?;
    }
    Ok(capstan.plugin_view(&plugin).await?)
}

/// Uninstalls a plugin and deletes its data.
#[tauri::command]
pub fn remove_plugin(capstan: tauri::State<'_, Arc<Capstan>>, name: String) -> UiResult<()> {
    Ok(capstan.remove(&name)?)
}
