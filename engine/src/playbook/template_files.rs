//! A template file as Ansible's `template` renders it: its options
//! (`trim_blocks`, `lstrip_blocks`, the `*_string` delimiters,
//! `newline_sequence`) given as parameters or in a first `#jinja2:` line,
//! and the templates it names (`{% include %}`, `{% import %}`,
//! `{% from %}`, `{% extends %}`), found where Ansible's `template` finds
//! them (the `templates` folder of the role, then of the playbook, then
//! of the file's own folder, and each of those folders itself) and never
//! outside the role's folder, the playbook's or the file's own, wherever
//! a `..` or a symlink leads.

use std::collections::{BTreeSet, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use minijinja::{Environment, Error, ErrorKind};
use regex::Regex;

/// Where one template file's includes are looked for.
#[derive(Debug, Clone, Default)]
pub struct TemplateSearch {
    /// Folders looked in, in order.
    dirs: Vec<PathBuf>,
    /// Every file found must lie under one of these (resolved).
    roots: Vec<PathBuf>,
}

impl TemplateSearch {
    /// The places for the template file at `file`, rendered for a task of
    /// the role at `role_dir` (if any) in the playbook at `playbook_dir`.
    pub fn new(playbook_dir: &Path, role_dir: Option<&Path>, file: Option<&Path>) -> Self {
        let own = file.and_then(Path::parent);
        let bases: Vec<&Path> = role_dir
            .into_iter()
            .chain([playbook_dir])
            .chain(own)
            .collect();
        TemplateSearch {
            dirs: bases
                .iter()
                .flat_map(|dir| [dir.join("templates"), dir.to_path_buf()])
                .collect(),
            roots: bases
                .iter()
                .filter_map(|dir| dir.canonicalize().ok())
                .collect(),
        }
    }

    /// The text of the template `name`, `None` when no place holds it;
    /// an error for a name that climbs out (`..`) or a file that lies
    /// outside the places.
    pub fn load(&self, name: &str) -> Result<Option<String>, Error> {
        let refuse = |why: String| Error::new(ErrorKind::InvalidOperation, why);
        // Jinja's own rule: a name is a path below the search folders.
        let mut relative = PathBuf::new();
        for part in Path::new(name).components() {
            match part {
                Component::Normal(part) => relative.push(part),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    return Err(refuse(format!(
                        "template `{name}`: a name with `..` is refused"
                    )));
                }
            }
        }
        let Some(found) = self
            .dirs
            .iter()
            .map(|dir| dir.join(&relative))
            .find(|path| path.is_file())
        else {
            return Ok(None);
        };
        let real = found
            .canonicalize()
            .map_err(|e| refuse(format!("cannot read {}: {e}", found.display())))?;
        if !self.roots.iter().any(|root| real.starts_with(root)) {
            return Err(refuse(format!(
                "template `{name}` is {}, outside the playbook's folder and its role's; \
                 Capstan reads only templates beside the playbook or role",
                real.display()
            )));
        }
        let bytes = std::fs::read(&real)
            .map_err(|e| refuse(format!("cannot read {}: {e}", real.display())))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| refuse(format!("{} is not UTF-8 text", real.display())))
    }
}

/// Ansible's `template` options, as parameters and `#jinja2:` overrides
/// name them, with their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateOptions {
    /// Drop the first newline after a block tag (default true).
    pub trim_blocks: bool,
    /// Strip spaces and tabs before a block tag on its line.
    pub lstrip_blocks: bool,
    /// `block_start_string`, `block_end_string`.
    pub block: (String, String),
    /// `variable_start_string`, `variable_end_string`.
    pub variable: (String, String),
    /// `comment_start_string`, `comment_end_string`.
    pub comment: (String, String),
    /// `line_statement_prefix`: a line starting so is a block tag.
    pub line_statement_prefix: Option<String>,
    /// `line_comment_prefix`: a line starting so is a comment.
    pub line_comment_prefix: Option<String>,
    /// What each line of the output ends with: `\n`, `\r` or `\r\n`.
    pub newline_sequence: String,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        TemplateOptions {
            trim_blocks: true,
            lstrip_blocks: false,
            block: pair("{%", "%}"),
            variable: pair("{{", "}}"),
            comment: pair("{#", "#}"),
            line_statement_prefix: None,
            line_comment_prefix: None,
            newline_sequence: "\n".into(),
        }
    }
}

