//! Writes JSON values as YAML, the way PyYAML writes them for Ansible's
//! `to_yaml` (block style, with lists and mappings of plain values in
//! flow style) and `to_nice_yaml` (block style throughout): keys sorted,
//! a mapping's list at the key's own depth.

use serde_json::Value as Json;

/// `value` as YAML text ending in a newline; `indent` spaces per level;
/// `flow_leaves` writes a collection of plain values on one line.
pub fn emit(value: &Json, indent: usize, flow_leaves: bool) -> String {
    let mut out = String::new();
    let flow = flow_leaves && all_plain(value);
    match value {
        Json::Object(map) if !map.is_empty() && !flow => {
            block_map(&mut out, map, 0, indent, flow_leaves)
        }
        Json::Array(items) if !items.is_empty() && !flow => {
            block_seq(&mut out, items, 0, indent, flow_leaves)
        }
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

/// Whether a collection holds only scalars (PyYAML writes it in flow).
fn all_plain(value: &Json) -> bool {
    match value {
        Json::Object(map) => map.values().all(|v| !v.is_object() && !v.is_array()),
        Json::Array(items) => items.iter().all(|v| !v.is_object() && !v.is_array()),
        _ => true,
    }
}

fn block_map(
    out: &mut String,
    map: &serde_json::Map<String, Json>,
    depth: usize,
    indent: usize,
    flow_leaves: bool,
) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        let value = &map[key];
        out.push_str(&" ".repeat(depth));
        out.push_str(&scalar(key));
        out.push(':');
        nested(out, value, depth, indent, flow_leaves, true);
    }
}

fn block_seq(out: &mut String, items: &[Json], depth: usize, indent: usize, flow_leaves: bool) {
    for item in items {
        out.push_str(&" ".repeat(depth));
        out.push('-');
        nested(out, item, depth, indent, flow_leaves, false);
    }
}

/// A value after `key:` or `-`.
fn nested(
    out: &mut String,
    value: &Json,
    depth: usize,
    indent: usize,
    flow_leaves: bool,
    in_map: bool,
) {
    let flow = flow_leaves && all_plain(value);
    match value {
        Json::Object(map) if !map.is_empty() && !flow => {
            if in_map {
                out.push('\n');
                block_map(out, map, depth + indent, indent, flow_leaves);
            } else {
                // `- key: value` with the rest of the mapping under it.
                let mut inner = String::new();
                block_map(&mut inner, map, depth + indent, indent, flow_leaves);
                out.push_str(&" ".repeat(indent - 1));
                out.push_str(inner.trim_start());
            }
        }
        Json::Array(items) if !items.is_empty() && !flow => {
            out.push('\n');
            // PyYAML writes a mapping's list at the key's own depth.
            let at = if in_map { depth } else { depth + indent };
            block_seq(out, items, at, indent, flow_leaves);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

/// A value on one line: scalars, and collections in flow style.
fn inline(value: &Json) -> String {
    match value {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}: {}", scalar(k), inline(&map[k])))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", parts.join(", "))
        }
        Json::String(text) => scalar(text),
        Json::Null => "null".into(),
        other => other.to_string(),
    }
}

/// A string as a YAML scalar: plain when it reads back as the same
/// string, else single-quoted (double-quoted with escapes when it holds
/// a newline or a control character).
fn scalar(text: &str) -> String {
    if text.chars().any(|c| c.is_control()) {
        return serde_json::to_string(text).unwrap_or_default();
    }
    let reads_as_other = matches!(
        capstan_yaml::plain_scalar(text),
        capstan_yaml::Yaml::Bool(_)
            | capstan_yaml::Yaml::Int(_)
            | capstan_yaml::Yaml::Float(_)
            | capstan_yaml::Yaml::Null
    );
    let special_start =
        text.starts_with(|c: char| c.is_whitespace() || "-?:,[]{}#&*!|>'\"%@`".contains(c));
    let special_inside = text.contains(": ")
        || text.contains(" #")
        || text.ends_with(' ')
        || text.ends_with(':')
        || text.contains(['{', '}', '[', ']', ',']);
    if text.is_empty() || reads_as_other || special_start || special_inside {
        format!("'{}'", text.replace('\'', "''"))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The expected texts are what ansible-core 2.19.4 wrote for the same
    // values.
    #[test]
    fn to_yaml_writes_as_pyyaml_does() {
        let value = json!({"name": "web", "ports": [80, 443], "env": {"A": "1"}, "on": true});
        assert_eq!(
            emit(&value, 2, true),
            "env: {A: '1'}\nname: web\n'on': true\nports: [80, 443]\n"
        );
        assert_eq!(emit(&json!([1, "a"]), 2, true), "[1, a]\n");
        assert_eq!(emit(&json!("yes"), 2, true), "'yes'\n");
        let users = json!({"users": [{"name": "ann", "groups": ["a", "b"]}], "port": 80});
        assert_eq!(
            emit(&users, 2, true),
            "port: 80\nusers:\n- groups: [a, b]\n  name: ann\n"
        );
    }

    #[test]
    fn to_nice_yaml_writes_blocks() {
        let users = json!({"users": [{"name": "ann", "groups": ["a", "b"]}], "port": 80});
        assert_eq!(
            emit(&users, 4, false),
            "port: 80\nusers:\n-   groups:\n    - a\n    - b\n    name: ann\n"
        );
    }
}
