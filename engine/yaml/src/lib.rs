//! The YAML reader shared by playbooks, vars files and inventories.
//!
//! It loads YAML into [`Node`]s that remember where they came from, so every
//! later error can name the file, line and column. Plain scalars are typed
//! as PyYAML (and so Ansible) types them: `yes`/`no`/`on`/`off` are
//! booleans, `~` and `null` are null; quoted scalars stay strings.
//!
//! Anchors, aliases and merge keys (`<<`) are expanded, within a bound that
//! refuses alias bombs. `!unsafe` marks a string that must never be
//! rendered as a template. Files are read through [`read_file`], which
//! refuses what is not a regular file, what is too big, and what is not
//! UTF-8. Nesting deeper than [`MAX_DEPTH`] is refused, so no input can
//! exhaust the stack.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The largest YAML file Capstan reads.
pub const MAX_FILE_BYTES: u64 = 32 << 20;
/// The deepest nesting of lists and mappings a file may have (the
/// scanner's own bound on `[`/`{` nesting is the same).
pub const MAX_DEPTH: usize = 255;
/// How many values aliases (`*name`) may add to a file, in total.
pub const MAX_ALIAS_VALUES: usize = 100_000;

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
    /// The value, its scalars typed and its aliases expanded.
    pub value: Yaml,
    /// Where it starts.
    pub pos: Pos,
}

/// A file that cannot be read as YAML, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where (line and column are 0 when the whole file is at fault).
    pub at: Pos,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.line == 0 {
            write!(f, "{}: {}", self.at.file, self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

impl std::error::Error for YamlError {}

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

    /// How many values this node holds, itself included.
    fn size(&self) -> usize {
        1 + match &self.value {
            Yaml::Seq(items) => items.iter().map(Node::size).sum(),
            Yaml::Map(entries) => entries.iter().map(|(_, v)| v.size()).sum(),
            _ => 0,
        }
    }
}

/// Which shape the document's top level must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopLevel {
    /// A list (playbooks, task files).
    Sequence,
    /// A mapping (vars files, YAML inventories).
    Mapping,
    /// Anything (a `from_yaml` filter's text).
    Any,
}

/// Reads a file Capstan will parse (YAML, or an INI inventory) as text:
/// only a regular file, at most [`MAX_FILE_BYTES`], in UTF-8. `what` names
/// the file's role in the error ("playbook", "vars file").
pub fn read_file(path: &Path, what: &str) -> Result<String, String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {what} {shown}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {what} {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("cannot read {what} {shown}: not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what} {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{what} {shown} is larger than {} MiB; Capstan does not read files that big",
            MAX_FILE_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        format!("{what} {shown}:{line}: not UTF-8 text (byte {at} is not valid UTF-8)")
    })
}

/// Parses `text` (read from `file`) into a node tree.
pub fn parse(file: &str, text: &str, top: TopLevel) -> Result<Node, YamlError> {
    let file: Arc<str> = Arc::from(file);
    let mut loader = Loader {
        file: file.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_values: 0,
        root: None,
    };
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlError {
            at: loader.pos(e.marker()),
            message: if e.info() == "recursion limit exceeded" {
                too_deep()
            } else {
                format!("malformed YAML: {}", e.info())
            },
        })?;
        if matches!(event, Event::StreamEnd) {
            break;
        }
        loader.on_event(event, mark)?;
    }
    // An empty file (or one of comments only, or a lone `~`) holds
    // nothing: no tasks, no variables, as Ansible reads it.
    let empty = match top {
        TopLevel::Sequence => Yaml::Seq(Vec::new()),
        TopLevel::Mapping => Yaml::Map(Vec::new()),
        TopLevel::Any => Yaml::Null,
    };
    let root = match loader.root {
        Some(root) if !matches!(root.value, Yaml::Null) => root,
        Some(root) => Node {
            value: empty,
            pos: root.pos,
        },
        None => Node {
            value: empty,
            pos: Pos {
                file: file.clone(),
                line: 1,
                column: 1,
            },
        },
    };
    match (top, &root.value) {
        (TopLevel::Sequence, Yaml::Seq(_))
        | (TopLevel::Mapping, Yaml::Map(_))
        | (TopLevel::Any, _) => Ok(root),
        (TopLevel::Sequence, _) => Err(YamlError {
            at: root.pos,
            message: "the top level must be a list (of plays, or of tasks)".into(),
        }),
        (TopLevel::Mapping, _) => Err(YamlError {
            at: root.pos,
            message: "the top level must be a mapping".into(),
        }),
    }
}

