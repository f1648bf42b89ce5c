//! Loads YAML into [`Node`]s that remember where they came from, so every
//! later error can name the file, line and column. Plain scalars are typed
//! as PyYAML (and so Ansible) types them: `yes`/`no`/`on`/`off` are
//! booleans, `~` and `null` are null; quoted scalars stay strings.

use std::fmt;
use std::sync::Arc;

use marked_yaml::{LoaderOptions, types::MarkedScalarNode};

use super::PlaybookError;

/// A place in a YAML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    /// The file, as the user named it.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// `~`, `null` or nothing.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key's text.
    pub name: String,
    /// Where it is.
    pub pos: Pos,
}

/// A YAML value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Yaml,
    /// Where it starts.
    pub pos: Pos,
}

impl Node {
    /// The value as JSON (mapping order kept).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Int(i) => Value::from(*i),
            Yaml::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Yaml::Str(s) => Value::String(s.clone()),
            Yaml::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Yaml::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The entries when this is a mapping.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Yaml::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The string when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Yaml::Null => "null",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) | Yaml::Float(_) => "a number",
            Yaml::Str(_) => "a string",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }

    /// An error about this node.
    pub fn error(&self, message: impl Into<String>) -> PlaybookError {
        PlaybookError::at(&self.pos, message)
    }
}

/// Which shape the document's top level must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopLevel {
    /// A list (playbooks, task files).
    Sequence,
    /// A mapping (vars files, YAML inventories).
    Mapping,
}

/// Parses `text` (read from `file`) into a node tree.
pub fn parse(file: &str, text: &str, top: TopLevel) -> Result<Node, PlaybookError> {
    let file: Arc<str> = Arc::from(file);
    if text.trim().is_empty() {
        return Err(PlaybookError {
            at: Some(Pos {
                file,
                line: 1,
                column: 1,
            }),
            message: "the file is empty".into(),
        });
    }
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let options = match top {
        TopLevel::Sequence => options.toplevel_sequence(),
        TopLevel::Mapping => options.toplevel_mapping(),
    };
    let node =
        marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| load_error(&file, e))?;
    Ok(convert(&file, &node))
}

fn load_error(file: &Arc<str>, error: marked_yaml::LoadError) -> PlaybookError {
    use marked_yaml::LoadError as E;
    let at = |m: &marked_yaml::Marker| Pos {
        file: file.clone(),
        line: m.line(),
        column: m.column(),
    };
    let (marker, message) = match &error {
        E::TopLevelMustBeMapping(m) => (at(m), "the top level must be a mapping".to_string()),
        E::TopLevelMustBeSequence(m) => (
            at(m),
            "the top level must be a list (of plays, or of tasks)".to_string(),
        ),
        E::UnexpectedAnchor(m) => (
            at(m),
            "YAML anchors and aliases (&name, *name) are not supported; repeat the value or use a variable".to_string(),
        ),
        E::MappingKeyMustBeScalar(m) => (at(m), "mapping keys must be plain strings".to_string()),
        E::UnexpectedTag(m) => (
            at(m),
            "YAML tags (such as !unsafe or !vault) are not supported".to_string(),
        ),
        E::DuplicateKey(inner) => {
            let pos = inner
                .key
                .span()
                .start()
                .map(at)
                .unwrap_or_else(|| at(&marked_yaml::Marker::new(0, 0, 1, 1)));
            let first = inner
                .prev_key
                .span()
                .start()
                .map(|m| format!(" (first at line {})", m.line()))
                .unwrap_or_default();
            (
                pos,
                format!("key `{}` appears twice{first}", inner.key.as_str()),
            )
        }
        E::ScanError(m, e) => (at(m), format!("malformed YAML: {e}")),
    };
    PlaybookError {
        at: Some(marker),
        message,
    }
}

fn pos_of(file: &Arc<str>, span: &marked_yaml::Span) -> Pos {
    match span.start() {
        Some(m) => Pos {
            file: file.clone(),
            line: m.line(),
            column: m.column(),
        },
        None => Pos {
            file: file.clone(),
            line: 0,
            column: 0,
        },
    }
}

