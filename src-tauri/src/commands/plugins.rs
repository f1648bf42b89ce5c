//! The Plugins page: what is installed and what each holds; installing a
//! component through the grant dialog; granting, revoking, removing.

use std::path::Path;
use std::sync::Arc;

use capstan_engine::capability::{Capability, GrantSet};
use capstan_engine::plugin::ActionInfo;
use capstan_engine::store::PluginRecord;
use capstan_engine::{Capstan, Inspected};
use serde::Serialize;

use crate::error::{UiError, UiResult};

/// A capability as the grant dialog and the plugin list show it.
#[derive(Debug, Serialize)]
pub struct CapabilityView {
    /// `remote.exec`…
    pub name: &'static str,
    /// What granting it allows, in plain words.
    pub words: &'static str,
    /// Whether the plugin holds it now.
    pub granted: bool,
}

/// A plugin as the list shows it.
#[derive(Debug, Serialize)]
pub struct PluginView {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// What it is for.
    pub summary: String,
    /// Shipped inside Capstan.
    pub bundled: bool,
    /// Installed (a bundled plugin installs itself on first use).
    pub installed: bool,
    /// Its actions, with their parameters' schemas (the Run page's forms).
    pub actions: Vec<ActionInfo>,
    /// What it asked for, and whether it holds each.
    pub capabilities: Vec<CapabilityView>,
}

fn capability_views(asked: &[Capability], held: &GrantSet) -> Vec<CapabilityView> {
    asked
        .iter()
        .map(|c| CapabilityView {
            name: c.name(),
            words: c.plain_words(),
            granted: held.contains(*c),
        })
        .collect()
}

fn asked_for(record: &PluginRecord) -> Vec<Capability> {
    record
        .manifest
        .capabilities
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect()
}

fn plugin_view(record: PluginRecord) -> PluginView {
    let capabilities = capability_views(&asked_for(&record), &record.grants);
    PluginView {
        name: record.manifest.name,
        version: record.manifest.version,
        summary: record.manifest.summary,
        bundled: record.bundled,
        installed: true,
        actions: record.manifest.actions,
        capabilities,
    }
}

/// Every plugin: installed ones, then bundled ones not installed yet.
#[tauri::command]
pub async fn plugins(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Vec<PluginView>> {
    let mut views: Vec<PluginView> = capstan.plugins()?.into_iter().map(plugin_view).collect();
    for bundled in capstan.bundled_not_installed()? {
        let inspected = capstan
            .inspect(
                bundled.wasm.to_vec(),
                &format!("bundled plugin {}", bundled.name),
            )
            .await?;
        views.push(PluginView {
            name: inspected.manifest.name.clone(),
            version: inspected.manifest.version.clone(),
            summary: inspected.manifest.summary.clone(),
            bundled: true,
            installed: false,
            actions: inspected.manifest.actions.clone(),
            capabilities: capability_views(
                &inspected.requested,
                &GrantSet::new(inspected.requested.iter().copied()),
            ),
        });
    }
    capstan_engine::natural::sort_naturally(&mut views, |v| &v.name);
    Ok(views)
}

/// A component file read and described, for the grant dialog.
#[derive(Debug, Serialize)]
pub struct Inspection {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// What it is for.
    pub summary: String,
    /// Its actions' names and summaries.
    pub actions: Vec<(String, String)>,
    /// What it asks for, in plain words (none granted yet).
    pub capabilities: Vec<CapabilityView>,
    /// The file's SHA-256: installing checks the file still has it.
    pub sha256: String,
    /// What installing it would replace, in words (`installed already (x
    /// 1.0)`, `bundled with Capstan`), if anything: the dialog then asks.
    pub replaces: Option<String>,
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
    let replaces = capstan.replaces(&inspected.manifest.name)?;
    Ok(Inspection {
        name: inspected.manifest.name.clone(),
        version: inspected.manifest.version.clone(),
        summary: inspected.manifest.summary.clone(),
        actions: inspected
            .manifest
            .actions
            .iter()
            .map(|a| (a.name.clone(), a.summary.clone()))
            .collect(),
        capabilities: capability_views(&inspected.requested, &GrantSet::default()),
        sha256: inspected.sha256.clone(),
        replaces,
    })
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
    Ok(plugin_view(record))
}

fn parse_grants(names: &[String]) -> UiResult<GrantSet> {
    let caps = names
        .iter()
        .map(|n| n.parse::<Capability>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| UiError {
            message,
            field: None,
        })?;
    Ok(GrantSet::new(caps))
}

/// Grants (`granted: true`) or revokes one capability; returns the plugin.
#[tauri::command]
pub async fn set_grant(
    capstan: tauri::State<'_, Arc<Capstan>>,
    plugin: String,
    capability: String,
    granted: bool,
) -> UiResult<PluginView> {
    let cap = capability
        .parse::<Capability>()
        .map_err(|message| UiError {
            message,
            field: None,
        })?;
    if granted {
        capstan.grant(&plugin, cap).await?;
    } else {
        capstan.revoke(&plugin, cap).await?;
    }
    Ok(plugin_view(capstan.plugin(&plugin).await?))
}

/// Uninstalls a plugin and deletes its data.
#[tauri::command]
pub fn remove_plugin(capstan: tauri::State<'_, Arc<Capstan>>, name: String) -> UiResult<()> {
    Ok(capstan.remove(&name)?)
}