/// A list or mapping still open while its events arrive.
struct Open {
    node: Node,
    anchor: usize,
    /// A mapping's key waiting for its value.
    key: Option<Key>,
    /// Whether that key is a merge key (a plain `<<`).
    key_merges: bool,
    /// A mapping's merge keys (`<<`), applied when it closes.
    merges: Vec<Node>,
    /// A mapping's keys so far, to refuse a repeated one quickly.
    seen: HashSet<String>,
}

/// Builds nodes from parser events without recursion.
struct Loader {
    file: Arc<str>,
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    alias_values: usize,
    root: Option<Node>,
}

impl Loader {
    fn pos(&self, mark: &Marker) -> Pos {
        Pos {
            file: self.file.clone(),
            line: mark.line(),
            column: mark.col() + 1,
        }
    }

    fn error(&self, mark: &Marker, message: impl Into<String>) -> YamlError {
        YamlError {
            at: self.pos(mark),
            message: message.into(),
        }
    }

    fn on_event(&mut self, event: Event, mark: Marker) -> Result<(), YamlError> {
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
            Event::DocumentStart => {
                if self.root.is_some() {
                    return Err(self.error(
                        &mark,
                        "a second YAML document (after `---`); a file holds one",
                    ));
                }
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                let merge_key = style == TScalarStyle::Plain && tag.is_none() && text == "<<";
                let value = self.scalar(text, style, tag.as_ref(), &mark)?;
                let node = Node {
                    value,
                    pos: self.pos(&mark),
                };
                self.remember(anchor, &node);
                if merge_key
                    && let Some(open) = self.stack.last_mut()
                    && matches!(open.node.value, Yaml::Map(_))
                    && open.key.is_none()
                {
                    open.key_merges = true;
                }
                self.add(node, &mark)
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(Yaml::Seq(Vec::new()), anchor, tag.as_ref(), &mark)
            }
            Event::MappingStart(anchor, tag) => {
                self.open(Yaml::Map(Vec::new()), anchor, tag.as_ref(), &mark)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let open = self.stack.pop().expect("the parser balances its events");
                let anchor = open.anchor;
                let node = self.close(open)?;
                self.remember(anchor, &node);
                self.add(node, &mark)
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id) else {
                    return Err(self.error(&mark, "an alias (*name) to an unknown anchor"));
                };
                self.alias_values += node.size();
                if self.alias_values > MAX_ALIAS_VALUES {
                    return Err(self.error(
                        &mark,
                        format!(
                            "aliases (*name) expand to more than {MAX_ALIAS_VALUES} values; \
                             an alias bomb, or data too big for a playbook"
                        ),
                    ));
                }
                let mut node = node.clone();
                node.pos = self.pos(&mark);
                self.add(node, &mark)
            }
        }
    }

    /// Starts a list or mapping.
    fn open(
        &mut self,
        value: Yaml,
        anchor: usize,
        tag: Option<&Tag>,
        mark: &Marker,
    ) -> Result<(), YamlError> {
        if let Some(tag) = tag {
            let shown = shown_tag(tag);
            let fits = matches!(
                (&value, shown.as_str()),
                (Yaml::Seq(_), "!!seq") | (Yaml::Map(_), "!!map")
            );
            if !fits {
                return Err(self.error(
                    mark,
                    format!("the YAML tag `{shown}` is not supported on a list or mapping"),
                ));
            }
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(mark, too_deep()));
        }
        self.stack.push(Open {
            node: Node {
                value,
                pos: self.pos(mark),
            },
            anchor,
            key: None,
            key_merges: false,
            merges: Vec::new(),
            seen: HashSet::new(),
        });
        Ok(())
    }

    /// Keeps a node an anchor (`&name`) names, for later aliases.
    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    /// Places a finished node: in the open list, as the open mapping's key
    /// or value, or as the document.
    fn add(&mut self, node: Node, mark: &Marker) -> Result<(), YamlError> {
        let Some(open) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match &mut open.node.value {
            Yaml::Seq(items) => items.push(node),
            Yaml::Map(entries) => match open.key.take() {
                None => {
                    let name = match node.value {
                        Yaml::Str(s) => s,
                        Yaml::Int(i) => i.to_string(),
                        Yaml::Float(f) => f.to_string(),
                        Yaml::Bool(b) => b.to_string(),
                        Yaml::Null => String::new(),
                        Yaml::Seq(_) | Yaml::Map(_) => {
                            return Err(self.error(mark, "mapping keys must be plain strings"));
                        }
                    };
                    open.key = Some(Key {
                        name,
                        pos: node.pos,
                    });
                }
                Some(_) if open.key_merges => {
                    open.key_merges = false;
                    open.merges.push(node);
                }
                Some(key) => {
                    if !open.seen.insert(key.name.clone()) {
                        let first = entries
                            .iter()
                            .find(|(k, _)| k.name == key.name)
                            .map(|(k, _)| k.pos.line)
                            .unwrap_or_default();
                        let message =
                            format!("key `{}` appears twice (first at line {first})", key.name);
                        return Err(YamlError {
                            at: key.pos,
                            message,
                        });
                    }
                    entries.push((key, node));
                }
            },
            _ => unreachable!("only lists and mappings are opened"),
        }
        Ok(())
    }

    /// Finishes a list or mapping: a mapping takes the entries its merge
    /// keys bring that it does not set itself.
    fn close(&mut self, open: Open) -> Result<Node, YamlError> {
        let mut node = open.node;
        let mut seen = open.seen;
        let Yaml::Map(entries) = &mut node.value else {
            return Ok(node);
        };
        for merge in open.merges {
            let sources = match merge.value {
                Yaml::Map(_) => vec![merge],
                Yaml::Seq(items) if items.iter().all(|n| matches!(n.value, Yaml::Map(_))) => items,
                _ => {
                    return Err(YamlError {
                        at: merge.pos,
                        message: "a merge key (<<) takes a mapping or a list of mappings".into(),
                    });
                }
            };
            for source in sources {
                let Yaml::Map(merged) = source.value else {
                    unreachable!("checked above")
                };
                for (key, value) in merged {
                    if seen.insert(key.name.clone()) {
                        entries.push((key, value));
                    }
                }
            }
        }
        Ok(node)
    }

    /// Types a scalar by its style and tag.
    fn scalar(
        &self,
        text: String,
        style: TScalarStyle,
        tag: Option<&Tag>,
        mark: &Marker,
    ) -> Result<Yaml, YamlError> {
        let Some(tag) = tag else {
            return Ok(match style {
                TScalarStyle::Plain => plain_scalar(&text),
                _ => Yaml::Str(text),
            });
        };
        let shown = shown_tag(tag);
        let wrong = |what: &str| self.error(mark, format!("`{shown} {text}` is not {what}"));
        match shown.as_str() {
            "!unsafe" => Ok(Yaml::Str(unsafe_text(&text))),
            "!!str" => Ok(Yaml::Str(text)),
            "!!int" => match plain_scalar(&text) {
                Yaml::Int(i) => Ok(Yaml::Int(i)),
                _ => Err(wrong("an integer")),
            },
            "!!float" => match plain_scalar(&text) {
                Yaml::Int(i) => Ok(Yaml::Float(i as f64)),
                Yaml::Float(f) => Ok(Yaml::Float(f)),
                _ => Err(wrong("a number")),
            },
            "!!bool" => match plain_scalar(&text) {
                Yaml::Bool(b) => Ok(Yaml::Bool(b)),
                _ => Err(wrong("a boolean")),
            },
            "!!null" => Ok(Yaml::Null),
            // The vault text; the reader opens it (or names why not).
            "!vault" => Ok(Yaml::Str(text)),
            _ => Err(self.error(
                mark,
                format!(
                    "the YAML tag `{shown}` is not supported (Capstan reads !unsafe, !vault, \
                     !!str, !!int, !!float, !!bool and !!null)"
                ),
            )),
        }
    }
}