fn convert(file: &Arc<str>, node: &marked_yaml::Node) -> Node {
    match node {
        marked_yaml::Node::Scalar(s) => Node {
            value: scalar(s),
            pos: pos_of(file, s.span()),
        },
        marked_yaml::Node::Sequence(items) => Node {
            value: Yaml::Seq(items.iter().map(|n| convert(file, n)).collect()),
            pos: pos_of(file, items.span()),
        },
        marked_yaml::Node::Mapping(map) => Node {
            value: Yaml::Map(
                map.iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.as_str().to_string(),
                                pos: pos_of(file, k.span()),
                            },
                            convert(file, v),
                        )
                    })
                    .collect(),
            ),
            pos: pos_of(file, map.span()),
        },
    }
}

fn scalar(s: &MarkedScalarNode) -> Yaml {
    let text = s.as_str();
    if !s.may_coerce() {
        return Yaml::Str(text.to_string());
    }
    plain_scalar(text)
}

/// Types a plain (unquoted) scalar the way YAML 1.1 does.
pub fn plain_scalar(text: &str) -> Yaml {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Yaml::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Yaml::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Yaml::Bool(false);
        }
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        // A leading zero is an octal file mode (0644): kept as its text,
        // which every module reads as octal, as Ansible reads YAML's octal.
        if digits.len() > 1 && digits.starts_with('0') {
            return Yaml::Str(text.to_string());
        }
        if let Ok(i) = text.replace('_', "").parse::<i64>() {
            return Yaml::Int(i);
        }
    }
    if let Some(hex) = digits.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Yaml::Int(if text.starts_with('-') { -i } else { i });
    }
    let looks_float = digits.contains('.')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|b| b.is_ascii_digit());
    if looks_float && let Ok(f) = text.parse::<f64>() {
        return Yaml::Float(f);
    }
    Yaml::Str(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_are_typed_like_pyyaml() {
        assert_eq!(plain_scalar("yes"), Yaml::Bool(true));
        assert_eq!(plain_scalar("Off"), Yaml::Bool(false));
        assert_eq!(plain_scalar("~"), Yaml::Null);
        assert_eq!(plain_scalar("42"), Yaml::Int(42));
        assert_eq!(plain_scalar("0644"), Yaml::Str("0644".into()));
        assert_eq!(plain_scalar("1.5"), Yaml::Float(1.5));
        assert_eq!(plain_scalar("1.2.3"), Yaml::Str("1.2.3".into()));
        assert_eq!(plain_scalar("0x1f"), Yaml::Int(31));
        assert_eq!(plain_scalar("web"), Yaml::Str("web".into()));
    }

    #[test]
    fn quoted_scalars_stay_strings_and_positions_are_kept() {
        let node = parse(
            "site.yml",
            "- hosts: all\n  vars:\n    a: 'yes'\n    b: yes\n",
            TopLevel::Sequence,
        )
        .unwrap();
        let Yaml::Seq(plays) = &node.value else {
            panic!()
        };
        let play = plays[0].as_map().unwrap();
        let vars = play[1].1.as_map().unwrap();
        assert_eq!(vars[0].1.value, Yaml::Str("yes".into()));
        assert_eq!(vars[1].1.value, Yaml::Bool(true));
        assert_eq!((vars[1].0.pos.line, vars[1].0.pos.column), (4, 5));
    }

    #[test]
    fn malformed_yaml_names_file_line_and_column() {
        let err = parse("bad.yml", "- hosts: all\n  tasks: [\n", TopLevel::Sequence).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("bad.yml:"), "{text}");
        assert!(text.contains("malformed YAML"), "{text}");
        let err = parse("dup.yml", "- a: 1\n  a: 2\n", TopLevel::Sequence).unwrap_err();
        assert!(
            err.to_string()
                .contains("dup.yml:2:3: key `a` appears twice"),
            "{err}"
        );
    }
}
