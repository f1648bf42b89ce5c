//! The engine's error type: each variant names what failed and on what.

use std::path::PathBuf;

/// Shorthand for results of engine calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the engine, with enough context to act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user asked for something that cannot be: a bad name, a bad
    /// parameter, an unknown target. The message says which.
    #[error("{0}")]
    BadInput(String),

    /// What the caller named does not exist (a job number).
    #[error("{0}")]
    NotFound(String),

    /// One field of a form (or request) is wrong: a face marks `field` and
    /// shows the message beside it.
    #[error("{message}")]
    BadField {
        /// The field (`name`, `port`, `auth_value`…).
        field: &'static str,
        /// What is wrong with it and what to do.
        message: String,
    },

    /// An action's parameters do not fit its schema.
    #[error("{plugin} {action}: {error}")]
    BadParams {
        /// The plugin whose action was called.
        plugin: String,
        /// The action the parameters were for.
        action: String,
        /// Which parameter and what is wrong with it.
        #[source]
        error: Box<capstan_plugin_host::param_error::ParamError>,
    },

    /// No installed plugin has this name.
    #[error("no plugin named `{0}` is installed (see `capstan plugin list`)")]
    UnknownPlugin(String),

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
    PluginFailed {
        /// The plugin's name (or file).
        plugin: String,
        /// What happened.
        reason: String,
    },

    /// The store failed (SQLite, a schema upgrade, a newer store, a
    /// backup beside it); the message names the database file.
    #[error(transparent)]
    Store(#[from] capstan_store::StoreError),

    /// A file of Capstan's own could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What Capstan was doing ("read", "write", "create folder").
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A Docker engine could not be reached or refused a call.
    #[error(transparent)]
    Docker(#[from] capstan_docker::DockerError),

    /// wasmtime could not be configured or failed in a way that is not the
    /// plugin's fault.
    #[error("wasm runtime: {0}")]
    Runtime(String),
}

impl Error {
    /// An I/O error with what was being done and where.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }

    /// True when the error is the caller's input, not the system's fault.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::BadInput(_)
                | Error::NotFound(_)
                | Error::BadField { .. }
                | Error::BadParams { .. }
                | Error::UnknownPlugin(_)
                | Error::NotAPlugin { .. }
                | Error::Store(capstan_store::StoreError::Newer { .. })
                | Error::Docker(
                    capstan_docker::DockerError::NotFound(_)
                        | capstan_docker::DockerError::Conflict(_)
                        | capstan_docker::DockerError::Invalid(_)
                )
        )
    }

    /// An error about one field.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Error::BadField {
            field,
            message: message.into(),
        }
    }

    /// The error as every face shows it: the message, and the field it is
    /// about when it is about one.
    pub fn to_api(&self) -> capstan_wire::ApiError {
        match self {
            Error::BadField { field, message } => capstan_wire::ApiError::field(field, message),
            // The field is the parameter's path (`params.mode`).
            Error::BadParams { error, .. } => {
                capstan_wire::ApiError::field(&error.at, self.to_string())
            }
            Error::NotFound(_)
            | Error::UnknownPlugin(_)
            | Error::Docker(capstan_docker::DockerError::NotFound(_)) => {
                capstan_wire::ApiError::new(self.to_string())
                    .with_code(capstan_wire::ErrorCode::NotFound)
            }
            Error::Docker(
                capstan_docker::DockerError::Unreachable(_)
                | capstan_docker::DockerError::PermissionDenied(_),
            ) => capstan_wire::ApiError::new(self.to_string())
                .with_code(capstan_wire::ErrorCode::Unreachable),
            other if other.is_bad_input() => capstan_wire::ApiError::new(other.to_string()),
            other => capstan_wire::ApiError::new(other.to_string())
                .with_code(capstan_wire::ErrorCode::Failed),
        }
    }
}

impl From<capstan_plugin_host::PluginError> for Error {
    /// The plugin host's errors, as the engine has always named them.
    fn from(e: capstan_plugin_host::PluginError) -> Self {
        use capstan_plugin_host::PluginError;
        match e {
            PluginError::NotAPlugin { path, reason } => Error::NotAPlugin { path, reason },
            PluginError::Failed { plugin, reason } => Error::PluginFailed { plugin, reason },
            unknown @ PluginError::UnknownAction { .. } => Error::BadInput(unknown.to_string()),
            PluginError::Runtime(message) => Error::Runtime(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_plugin_host::param_error::{ParamError, ParamProblem};

    #[test]
    fn a_parameter_error_reaches_a_face_with_its_field() {
        let error = Error::BadParams {
            plugin: "command".into(),
            action: "exec".into(),
            error: Box::new(ParamError {
                at: "params.cmd".into(),
                problem: ParamProblem::Missing("cmd".into()),
            }),
        };
        assert!(error.is_bad_input());
        let api = error.to_api();
        assert_eq!(api.field.as_deref(), Some("params.cmd"));
        assert_eq!(api.message, "command exec: params.cmd: `cmd` is required");
    }

    /// The plugin host's errors keep the engine's variants and messages,
    /// and a missing action stays the caller's mistake.
    #[test]
    fn a_plugin_host_error_becomes_the_engine_variant_it_always_was() {
        use capstan_plugin_host::PluginError;
        let not_a_plugin = Error::from(PluginError::NotAPlugin {
            path: "x.wasm".into(),
            reason: "no magic bytes".into(),
        });
        assert!(matches!(not_a_plugin, Error::NotAPlugin { .. }));
        assert!(not_a_plugin.is_bad_input());
        assert_eq!(
            not_a_plugin.to_string(),
            "x.wasm is not a Capstan plugin: no magic bytes"
        );

        let failed = Error::from(PluginError::Failed {
            plugin: "probe".into(),
            reason: "out of fuel".into(),
        });
        assert!(matches!(failed, Error::PluginFailed { .. }));
        assert!(!failed.is_bad_input());
        assert_eq!(failed.to_string(), "plugin `probe` failed: out of fuel");

        let unknown = Error::from(PluginError::UnknownAction {
            plugin: "debug".into(),
            action: "shout".into(),
            known: "msg".into(),
        });
        assert!(unknown.is_bad_input());
        assert_eq!(
            unknown.to_string(),
            "plugin `debug` has no action `shout` (it has: msg)"
        );

        let runtime = Error::from(PluginError::Runtime("no memory".into()));
        assert!(matches!(runtime, Error::Runtime(_)));
        assert_eq!(runtime.to_string(), "wasm runtime: no memory");
    }

    /// A store written by a newer Capstan is the user's to fix (use that
    /// Capstan, or restore a backup), as faces show bad input.
    #[test]
    fn a_newer_store_is_bad_input() {
        let error = Error::from(capstan_store::StoreError::Newer {
            path: "capstan.db".into(),
            found: 99,
            known: 10,
        });
        assert!(error.is_bad_input());
        assert!(error.to_string().contains("newer than this Capstan knows"));
    }
}
