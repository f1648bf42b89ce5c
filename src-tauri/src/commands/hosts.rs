//! The Hosts page: the inventory, its import from an Ansible inventory,
//! connection checks with the host-key trust step, and facts.

use std::path::Path;
use std::sync::Arc;

use capstan_engine::Capstan;
use capstan_engine::inventory::{Host, HostAuth, HostCheck};
use capstan_engine::jobs::{ResultStatus, RunRequest};
use capstan_engine::remote::HostKeyPolicy;
use serde::{Deserialize, Serialize};

use crate::error::{UiError, UiResult};

/// A host with what its last check found.
#[derive(Debug, Serialize)]
pub struct HostView {
    /// The host as stored.
    pub host: Host,
    /// Its latest connection check, if it was ever checked.
    pub check: Option<HostCheck>,
}

/// Every host with its latest check.
#[tauri::command]
pub fn hosts(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Vec<HostView>> {
    let mut checks = capstan.host_checks()?;
    Ok(capstan
        .hosts()?
        .into_iter()
        .map(|host| {
            let check = checks
                .iter()
                .position(|c| c.name == host.name)
                .map(|i| checks.swap_remove(i));
            HostView { host, check }
        })
        .collect())
}

/// The host form as typed: every field a string, so nothing typed is lost
/// and each mistake is named by its field.
#[derive(Debug, Deserialize)]
pub struct HostForm {
    /// Name.
    pub name: String,
    /// Address or DNS name.
    pub address: String,
    /// Port (digits).
    pub port: String,
    /// Login user; empty: the current user.
    pub user: String,
    /// `agent`, `key` or `password-env`.
    pub auth: String,
    /// The key file (for `key`) or the variable's name (for `password-env`).
    pub auth_value: String,
    /// `dev`, `preprod`, `prod` or empty.
    pub environment: String,
    /// Groups, separated by commas or spaces.
    pub groups: String,
}

impl HostForm {
    /// The host this form describes, or the first field that is wrong.
    fn to_host(&self, keep_vars: Option<&Host>) -> UiResult<Host> {
        let port = self.port.trim().parse::<u16>().map_err(|_| {
            UiError::field(
                "port",
                format!(
                    "port `{}` must be a number from 1 to 65535",
                    self.port.trim()
                ),
            )
        })?;
        let value = self.auth_value.trim();
        let auth = match self.auth.as_str() {
            "agent" => HostAuth::Agent,
            "key" => {
                if value.is_empty() {
                    return Err(UiError::field(
                        "auth_value",
                        "give the private key file's path",
                    ));
                }
                let path = std::path::absolute(value).unwrap_or_else(|_| value.into());
                if !path.is_file() {
                    return Err(UiError::field(
                        "auth_value",
                        format!("key file {} does not exist", path.display()),
                    ));
                }
                HostAuth::KeyFile(path.to_string_lossy().into_owned())
            }
            "password-env" => {
                let valid = !value.is_empty()
                    && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(UiError::field(
                        "auth_value",
                        "give the name of an environment variable holding the password \
                         (letters, digits, _); the password itself is never stored",
                    ));
                }
                HostAuth::PasswordEnv(value.to_string())
            }
            other => {
                return Err(UiError::field(
                    "auth",
                    format!("unknown login method `{other}`"),
                ));
            }
        };
        let user = match self.user.trim() {
            "" => capstan_engine::inventory::current_user(),
            user => user.to_string(),
        };
        let host = Host {
            name: self.name.trim().to_string(),
            address: self.address.trim().to_string(),
            port,
            user,
            auth,
            environment: Some(self.environment.trim().to_string()).filter(|e| !e.is_empty()),
            groups: self
                .groups
                .split([',', ' '])
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(String::from)
                .collect(),
            vars: keep_vars.map(|h| h.vars.clone()).unwrap_or_default(),
        };
        if let Some((field, message)) = host.invalid_field() {
            return Err(UiError::field(field, message));
        }
        Ok(host)
    }
}

/// Adds a host, or saves an edited one (`editing` is its name before the
/// edit; a rename is one atomic replace in the engine).
#[tauri::command]
pub fn save_host(
    capstan: tauri::State<'_, Arc<Capstan>>,
    form: HostForm,
    editing: Option<String>,
) -> UiResult<Host> {
    let hosts = capstan.hosts()?;
    let before = editing
        .as_deref()
        .and_then(|name| hosts.iter().find(|h| h.name == name));
    let host = form.to_host(before)?;
    if editing.as_deref() != Some(host.name.as_str()) && hosts.iter().any(|h| h.name == host.name) {
        return Err(UiError::field(
            "name",
            format!("a host called `{}` already exists", host.name),
        ));
    }
    match editing {
        Some(old) => capstan.update_host(&old, &host)?,
        None => capstan.add_host(&host)?,
    }
    Ok(host)
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

/// A host's facts, gathered by the `setup` plugin (a recorded job).
#[derive(Debug, Serialize)]
pub struct Facts {
    /// The job that gathered them.
    pub job_id: i64,
    /// The facts, when the host answered.
    pub facts: Option<serde_json::Value>,
    /// Why not, when it did not.
    pub error: Option<String>,
}

/// Gathers a host's facts.
#[tauri::command]
pub async fn host_facts(capstan: tauri::State<'_, Arc<Capstan>>, name: String) -> UiResult<Facts> {
    let request = RunRequest::new("setup", "gather", serde_json::json!({}), [name]);
    let report = capstan.run(request, Arc::new(|_| {})).await?;
    let result = report.results.into_iter().next();
    Ok(match result {
        Some(r) if matches!(r.status, ResultStatus::Ok | ResultStatus::Changed) => Facts {
            job_id: report.job_id,
            facts: r.data,
            error: None,
        },
        Some(r) => Facts {
            job_id: report.job_id,
            facts: None,
            error: Some(r.summary),
        },
        None => Facts {
            job_id: report.job_id,
            facts: None,
            error: Some("the host gave no result".into()),
        },
    })
}