fn too_deep() -> String {
    format!("lists and mappings nest more than {MAX_DEPTH} levels deep")
}

/// A tag as it would be written: `!unsafe`, `!!str`.
fn shown_tag(tag: &Tag) -> String {
    match tag.handle.as_str() {
        "tag:yaml.org,2002:" => format!("!!{}", tag.suffix),
        handle => format!("{handle}{}", tag.suffix),
    }
}

/// An `!unsafe` string, written so that rendering it gives back exactly
/// its text: one `{{ '…' }}` expression whose literal escapes every
/// character a template would act on. Text without template markers is
/// kept as it is, since nothing renders it.
pub fn unsafe_text(text: &str) -> String {
    if !(text.contains("{{") || text.contains("{%")) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str("{{ '");
    for c in text.chars() {
        match c {
            '{' | '}' | '%' | '#' | '\\' | '\'' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push_str("' }}");
    out
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

    fn seq(text: &str) -> Result<Node, YamlError> {
        parse("t.yml", text, TopLevel::Sequence)
    }

    fn map(text: &str) -> serde_json::Value {
        parse("t.yml", text, TopLevel::Mapping).unwrap().to_json()
    }

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
        let node = seq("- hosts: all\n  vars:\n    a: 'yes'\n    b: yes\n").unwrap();
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
        assert_eq!(
            err.to_string(),
            "dup.yml:2:3: key `a` appears twice (first at line 1)"
        );
        let err = parse("top.yml", "a: 1\n", TopLevel::Sequence).unwrap_err();
        assert!(
            err.to_string().contains("top level must be a list"),
            "{err}"
        );
        let err = parse("two.yml", "- a\n---\n- b\n", TopLevel::Sequence).unwrap_err();
        assert!(err.to_string().contains("a second YAML document"), "{err}");
    }

    #[test]
    fn anchors_aliases_and_merge_keys_expand() {
        let value = map("base: &base\n  port: 80\n  tls: false\n\
             web:\n  <<: *base\n  tls: true\n\
             both:\n  <<: [*base, {extra: 1}]\n\
             list: &l [1, 2]\n\
             again: *l\n");
        assert_eq!(
            value,
            serde_json::json!({
                "base": { "port": 80, "tls": false },
                "web": { "tls": true, "port": 80 },
                "both": { "port": 80, "tls": false, "extra": 1 },
                "list": [1, 2],
                "again": [1, 2],
            })
        );
        let err = parse("m.yml", "a:\n  <<: 3\n", TopLevel::Mapping).unwrap_err();
        assert!(err.to_string().contains("merge key"), "{err}");
    }

    #[test]
    fn an_alias_bomb_is_refused_by_name() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            let items = vec![prev; 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        let err = parse("bomb.yml", &text, TopLevel::Mapping).unwrap_err();
        assert!(err.to_string().contains("alias bomb"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_without_exhausting_the_stack() {
        for depth in [MAX_DEPTH + 1, 10_000, 200_000] {
            let flow = format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
            let err = parse("deep.yml", &flow, TopLevel::Mapping).unwrap_err();
            assert!(err.to_string().contains("levels deep"), "{err}");
        }
        let block: String = (0..10_000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let err = parse("deep.yml", &block, TopLevel::Mapping).unwrap_err();
        assert!(err.to_string().contains("levels deep"), "{err}");
        let ok = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        parse("ok.yml", &ok, TopLevel::Mapping).unwrap();
    }

    #[test]
    fn unsafe_strings_are_kept_apart_and_other_tags_are_named() {
        let value =
            map("a: !unsafe '{{ secret }} {% x %}'\nb: !unsafe plain\nc: !!str 12\nd: !!int '7'\n");
        assert_eq!(value["a"], unsafe_text("{{ secret }} {% x %}"));
        assert!(!value["a"].as_str().unwrap().contains("secret }}"));
        assert_eq!(value["b"], "plain");
        assert_eq!(value["c"], "12");
        assert_eq!(value["d"], 7);
        // A `!vault` value stays vault text, for the reader to open.
        let vaulted = map("a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3030\n");
        assert_eq!(vaulted["a"], "$ANSIBLE_VAULT;1.1;AES256\n3030\n");
        let err = parse("t.yml", "a: !python/object x\n", TopLevel::Mapping).unwrap_err();
        assert!(err.to_string().contains("tag `!python/object`"), "{err}");
    }

    #[test]
    fn many_keys_in_one_mapping_load_in_linear_time() {
        let text: String = (0..200_000).map(|i| format!("k{i}: {i}\n")).collect();
        let node = parse("big.yml", &text, TopLevel::Mapping).unwrap();
        assert_eq!(node.as_map().unwrap().len(), 200_000);
    }

    #[test]
    fn files_that_are_too_big_not_regular_or_not_utf8_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yml");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        let err = read_file(&big, "playbook").unwrap_err();
        assert!(err.contains("larger than 32 MiB"), "{err}");
        let err = read_file(dir.path(), "playbook").unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let latin1 = dir.path().join("latin1.yml");
        std::fs::write(&latin1, b"- hosts: all\n  name: caf\xe9\n").unwrap();
        let err = read_file(&latin1, "playbook").unwrap_err();
        assert!(err.contains("latin1.yml:2: not UTF-8"), "{err}");
    }
}
