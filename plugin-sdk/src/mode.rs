//! File modes as Ansible modules take them.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use crate::Error;

/// A file mode parameter: octal text (`"0644"`) or a number (YAML's
/// unquoted `0644`). Its schema allows both; [`Mode::bits`] reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Mode(serde_json::Value);

impl Mode {
    /// The permission bits, or an error naming a mode that is not octal.
    pub fn bits(&self) -> Result<u32, Error> {
        parse(&self.0)
    }
}

impl JsonSchema for Mode {
    fn schema_name() -> Cow<'static, str> {
        "Mode".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["string", "integer"],
            "description": "Octal permissions, e.g. \"0644\" (symbolic modes are not supported)."
        })
    }
}

/// Parses an octal mode given as `"0644"`, `"644"`, `"0o644"` or the number
/// `644` (YAML's unquoted `0644` arrives as 644: its digits are read as
/// octal, as Ansible does). Symbolic modes (`u=rw`) are refused.
pub fn parse(value: &serde_json::Value) -> Result<u32, Error> {
    let digits = match value {
        serde_json::Value::String(text) => text.trim_start_matches("0o").to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        other => {
            return Err(Error::InvalidParams(format!(
                "mode must be a string or a number, not {other}"
            )));
        }
    };
    u32::from_str_radix(&digits, 8)
        .ok()
        .filter(|bits| *bits <= 0o7777)
        .ok_or_else(|| {
            Error::InvalidParams(format!(
                "mode `{digits}` is not an octal mode up to 7777 (symbolic modes are not supported)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde_json::json;

    #[test]
    fn modes_read_as_octal_like_ansible() {
        assert_eq!(parse(&json!("0644")).unwrap(), 0o644);
        assert_eq!(parse(&json!("2755")).unwrap(), 0o2755);
        assert_eq!(parse(&json!("0o600")).unwrap(), 0o600);
        assert_eq!(parse(&json!(644)).unwrap(), 0o644);
        assert!(parse(&json!("u=rw")).is_err());
        assert!(parse(&json!("99999")).is_err());
        assert!(parse(&json!(true)).is_err());
    }
}