/// The option names [`TemplateOptions::set`] knows.
pub const OPTION_NAMES: &[&str] = &[
    "trim_blocks",
    "lstrip_blocks",
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "newline_sequence",
];

impl TemplateOptions {
    /// Sets option `name` to `value`; an error names an unknown option or
    /// a value of the wrong kind.
    pub fn set(&mut self, name: &str, value: &serde_json::Value) -> Result<(), String> {
        let text = || -> Result<String, String> {
            match value {
                serde_json::Value::String(s) if !s.is_empty() => Ok(s.clone()),
                _ => Err(format!("{name} must be a non-empty string, not {value}")),
            }
        };
        match name {
            "trim_blocks" => self.trim_blocks = super::truth::truthy_json(value),
            "lstrip_blocks" => self.lstrip_blocks = super::truth::truthy_json(value),
            "block_start_string" => self.block.0 = text()?,
            "block_end_string" => self.block.1 = text()?,
            "variable_start_string" => self.variable.0 = text()?,
            "variable_end_string" => self.variable.1 = text()?,
            "comment_start_string" => self.comment.0 = text()?,
            "comment_end_string" => self.comment.1 = text()?,
            "line_statement_prefix" => self.line_statement_prefix = Some(text()?),
            "line_comment_prefix" => self.line_comment_prefix = Some(text()?),
            "newline_sequence" => {
                // Ansible takes the escaped spellings a YAML single-quoted
                // string gives (`'\r\n'`) as well as the characters.
                let sequence = match text()?.as_str() {
                    "\n" | "\\n" => "\n",
                    "\r" | "\\r" => "\r",
                    "\r\n" | "\\r\\n" => "\r\n",
                    other => {
                        // Ansible's words.
                        return Err(format!(
                            "newline_sequence needs to be one of: \\n, \\r or \\r\\n (not {other:?})"
                        ));
                    }
                };
                self.newline_sequence = sequence.into();
            }
            other => return Err(format!("`{other}` is not a template option")),
        }
        Ok(())
    }

    /// The options a file's first line sets (`#jinja2:key:'value', ...`,
    /// each value a Python literal), and the text after that line; the
    /// file as it is when it has no such line.
    pub fn read_overrides<'t>(&mut self, text: &'t str) -> Result<&'t str, String> {
        let Some(rest) = text.strip_prefix("#jinja2:") else {
            return Ok(text);
        };
        // Ansible's words, which playbooks test for.
        let (line, body) = rest
            .split_once('\n')
            .ok_or("Missing newline after '#jinja2:' override.")?;
        for pair in line.split(',') {
            if pair.trim().is_empty() {
                return Err("Empty '#jinja2:' override pair not allowed.".into());
            }
            let (key, value) = pair.split_once(':').ok_or_else(|| {
                format!("Missing key-value separator `:` in '#jinja2:' override pair {pair:?}.")
            })?;
            let key = key.trim();
            if !OPTION_NAMES.contains(&key) {
                return Err(format!("Invalid '#jinja2:' override key {key:?}."));
            }
            self.set(key, &python_literal(value.trim()))
                .map_err(|e| format!("#jinja2: {e}"))?;
        }
        Ok(body)
    }

    /// Whether these are the defaults.
    pub fn are_default(&self) -> bool {
        *self == TemplateOptions::default()
    }

    /// Whether the delimiters are Jinja's own.
    fn default_syntax(&self) -> bool {
        let default = TemplateOptions::default();
        (&self.block, &self.variable, &self.comment)
            == (&default.block, &default.variable, &default.comment)
            && self.line_statement_prefix.is_none()
            && self.line_comment_prefix.is_none()
    }

    /// `env` set to these options.
    fn apply(&self, env: &mut Environment<'static>) -> Result<(), Error> {
        // As Jinja's own: an included template's last newline is dropped
        // ("Hello {% include 'name' %}!"); the file's are put back after.
        env.set_keep_trailing_newline(false);
        env.set_trim_blocks(self.trim_blocks);
        env.set_lstrip_blocks(self.lstrip_blocks);
        if !self.default_syntax() {
            let mut syntax = minijinja::syntax::SyntaxConfig::builder();
            syntax
                .block_delimiters(self.block.0.clone(), self.block.1.clone())
                .variable_delimiters(self.variable.0.clone(), self.variable.1.clone())
                .comment_delimiters(self.comment.0.clone(), self.comment.1.clone());
            if let Some(prefix) = &self.line_statement_prefix {
                syntax.line_statement_prefix(prefix.clone());
            }
            if let Some(prefix) = &self.line_comment_prefix {
                syntax.line_comment_prefix(prefix.clone());
            }
            env.set_syntax(syntax.build()?);
        }
        Ok(())
    }

    /// The text rendered from `template`, ending in as many newlines as
    /// the template does (as Ansible puts them back), each line ending in
    /// the newline sequence.
    pub fn end_lines(&self, template: &str, mut rendered: String) -> String {
        let ending = |text: &str| text.len() - text.trim_end_matches('\n').len();
        let missing = ending(template).saturating_sub(ending(&rendered));
        rendered.push_str(&"\n".repeat(missing));
        match self.newline_sequence.as_str() {
            "\n" => rendered,
            sequence => rendered.replace('\n', sequence),
        }
    }
}

