//! Hosts: the inventory as stored, connection checks, and what the host
//! form sends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A host in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Host {
    /// The name used on the command line and in results.
    pub name: String,
    /// Address or DNS name to connect to.
    pub address: String,
    /// SSH port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// How to log in.
    pub auth: HostAuth,
    /// dev, preprod or prod, when set.
    pub environment: Option<String>,
    /// Groups it belongs to.
    pub groups: Vec<String>,
    /// Its variables (from an imported inventory), for playbooks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, Value>,
}

/// How to log in to a host, as stored (never a secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum HostAuth {
    /// A private key file.
    KeyFile(String),
    /// The running ssh-agent.
    Agent,
    /// A password read from this environment variable at connect time.
    PasswordEnv(String),
}

/// The result of logging in to a host and running `uname`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostCheck {
    /// The host.
    pub name: String,
    /// Whether Capstan logged in.
    pub reachable: bool,
    /// `uname -srm` when it did, else why not.
    pub message: String,
    /// The host key's `ALGORITHM SHA256:…` fingerprint when the host
    /// offered a key Capstan does not know yet: the user compares it with
    /// the host's own and trusts it, or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_key: Option<String>,
    /// How long the check took.
    pub elapsed_ms: u64,
    /// When it was made (ms since the epoch).
    pub checked_at_ms: i64,
}

/// A host with what its last check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostView {
    /// The host as stored.
    pub host: Host,
    /// Its latest connection check, if it was ever checked.
    pub check: Option<HostCheck>,
}

/// The host form as typed: every field a string, so nothing typed is lost
/// and each mistake is named by its field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostForm {
    /// The host's name in the inventory and on the command line.
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

/// A host's facts, gathered by the `setup` plugin (a recorded job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facts {
    /// The job that gathered them.
    pub job_id: i64,
    /// The facts, when the host answered.
    pub facts: Option<Value>,
    /// Why not, when it did not.
    pub error: Option<String>,
}
