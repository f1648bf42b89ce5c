//! What a plugin says about itself.

use crate::bindings::exports::capstan::plugin::guest as wit;

/// A plugin's self-description, built with a few chained calls.
#[derive(Debug, Clone)]
pub struct Manifest {
    name: String,
    version: String,
    summary: String,
    actions: Vec<Action>,
    capabilities: Vec<String>,
}

impl Manifest {
    /// Starts a manifest; use `env!("CARGO_PKG_VERSION")` for the version.
    pub fn new(name: &str, version: &str, summary: &str) -> Self {
        Manifest {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            actions: Vec::new(),
            capabilities: Vec::new(),
        }
    }

    /// Asks for a capability: `kv`, `remote.exec` or `remote.files`.
    pub fn capability(mut self, name: &str) -> Self {
        self.capabilities.push(name.into());
        self
    }

    /// Adds an action the plugin offers.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    pub(crate) fn into_wit(self) -> wit::Manifest {
        wit::Manifest {
            name: self.name,
            version: self.version,
            summary: self.summary,
            actions: self
                .actions
                .into_iter()
                .map(|a| wit::ActionInfo {
                    name: a.name,
                    summary: a.summary,
                    params_schema: a.schema.to_string(),
                })
                .collect(),
            capabilities: self.capabilities,
        }
    }
}

/// One action of a plugin, with the JSON Schema of its parameters.
#[derive(Debug, Clone)]
pub struct Action {
    name: String,
    summary: String,
    schema: serde_json::Value,
}

impl Action {
    /// An action that takes no parameters (until [`Action::params_schema`]).
    pub fn new(name: &str, summary: &str) -> Self {
        Action {
            name: name.into(),
            summary: summary.into(),
            schema: serde_json::json!({ "type": "object", "properties": {} }),
        }
    }

    /// Sets the JSON Schema of the parameters (an object schema).
    pub fn params_schema(mut self, schema: serde_json::Value) -> Self {
        self.schema = schema;
        self
    }
}
