//! Plugins: what one offers, what it asks for and holds, and a component
//! file described for the grant dialog.

use serde::{Deserialize, Serialize};
use serde_json::Value;

named_enum! {
    /// One narrow permission a plugin asks for and a user grants.
    pub enum Capability {
        /// Its own persistent key-value store.
        Kv = "kv",
        /// Run commands on the run's targets.
        RemoteExec = "remote.exec",
        /// Read, write and inspect files on the run's targets.
        RemoteFiles = "remote.files",
        /// See the Docker engines of the run's targets (containers,
        /// images, services, logs).
        DockerRead = "docker.read",
        /// Change the Docker engines of the run's targets.
        DockerWrite = "docker.write",
        /// Act on `local`, this computer, as the user running Capstan:
        /// needed besides `remote.*` or `docker.*` for any call on that
        /// target.
        Local = "local",
        /// Send HTTP requests, to the hosts granted one by one
        /// (`http:HOST`).
        Http = "http",
        /// Be told of events (jobs finishing, schedules firing, webhooks,
        /// Docker changes) and handle them while `capstan serve` runs.
        Events = "events",
    }
}

impl Capability {
    /// What granting it allows, in plain words for the grant prompt.
    pub fn plain_words(self) -> &'static str {
        match self {
            Capability::Kv => "keep its own data between runs (a private key-value store)",
            Capability::RemoteExec => {
                "run commands, as your login, on the hosts you run it against"
            }
            Capability::RemoteFiles => "read and write files on the hosts you run it against",
            Capability::DockerRead => {
                "see the containers, images, services and logs of the hosts' Docker engines"
            }
            Capability::DockerWrite => {
                "create, change and remove containers, images, networks, volumes and swarm \
                 services on the hosts' Docker engines (as powerful as root there)"
            }
            Capability::Local => {
                "do all of the above on this computer too, as you (Capstan's own data \
                 folder and compiled-code cache stay out of its file calls)"
            }
            Capability::Http => {
                "send HTTP requests to the hosts you allow it, one by one (http:HOST)"
            }
            Capability::Events => {
                "learn when jobs finish, schedules fire, webhooks arrive and containers \
                 change, and act on it within its other grants"
            }
        }
    }
}

named_from_str!(Capability, "capability");

/// A plugin's self-description, as every contract version is converted
/// into it and as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Manifest {
    /// Unique name, used on the command line.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// One line saying what it is for.
    pub summary: String,
    /// The actions it offers.
    pub actions: Vec<ActionInfo>,
    /// The capabilities it asks for, as the plugin wrote them.
    pub capabilities: Vec<String>,
    /// The events it handles (contract 0.2 and later).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<crate::events::EventKind>,
}

pub use crate::grants::{Grant, GrantSet, HttpHost};

/// Keys and bytes (of keys and values) in a plugin's `kv` store, or a
/// quota of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KvUsage {
    /// How many keys.
    pub keys: u64,
    /// Bytes of keys and values.
    pub bytes: u64,
}

/// A plugin's own limits where they differ from the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LimitOverrides {
    /// Memory a plugin instance may use, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Guest CPU time per call, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<u64>,
    /// Wall time per call, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<u64>,
    /// Log bytes per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_bytes: Option<u64>,
    /// Output bytes per call (results, command output, file reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
    /// Keys in its key-value store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_keys: Option<u64>,
    /// Bytes in its key-value store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_bytes: Option<u64>,
}

/// One action a plugin offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionInfo {
    /// Its name.
    pub name: String,
    /// One line saying what it does.
    pub summary: String,
    /// JSON Schema of its parameters.
    pub params_schema: Value,
}

/// A capability as the grant dialog and the plugin list show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapabilityView {
    /// Which one.
    pub name: Capability,
    /// What granting it allows, in plain words.
    pub words: String,
    /// Whether the plugin holds it now.
    pub granted: bool,
}

impl CapabilityView {
    /// `capability` with its words, held or not.
    pub fn new(capability: Capability, granted: bool) -> Self {
        CapabilityView {
            name: capability,
            words: capability.plain_words().to_string(),
            granted,
        }
    }
}

/// A plugin as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The HTTP hosts it may reach (`host` or `host:port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_hosts: Vec<String>,
    /// The events it handles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<crate::events::EventKind>,
}

/// An action's name and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionSummary {
    /// Its name.
    pub name: String,
    /// One line saying what it does.
    pub summary: String,
}

/// A component file read and described, for the grant dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Inspection {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// What it is for.
    pub summary: String,
    /// Its actions.
    pub actions: Vec<ActionSummary>,
    /// What it asks for, in plain words (none granted yet).
    pub capabilities: Vec<CapabilityView>,
    /// The file's SHA-256: installing checks the file still has it.
    pub sha256: String,
    /// What installing it would replace, in words (`installed already (x
    /// 1.0)`, `bundled with Capstan`), if anything: the dialog then asks.
    pub replaces: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capability_is_its_dotted_name_everywhere() {
        assert_eq!(
            serde_json::to_string(&Capability::RemoteExec).unwrap(),
            "\"remote.exec\""
        );
        assert_eq!(
            "docker.write".parse::<Capability>(),
            Ok(Capability::DockerWrite)
        );
        let err = "root".parse::<Capability>().unwrap_err();
        assert!(err.contains("unknown capability `root`"), "{err}");
        assert!(err.contains("remote.files"), "{err}");
    }
}