/// The bytes of a rendered template in `encoding` (Ansible's
/// `output_encoding`): `None` for UTF-8, which the text already is; an
/// error for an encoding Capstan lacks or a character it cannot hold.
pub fn encode_output(text: &str, encoding: &str) -> Result<Option<Vec<u8>>, String> {
    let name = encoding.trim().to_ascii_lowercase().replace('_', "-");
    let single_byte: fn(char) -> Option<u8> = match name.as_str() {
        "" | "utf-8" | "utf8" => return Ok(None),
        "ascii" | "us-ascii" => |c| u8::try_from(c).ok().filter(u8::is_ascii),
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => |c| u8::try_from(c).ok(),
        "windows-1252" | "cp1252" => windows_1252,
        _ => {
            return Err(format!(
                "output_encoding `{encoding}` is not one Capstan writes \
                 (utf-8, ascii, latin-1, windows-1252)"
            ));
        }
    };
    text.chars()
        .map(|c| {
            single_byte(c)
                .ok_or_else(|| format!("the output holds {c:?}, which {encoding} cannot encode"))
        })
        .collect::<Result<Vec<u8>, String>>()
        .map(Some)
}

/// A character's byte in Windows-1252: Latin-1, but for the printable
/// characters it puts at 0x80-0x9F.
fn windows_1252(c: char) -> Option<u8> {
    const HIGH: [char; 32] = [
        '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', '\0',
        '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
    ];
    match u32::from(c) {
        0..=0x7f | 0xa0..=0xff => u8::try_from(c).ok(),
        _ => HIGH
            .iter()
            .position(|h| *h == c && c != '\0')
            .and_then(|i| u8::try_from(0x80 + i).ok()),
    }
}

/// A Python literal as `ast.literal_eval` reads the simple ones: a quoted
/// string, `True`/`False`, a number; anything else as text.
fn python_literal(text: &str) -> serde_json::Value {
    use serde_json::Value;
    for quote in ['\'', '"'] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return Value::String(inner.replace("\\n", "\n").replace("\\r", "\r"));
        }
    }
    match text {
        "True" | "true" => Value::Bool(true),
        "False" | "false" => Value::Bool(false),
        _ => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
    }
}

/// A template engine for one file: `base` with `options` and a loader
/// that finds the templates it names by `search`.
pub(crate) fn file_engine(
    base: &Environment<'static>,
    search: &TemplateSearch,
    options: &TemplateOptions,
) -> Result<Environment<'static>, Error> {
    let mut env = with_loader(base, search);
    options.apply(&mut env)?;
    Ok(env)
}

/// `env` with a loader that finds templates by `search` (a copy: the
/// templates it loads are cached in it, for this render only).
pub(crate) fn with_loader<'s>(env: &Environment<'s>, search: &TemplateSearch) -> Environment<'s> {
    let mut env = env.clone();
    let search = search.clone();
    env.set_loader(move |name| search.load(name));
    env
}

/// Renders `text` with `env`, the templates it names found by `search`.
pub(crate) fn render_str_finding<S: serde::Serialize>(
    env: &Environment<'_>,
    search: &TemplateSearch,
    text: &str,
    context: S,
) -> Result<String, Error> {
    match named_templates(text, "{%") {
        Some(_) => with_loader(env, search).render_str(text, context),
        None => env.render_str(text, context),
    }
}

