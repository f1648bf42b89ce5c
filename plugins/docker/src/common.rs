//! Helpers every docker action shares: diffs of specs, comparisons that
//! ignore what the engine fills in, durations, outcomes, and the schemas
//! of the loosely typed fields (written once here, named by each field).

use capstan_plugin_sdk::schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use capstan_plugin_sdk::{Context, Error, Outcome, diff};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Whether an object should exist (most modules' `state`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// It exists, as described (the default).
    #[default]
    Present,
    /// It does not exist.
    Absent,
}

/// Schema of a duration, as [`duration_ns`] reads it.
pub fn duration_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["string", "number"],
        "description": "A duration: 10s, 1m30s, 500ms, 2h, or a number of seconds."
    })
}

/// Schema of a mapping of scalars or a list of `KEY=value` texts, as
/// [`env_list`] and [`string_map`] read them.
pub fn string_map_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            {
                "type": "object",
                "additionalProperties": { "type": ["string", "number", "boolean", "null"] }
            },
            { "type": "array", "items": { "type": ["string", "number", "boolean"] } }
        ]
    })
}

/// Schema of a command, as [`argv`] reads it: one text split like a shell,
/// or a list of words.
pub fn command_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "string" },
            { "type": "array", "items": { "type": ["string", "number", "boolean"] } }
        ]
    })
}

/// An outcome for a change, with a diff of `before` → `after` when asked.
pub fn changed(
    ctx: &Context,
    what: &str,
    summary: String,
    before: &Value,
    after: &Value,
) -> Outcome {
    let summary = if ctx.check {
        format!("would {summary}")
    } else {
        summary
    };
    let mut outcome = Outcome::changed(summary);
    if ctx.diff {
        outcome.diff = Some(diff::unified(
            what,
            &pretty(&without_nulls(before)),
            &pretty(&without_nulls(after)),
        ));
    }
    outcome
}

/// The value with every `null` member left out (fields nobody set).
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// JSON laid out one key per line, for diffs.
pub fn pretty(value: &Value) -> String {
    if value.is_null() {
        return String::new();
    }
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// True when every key of `wanted` is in `current` with the same value
/// (objects compared key by key, recursively; arrays and scalars exactly;
/// a `null` in `wanted` is a field the task leaves alone).
/// What the engine adds on its own (defaults, ids) does not count.
pub fn contains(current: &Value, wanted: &Value) -> bool {
    match (current, wanted) {
        // A field the task does not set is not compared.
        (_, Value::Null) => true,
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(k, w)| contains(have.get(k).unwrap_or(&Value::Null), w)),
        (Value::Array(have), Value::Array(want)) => {
            have.len() == want.len() && have.iter().zip(want).all(|(h, w)| contains(h, w))
        }
        (Value::Null, Value::Object(want)) => want.values().all(is_empty),
        (Value::Null, Value::Array(want)) => want.is_empty(),
        (have, want) => have == want || is_empty(have) && is_empty(want),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

/// Only the parts of `current` that `wanted` names, for a diff that shows
/// what this task controls and nothing else.
pub fn project(current: &Value, wanted: &Value) -> Value {
    match (current, wanted) {
        (Value::Object(have), Value::Object(want)) => Value::Object(
            want.iter()
                .filter(|(_, w)| !w.is_null())
                .map(|(k, w)| (k.clone(), project(have.get(k).unwrap_or(&Value::Null), w)))
                .collect::<Map<_, _>>(),
        ),
        (have, _) => have.clone(),
    }
}

/// Parses a duration as Compose and Ansible write them (`10s`, `1m30s`,
/// `500ms`, `2h`, or a number of seconds) into nanoseconds.
pub fn duration_ns(value: &Value, field: &str) -> Result<i64, Error> {
    let bad = || {
        Error::InvalidParams(format!(
            "{field}: `{value}` is not a duration (write e.g. 10s, 1m30s, 500ms)"
        ))
    };
    if let Some(n) = value.as_f64() {
        return Ok((n * 1e9) as i64);
    }
    let text = value.as_str().ok_or_else(bad)?.trim();
    let mut total: f64 = 0.0;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Ok(total as i64)
}

/// A scalar (string, number, bool) as the text an environment holds.
pub fn scalar_text(value: &Value, field: &str) -> Result<String, Error> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        _ => Err(Error::InvalidParams(format!(
            "{field}: expected a string, number or boolean, got {value}"
        ))),
    }
}

/// `KEY=value` lines from a mapping or a list of `KEY=value` strings.
pub fn env_list(value: Option<&Value>, field: &str) -> Result<Vec<String>, Error> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => {
            let mut lines = Vec::new();
            for (key, v) in map {
                lines.push(format!("{key}={}", scalar_text(v, field)?));
            }
            Ok(lines)
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let text = scalar_text(item, field)?;
                if text.contains('=') {
                    Ok(text)
                } else {
                    Err(Error::InvalidParams(format!(
                        "{field}: `{text}` is not KEY=value"
                    )))
                }
            })
            .collect(),
        Some(other) => Err(Error::InvalidParams(format!(
            "{field}: expected a mapping or a list of KEY=value, got {other}"
        ))),
    }
}

/// A mapping of strings (labels, options) from a mapping or `k=v` list.
pub fn string_map(value: Option<&Value>, field: &str) -> Result<Map<String, Value>, Error> {
    let mut map = Map::new();
    for line in env_list(value, field)? {
        let (k, v) = line.split_once('=').unwrap_or((&line, ""));
        map.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(map)
}

/// A command as argv: a list as it is, a string split on whitespace
/// (with simple quotes honoured).
pub fn argv(value: Option<&Value>, field: &str) -> Result<Option<Vec<String>>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| scalar_text(v, field))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(Value::String(text)) => split_command(text, field).map(Some),
        Some(other) => Err(Error::InvalidParams(format!(
            "{field}: expected a string or a list, got {other}"
        ))),
    }
}

fn split_command(text: &str, field: &str) -> Result<Vec<String>, Error> {
    capstan_plugin_sdk::shell_words::words(text)
        .map_err(|e| Error::InvalidParams(format!("{field}: {e}")))
}

/// Checks a name the engine will use in a URL path or as an object name.
pub fn check_name(name: &str, what: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !name.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParams(format!(
            "{what} name `{}` must be letters, digits, '.', '_' or '-'",
            name.escape_debug()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_read_as_compose_writes_them() {
        assert_eq!(duration_ns(&json!("10s"), "d").unwrap(), 10_000_000_000);
        assert_eq!(duration_ns(&json!("1m30s"), "d").unwrap(), 90_000_000_000);
        assert_eq!(duration_ns(&json!("500ms"), "d").unwrap(), 500_000_000);
        assert_eq!(duration_ns(&json!(2), "d").unwrap(), 2_000_000_000);
        assert!(duration_ns(&json!("ten"), "d").is_err());
    }

    #[test]
    fn contains_ignores_what_the_engine_adds() {
        let current = json!({"Name": "web", "Labels": {"a": "1", "b": "2"}, "Mode": {"Replicated": {"Replicas": 3}}});
        assert!(contains(&current, &json!({"Labels": {"a": "1"}})));
        assert!(!contains(
            &current,
            &json!({"Mode": {"Replicated": {"Replicas": 2}}})
        ));
        assert!(contains(&current, &json!({"Env": []})));
    }

    #[test]
    fn commands_split_like_a_shell_would_for_simple_quotes() {
        assert_eq!(
            split_command("sh -c 'echo hi'", "c").unwrap(),
            ["sh", "-c", "echo hi"]
        );
        assert!(split_command("echo 'oops", "c").is_err());
    }
}
