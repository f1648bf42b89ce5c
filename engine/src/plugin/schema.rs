//! Checks action parameters against the subset of JSON Schema plugins use
//! (`type`, `properties`, `required`, `additionalProperties`, `items`,
//! `enum`), so a typo is refused before anything runs.

use serde_json::Value;

pub use crate::param_error::{ParamError, ParamProblem};

/// Checks `value` against `schema`; the error names the offending field.
pub fn validate_params(schema: &Value, value: &Value) -> Result<(), ParamError> {
    check(schema, value, "params")
}

fn check(schema: &Value, value: &Value, at: &str) -> Result<(), ParamError> {
    let refuse = |problem: ParamProblem| {
        Err(ParamError {
            at: at.to_string(),
            problem,
        })
    };
    let Some(schema) = schema.as_object() else {
        return Ok(());
    };
    if let Some(expected) = schema.get("type") {
        let types: Vec<&str> = match expected {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
            return refuse(ParamProblem::WrongType {
                expected: types.join(" or "),
                got: type_name(value),
            });
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        let shown: Vec<String> = allowed.iter().map(Value::to_string).collect();
        return refuse(ParamProblem::NotAllowed {
            value: value.to_string(),
            allowed: shown.join(", "),
        });
    }
    if let Value::Object(fields) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    return refuse(ParamProblem::Missing(name.to_string()));
                }
            }
        }
        for (name, field) in fields {
            match properties.and_then(|p| p.get(name)) {
                Some(sub) => check(sub, field, &format!("{at}.{name}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    let known: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    return refuse(ParamProblem::Unknown {
                        name: name.clone(),
                        known: known.join(", "),
                    });
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Converts values the way Ansible's argument specs do before checking
/// them: "yes"/"no" text to booleans, numeric text to integers, a
/// comma-separated string to a list, numbers and booleans to text where
/// text is wanted. Values that cannot convert are left for
/// [`validate_params`] to name.
pub fn coerce_params(schema: &Value, value: &mut Value) {
    let Some(schema) = schema.as_object() else {
        return;
    };
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
        let converted = types.iter().find_map(|t| convert(value, t));
        if let Some(converted) = converted {
            *value = converted;
        }
    }
    if schema.get("enum").is_some()
        && let Some(text) = scalar_text(value)
    {
        *value = Value::String(text);
    }
    match value {
        Value::Object(fields) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, field) in fields.iter_mut() {
                    if let Some(sub) = properties.get(name) {
                        coerce_params(sub, field);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    coerce_params(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn convert(value: &Value, to: &str) -> Option<Value> {
    match (to, value) {
        ("boolean", Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" | "y" => Some(Value::Bool(true)),
            "no" | "false" | "off" | "0" | "n" => Some(Value::Bool(false)),
            _ => None,
        },
        ("boolean", Value::Number(n)) => n.as_i64().map(|i| Value::Bool(i != 0)),
        ("integer", Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        ("number", Value::String(s)) => s.trim().parse::<f64>().ok().map(Value::from),
        ("string", Value::Number(_) | Value::Bool(_)) => scalar_text(value).map(Value::String),
        ("array", Value::String(s)) => Some(Value::Array(
            s.split(',')
                .map(|p| Value::String(p.trim().to_string()))
                .filter(|p| p != "")
                .collect(),
        )),
        ("array", Value::Number(_) | Value::Bool(_)) => Some(Value::Array(vec![value.clone()])),
        _ => None,
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => true,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "argv": { "type": "array", "items": { "type": "string" } },
                "state": { "enum": ["present", "absent"] }
            },
            "required": ["argv"],
            "additionalProperties": false
        })
    }

    #[test]
    fn accepts_what_fits() {
        validate_params(
            &schema(),
            &json!({ "argv": ["ls", "-l"], "state": "present" }),
        )
        .unwrap();
    }

    #[test]
    fn names_the_field_that_does_not_fit() {
        let err = |v: Value| validate_params(&schema(), &v).unwrap_err().to_string();
        assert_eq!(
            validate_params(&schema(), &json!({})).unwrap_err(),
            ParamError {
                at: "params".into(),
                problem: ParamProblem::Missing("argv".into())
            }
        );
        assert_eq!(err(json!({})), "params: `argv` is required");
        assert_eq!(
            err(json!({ "argv": ["ls", 3] })),
            "params.argv[1]: expected string, got a number"
        );
        assert!(
            err(json!({ "argv": [], "sate": "x" })).starts_with("params: unknown field `sate`")
        );
        assert!(err(json!({ "argv": [], "state": "gone" })).contains("is not one of"));
        assert_eq!(err(json!([1])), "params: expected object, got an array");
    }

    #[test]
    fn coerces_like_ansible_argument_specs() {
        let schema = json!({
            "type": "object",
            "properties": {
                "create": { "type": "boolean" },
                "names": { "type": "array", "items": { "type": "string" } },
                "uid": { "type": "integer" },
                "line": { "type": "string" },
                "state": { "enum": ["present", "absent"] }
            }
        });
        let mut v = json!({"create": "yes", "names": "git, curl", "uid": "1001", "line": 42, "state": "present"});
        coerce_params(&schema, &mut v);
        assert_eq!(
            v,
            json!({"create": true, "names": ["git", "curl"], "uid": 1001, "line": "42", "state": "present"})
        );
        let mut v = json!({"create": "maybe"});
        coerce_params(&schema, &mut v);
        assert!(
            validate_params(&schema, &v)
                .unwrap_err()
                .at
                .starts_with("params.create")
        );
    }

    /// JSON values of the shapes schemas and params take.
    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "(object|array|string|boolean|integer|number|null|yes|no|1,2|x)"
                .prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 120, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    "(type|properties|required|items|enum|additionalProperties|a|b)",
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever a plugin's schema and a user's params, checking and
        /// coercing answers without a panic, and an error names a field.
        #[test]
        fn any_schema_and_params_check_without_panic(
            schema in json_value(),
            mut params in json_value(),
        ) {
            coerce_params(&schema, &mut params);
            if let Err(e) = validate_params(&schema, &params) {
                proptest::prop_assert!(e.at.starts_with("params"), "{}", e);
            }
        }
    }
}