/// The variables the templates a file names (`named`, as
/// [`named_templates`] found them) use, and those they name in turn;
/// every `written` variable when a name is not a literal (the template is
/// only known when rendered). A template that cannot be loaded adds
/// nothing: rendering reports it. `block_start` opens a tag.
pub(crate) fn variables_of_named(
    env: &Environment<'static>,
    named: Option<(Vec<String>, bool)>,
    block_start: &str,
    written: &BTreeSet<String>,
) -> HashSet<String> {
    let mut used = HashSet::new();
    let mut seen = HashSet::new();
    let mut pending = vec![named];
    while let Some(next) = pending.pop() {
        let Some((names, computed)) = next else {
            continue;
        };
        if computed {
            return written.iter().cloned().collect();
        }
        for name in names {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Ok(template) = env.get_template(&name) {
                used.extend(template.undeclared_variables(false));
                pending.push(named_templates(template.source(), block_start));
            }
        }
    }
    used
}

/// The templates `text` names in tags opened by `block_start` (Jinja's
/// `{%` unless a template option says otherwise), when it names any:
/// `Some` of the names written as literals, and whether some are not (a
/// variable, a list).
pub(crate) fn named_templates(text: &str, block_start: &str) -> Option<(Vec<String>, bool)> {
    const TAIL: &str = r#"[-+]?\s*(?:include|import|from|extends)\s+(?:(['"])(.*?)['"]|.)"#;
    static DEFAULT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(&format!(r"\{{%{TAIL}")).expect("a valid pattern"));
    let custom;
    let tag = if block_start == "{%" {
        &*DEFAULT
    } else {
        custom = Regex::new(&format!("{}{TAIL}", regex::escape(block_start))).ok()?;
        &custom
    };
    let mut names = Vec::new();
    let mut computed = false;
    let mut any = false;
    for found in tag.captures_iter(text) {
        any = true;
        match found.get(2) {
            Some(name) => names.push(name.as_str().to_string()),
            None => computed = true,
        }
    }
    any.then_some((names, computed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_computed_names_are_told_apart() {
        assert_eq!(named_templates("plain {{ x }}", "{%"), None);
        assert_eq!(
            named_templates(
                "{% import 'qux' as q with context %}{%- include \"a/b.j2\" %}",
                "{%"
            ),
            Some((vec!["qux".to_string(), "a/b.j2".to_string()], false))
        );
        assert_eq!(
            named_templates("{% include name_var %}", "{%"),
            Some((vec![], true))
        );
        assert_eq!(
            named_templates("[% include 'x' %]", "[%"),
            Some((vec!["x".to_string()], false))
        );
    }

    #[test]
    fn output_is_encoded_as_asked() {
        assert_eq!(encode_output("é", "utf-8").unwrap(), None);
        assert_eq!(
            encode_output("€é‚", "windows-1252").unwrap(),
            Some(vec![0x80, 0xe9, 0x82])
        );
        let refused = encode_output("€", "latin-1").unwrap_err();
        assert!(refused.contains("cannot encode"), "{refused}");
        assert!(encode_output("x", "ebcdic").is_err());
    }

    #[test]
    fn a_first_line_overrides_options_in_ansibles_words() {
        let mut options = TemplateOptions::default();
        let body = options
            .read_overrides("#jinja2:variable_start_string:'<<' , variable_end_string:'>>'\nx")
            .unwrap();
        assert_eq!(body, "x");
        assert_eq!(options.variable, ("<<".to_string(), ">>".to_string()));
        let missing = TemplateOptions::default()
            .read_overrides("#jinja2: lstrip_blocks=True\nx")
            .unwrap_err();
        assert!(missing.contains("Missing key-value separator"), "{missing}");
        let colon = TemplateOptions::default()
            .read_overrides("#jinja2: line_statement_prefix:\":\"\nx")
            .unwrap();
        assert_eq!(colon, "x");
    }

    #[cfg(unix)]
    #[test]
    fn includes_are_found_in_templates_folders_and_kept_inside() {
        let dir = tempfile::tempdir().unwrap();
        let play = dir.path().join("play");
        std::fs::create_dir_all(play.join("templates/sub")).unwrap();
        std::fs::write(play.join("templates/sub/part.j2"), "part").unwrap();
        std::fs::write(dir.path().join("secret"), "no").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), play.join("templates/link")).unwrap();
        let search = TemplateSearch::new(&play, None, None);
        assert_eq!(search.load("sub/part.j2").unwrap().as_deref(), Some("part"));
        assert_eq!(search.load("missing.j2").unwrap(), None);
        let climbing = search.load("../secret").unwrap_err().to_string();
        assert!(climbing.contains("`..` is refused"), "{climbing}");
        let outside = search.load("link").unwrap_err().to_string();
        assert!(
            outside.contains("outside the playbook's folder"),
            "{outside}"
        );
    }
}
