//! What a plugin says about itself, in the engine's own types (every
//! contract version is converted into these).

pub use capstan_wire::plugins::{ActionInfo, Manifest};

pub use crate::text::printable;

/// Why a plugin's description of itself is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// An action's params schema is not JSON.
    #[error("its params schema is not JSON ({0}), so its parameters could not be checked")]
    SchemaNotJson(String),
    /// An action's params schema is JSON but not an object (the start of
    /// it, made printable).
    #[error("its params schema must be a JSON object, not `{0}`")]
    SchemaNotObject(String),
    /// An action's params schema relies on something Capstan cannot
    /// check (a keyword, a reference outside the schema), which would
    /// leave fields unchecked.
    #[error("its params schema cannot be enforced: {0}")]
    SchemaUnchecked(String),
    /// The plugin's name breaks the naming rule.
    #[error(
        "plugin name `{0}` must be 1-64 characters of a-z, 0-9, - or _, starting with a letter"
    )]
    BadName(String),
    /// The plugin's name is one the engine keeps for itself.
    #[error(
        "plugin name `{name}` is reserved: Capstan uses it for {used_for}; give the plugin another name"
    )]
    ReservedName {
        /// The name the plugin asked for.
        name: String,
        /// What the engine uses it for.
        used_for: &'static str,
    },
    /// Two actions share a name, or one has none.
    #[error("action name `{0}` is empty or repeated")]
    BadActionName(String),
}

/// Reads an action's params schema as a plugin sent it: JSON, an object
/// (a schema of any other shape would check nothing), and only what the
/// host's checker enforces.
pub fn read_schema(text: &str) -> Result<serde_json::Value, ManifestError> {
    let schema: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ManifestError::SchemaNotJson(e.to_string()))?;
    if !schema.is_object() {
        let start: String = schema.to_string().chars().take(40).collect();
        return Err(ManifestError::SchemaNotObject(printable(&start, false)));
    }
    super::schema::check_vocabulary(&schema)
        .map_err(|e| ManifestError::SchemaUnchecked(printable(&e, false)))?;
    Ok(schema)
}

/// The engine's rules for a [`Manifest`] (the type itself is a wire type).
pub trait ManifestRules {
    /// The action called `name`, or an error listing the ones there are.
    fn action(&self, name: &str) -> crate::Result<&ActionInfo>;

    /// Checks the manifest is usable: a sane name that is not reserved,
    /// unique actions.
    fn validate(&self) -> Result<(), ManifestError>;
}

impl ManifestRules for Manifest {
    fn action(&self, name: &str) -> crate::Result<&ActionInfo> {
        self.actions.iter().find(|a| a.name == name).ok_or_else(|| {
            let known: Vec<_> = self.actions.iter().map(|a| a.name.as_str()).collect();
            crate::PluginError::UnknownAction {
                plugin: self.name.clone(),
                action: name.to_string(),
                known: known.join(", "),
            }
        })
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && self.name.starts_with(|c: char| c.is_ascii_lowercase());
        if !name_ok {
            return Err(ManifestError::BadName(self.name.escape_debug().to_string()));
        }
        if let Some(used_for) = reserved_use(&self.name) {
            return Err(ManifestError::ReservedName {
                name: self.name.clone(),
                used_for,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for action in &self.actions {
            if action.name.is_empty() || !seen.insert(action.name.as_str()) {
                return Err(ManifestError::BadActionName(
                    action.name.escape_debug().to_string(),
                ));
            }
        }
        Ok(())
    }
}

/// Plugin names the engine keeps for itself, with what it uses each for.
pub const RESERVED_NAMES: &[(&str, &str)] = &[
    ("playbook", "playbook runs in the job history"),
    (
        "capstan",
        "`capstan.PLUGIN.ACTION` module names in playbooks",
    ),
    ("ansible", "`ansible.builtin.*` module names in playbooks"),
];

/// What the engine uses `name` for, when it is a reserved plugin name.
pub fn reserved_use(name: &str) -> Option<&'static str> {
    RESERVED_NAMES
        .iter()
        .find(|(reserved, _)| *reserved == name)
        .map(|(_, use_)| *use_)
}

#[cfg(test)]
mod tests {
    use super::{ActionInfo, Manifest, ManifestRules, printable, read_schema};

    fn named(name: &str) -> Manifest {
        Manifest {
            name: name.into(),
            version: "1.0.0".into(),
            summary: "test".into(),
            actions: vec![ActionInfo {
                name: "go".into(),
                summary: "goes".into(),
                params_schema: serde_json::json!({"type": "object"}),
            }],
            capabilities: Vec::new(),
            subscriptions: Vec::new(),
        }
    }

    #[test]
    fn the_engines_own_names_are_refused() {
        for name in ["playbook", "capstan", "ansible"] {
            let err = named(name).validate().unwrap_err();
            assert!(
                matches!(&err, super::ManifestError::ReservedName { name: n, .. } if n == name)
            );
            assert!(
                err.to_string().contains(&format!("`{name}` is reserved")),
                "{err}"
            );
        }
        assert!(named("playbooks").validate().is_ok());
        assert!(
            named("Playbook").validate().is_err(),
            "upper case is refused anyway"
        );
    }

    #[test]
    fn a_schema_is_json_and_an_object() {
        assert!(read_schema(r#"{"type": "object"}"#).is_ok());
        let err = read_schema("{oops").unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
        let err = read_schema("[1, 2]").unwrap_err();
        assert_eq!(err, super::ManifestError::SchemaNotObject("[1,2]".into()));
        assert!(
            err.to_string()
                .contains("must be a JSON object, not `[1,2]`"),
            "{err}"
        );
        assert!(read_schema("true").is_err());
        let err =
            read_schema(r#"{"type": "object", "properties": {"a": {"not": {}}}}"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("its params schema cannot be enforced: schema.properties.a.not"),
            "{err}"
        );
    }

    #[test]
    fn escape_sequences_and_overrides_are_dropped() {
        assert_eq!(
            printable("Safe \u{1b}[2K\u{1b}[1Agrants: none\u{7}", false),
            "Safe [2K[1Agrants: none"
        );
        assert_eq!(printable("a\u{202e}txt.exe", false), "atxt.exe");
        assert_eq!(printable("one\ntwo\tthree", false), "one two three");
        assert_eq!(printable("one\ntwo\r", true), "one\ntwo");
        assert_eq!(printable("déjà vu ✓", false), "déjà vu ✓");
    }
}
