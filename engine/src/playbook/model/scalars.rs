//! Reading one keyword's value: a string, a list of strings, a boolean,
//! conditions, a `vars:` mapping; each error names the keyword and where.

use serde_json::Value as Json;

use crate::playbook::{NodeError, PlaybookError};
use capstan_yaml::{self as yaml, Key, Node, Pos, Yaml};

pub(super) fn entries<'a>(node: &'a Node, what: &str) -> Result<&'a [(Key, Node)], PlaybookError> {
    node.as_map()
        .ok_or_else(|| node.error(format!("{what} must be a mapping, not {}", node.kind())))
}

/// A role include's options: a mapping, or Ansible's free form
/// `name=ROLE tasks_from=FILE` (each word `key=value`, split as a task's
/// inline arguments are).
pub(super) fn options(node: &Node, what: &str) -> Result<Vec<(Key, Node)>, PlaybookError> {
    let Some(text) = node.as_str() else {
        return Ok(entries(node, what)?.to_vec());
    };
    let words = crate::playbook::modules::split_words(text)
        .map_err(|e| node.error(format!("{what}: {e}")))?;
    words
        .iter()
        .map(|(_, word)| {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| node.error(format!("{what}: expected key=value, got `{word}`")))?;
            Ok((
                Key {
                    name: key.to_string(),
                    pos: node.pos.clone(),
                },
                Node {
                    value: Yaml::Str(value.to_string()),
                    pos: node.pos.clone(),
                },
            ))
        })
        .collect()
}

/// Where a mapping starts: its first key (the mapping's own mark can
/// point at its first value).
pub(super) fn start_of(node: &Node, fields: &[(Key, Node)]) -> Pos {
    fields
        .first()
        .map(|(k, _)| k.pos.clone())
        .unwrap_or_else(|| node.pos.clone())
}

pub(super) fn list(node: &Node) -> Vec<&Node> {
    match &node.value {
        Yaml::Seq(items) => items.iter().collect(),
        Yaml::Null => Vec::new(),
        _ => vec![node],
    }
}

pub(super) fn string(node: &Node, what: &str) -> Result<String, PlaybookError> {
    match &node.value {
        Yaml::Str(s) => Ok(s.clone()),
        Yaml::Int(_) | Yaml::Float(_) | Yaml::Bool(_) => Ok(node.to_json().to_string()),
        _ => Err(node.error(format!("`{what}` must be a string, not {}", node.kind()))),
    }
}

pub(super) fn identifier(node: &Node, what: &str) -> Result<String, PlaybookError> {
    let name = string(node, what)?;
    if !is_identifier(&name) {
        return Err(node.error(format!(
            "`{what}: {name}` is not a valid variable name (letters, digits, _)"
        )));
    }
    Ok(name)
}

pub(super) fn strings(node: &Node, what: &str) -> Result<Vec<String>, PlaybookError> {
    match &node.value {
        Yaml::Str(s) if what == "tags" => Ok(s.split(',').map(|t| t.trim().to_string()).collect()),
        _ => list(node).into_iter().map(|n| string(n, what)).collect(),
    }
}

pub(super) fn boolean(node: &Node, what: &str) -> Result<bool, PlaybookError> {
    match &node.value {
        Yaml::Bool(b) => Ok(*b),
        Yaml::Str(s) => match yaml::plain_scalar(s) {
            Yaml::Bool(b) => Ok(b),
            _ => Err(node.error(format!("`{what}` must be yes/no or true/false, not `{s}`"))),
        },
        _ => Err(node.error(format!("`{what}` must be a boolean, not {}", node.kind()))),
    }
}

/// A yes/no keyword that may be a template, rendered when the task runs.
pub(super) fn switch(node: &Node, what: &str) -> Result<super::Switch, PlaybookError> {
    match &node.value {
        Yaml::Str(s) if s.contains("{{") => Ok(super::Switch::Template(s.clone())),
        _ => boolean(node, what).map(super::Switch::Fixed),
    }
}

pub(super) fn conditions(node: &Node) -> Result<Vec<String>, PlaybookError> {
    list(node)
        .into_iter()
        .map(|n| match &n.value {
            Yaml::Bool(b) => Ok(b.to_string()),
            Yaml::Str(s) => Ok(s.clone()),
            Yaml::Int(_) | Yaml::Float(_) => Ok(n.to_json().to_string()),
            _ => Err(n.error(format!(
                "a condition must be an expression, not {}",
                n.kind()
            ))),
        })
        .collect()
}

/// A `vars:` mapping.
pub fn vars(node: &Node) -> Result<Vec<(String, Json)>, PlaybookError> {
    if matches!(node.value, Yaml::Null) {
        return Ok(Vec::new());
    }
    entries(node, "vars")?
        .iter()
        .map(|(k, v)| Ok((k.name.clone(), v.to_json())))
        .collect()
}

/// `environment:`: a mapping of variable names to values, or a template
/// giving one (checked when the task runs).
pub fn environment(node: &Node) -> Result<Json, PlaybookError> {
    match &node.value {
        Yaml::Map(entries) => {
            for (key, _) in entries {
                if !is_identifier(&key.name) {
                    return Err(PlaybookError::at(
                        &key.pos,
                        format!(
                            "`{}` is not an environment variable name (letters, digits and _, \
                             not starting with a digit)",
                            key.name
                        ),
                    ));
                }
            }
            Ok(node.to_json())
        }
        Yaml::Str(text) if text.contains("{{") => Ok(node.to_json()),
        _ => Err(node.error("`environment:` takes a mapping of variable names to values")),
    }
}

/// Whether `name` is letters, digits and `_`, not starting with a digit:
/// what names an environment variable or a registered result.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `name` can be a variable `set_fact` makes: an identifier that
/// is no Python or Jinja keyword (Ansible refuses `true`, `class`, ...).
pub fn is_variable_name(name: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "true", "false", "none", "True", "False", "None", "and", "as", "assert", "async", "await",
        "break", "class", "continue", "def", "del", "elif", "else", "except", "finally", "for",
        "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass",
        "raise", "return", "try", "while", "with", "yield",
    ];
    is_identifier(name) && !KEYWORDS.contains(&name)
}

/// `throttle:`: at most so many hosts run the task at once (1 or more).
pub fn throttle(node: &Node) -> Result<u32, PlaybookError> {
    match &node.value {
        Yaml::Int(n) if (1..=100_000).contains(n) => Ok(*n as u32),
        _ => Err(node.error("`throttle:` takes a whole number of hosts, 1 or more")),
    }
}

#[cfg(test)]
mod tests {
    use super::is_variable_name;

    #[test]
    fn a_variable_name_is_an_identifier_and_no_keyword() {
        for good in ["x", "_private", "web_port2", "True_ish"] {
            assert!(is_variable_name(good), "{good}");
        }
        for bad in ["", "1x", "true", "None", "class", "a-b", "a b", "é"] {
            assert!(!is_variable_name(bad), "{bad}");
        }
    }
}
