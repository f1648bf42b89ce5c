//! What can go wrong loading, describing or setting up plugins. A call's
//! own failures are not errors here: they come back as a `CallFailure`.

/// Shorthand for the plugin host's results.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

/// Why a plugin could not be loaded, described or found, or the host set up.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The file is not a component Capstan can run.
    #[error("{path} is not a Capstan plugin: {reason}")]
    NotAPlugin {
        /// What was loaded (a file path or a plugin name).
        path: String,
        /// Why it was refused.
        reason: String,
    },

    /// A plugin broke a limit or crashed while describing itself.
    #[error("plugin `{plugin}` failed: {reason}")]
    Failed {
        /// The plugin's name (or file).
        plugin: String,
        /// What happened.
        reason: String,
    },

    /// A plugin was asked for an action it does not have.
    #[error("plugin `{plugin}` has no action `{action}` (it has: {known})")]
    UnknownAction {
        /// The plugin's name.
        plugin: String,
        /// The action asked for.
        action: String,
        /// The actions it has, comma-separated.
        known: String,
    },

    /// wasmtime could not be configured or failed in a way that is not the
    /// plugin's fault.
    #[error("wasm runtime: {0}")]
    Runtime(String),
}

impl From<wasmtime::Error> for PluginError {
    fn from(e: wasmtime::Error) -> Self {
        PluginError::Runtime(format!("{e:#}"))
    }
}
