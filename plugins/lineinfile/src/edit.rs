//! The text edit itself, apart from any I/O so it can be tested directly.

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::{Error, JsonSchema};
use regex::Regex;
use serde::Deserialize;

/// The module's parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineParams {
    /// The file: absolute, `~/`, `$VAR` or relative (from the folder
    /// commands start in on the target).
    #[serde(alias = "dest")]
    pub path: String,
    /// The line that should be there.
    pub line: Option<String>,
    /// Replace the last line this matches.
    pub regexp: Option<String>,
    /// Whether the line should be there (default: present).
    pub state: Option<LineState>,
    /// Regexp, or EOF (default).
    pub insertafter: Option<String>,
    /// Regexp, or BOF.
    pub insertbefore: Option<String>,
    /// Expand \1 in `line` from `regexp`; change nothing when it does not match.
    #[serde(default)]
    pub backrefs: bool,
    /// Create the file when missing.
    #[serde(default)]
    pub create: bool,
    /// Permissions for the file: octal ("0644") or symbolic ("u=rw,go=r").
    pub mode: Option<Mode>,
    /// Keep the old file as `PATH.TIME~` before changing it.
    #[serde(default)]
    pub backup: bool,
    /// A command that checks the new text before it replaces the file,
    /// `%s` standing for a copy of it (e.g. `visudo -cf %s`).
    pub validate: Option<String>,
}

/// Whether the line should be in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LineState {
    /// It should be there.
    Present,
    /// It should not.
    Absent,
}

impl LineParams {
    /// Whether the line should be gone.
    pub fn absent(&self) -> bool {
        self.state == Some(LineState::Absent)
    }
}

/// The new text and what happened, in words.
pub struct Edit {
    /// The file's new content.
    pub after: String,
    /// One line for the result table.
    pub message: String,
}

/// `pattern` compiled, or an error naming the parameter (`what`) and
/// the pattern.
pub(crate) fn compile(pattern: &str, what: &str) -> Result<Regex, Error> {
    Regex::new(pattern).map_err(|e| {
        Error::InvalidParams(format!(
            "{what} `{pattern}` is not a valid regular expression: {e}"
        ))
    })
}

/// Applies the parameters to `text`.
pub fn apply(params: &LineParams, text: &str) -> Result<Edit, Error> {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let regexp = params
        .regexp
        .as_deref()
        .map(|r| compile(r, "regexp"))
        .transpose()?;
    if params.absent() {
        let before = lines.len();
        lines.retain(|l| match (&regexp, &params.line) {
            (Some(re), _) => !re.is_match(l),
            (None, Some(line)) => l != line,
            (None, None) => true,
        });
        if regexp.is_none() && params.line.is_none() {
            return Err(Error::InvalidParams(
                "state=absent needs `regexp` or `line`".into(),
            ));
        }
        let removed = before - lines.len();
        return Ok(Edit {
            after: join(&lines, text, removed > 0),
            message: if removed > 0 {
                format!("{removed} line(s) removed")
            } else {
                "no matching line".into()
            },
        });
    }
    let line = params
        .line
        .as_deref()
        .ok_or_else(|| Error::InvalidParams("state=present needs `line`".into()))?;
    if params.insertafter.is_some() && params.insertbefore.is_some() {
        return Err(Error::InvalidParams(
            "give insertafter or insertbefore, not both".into(),
        ));
    }

    if let Some(re) = &regexp
        && let Some(index) = lines.iter().rposition(|l| re.is_match(l))
    {
        let wanted = if params.backrefs {
            let caps = re.captures(&lines[index]).expect("it matched");
            let mut out = String::new();
            caps.expand(&python_replacement(line), &mut out);
            out
        } else {
            line.to_string()
        };
        if lines[index] == wanted {
            return Ok(unchanged(text, "line already present"));
        }
        lines[index] = wanted;
        return Ok(Edit {
            after: join(&lines, text, true),
            message: "line replaced".into(),
        });
    }
    if params.backrefs {
        return Ok(unchanged(
            text,
            "regexp did not match: nothing to do (backrefs)",
        ));
    }
    if lines.iter().any(|l| l == line) {
        return Ok(unchanged(text, "line already present"));
    }

    let position = match (
        params.insertafter.as_deref(),
        params.insertbefore.as_deref(),
    ) {
        (Some("EOF") | None, None) => lines.len(),
        (None, Some("BOF")) => 0,
        (Some(after), None) => {
            let re = compile(after, "insertafter")?;
            lines
                .iter()
                .rposition(|l| re.is_match(l))
                .map_or(lines.len(), |i| i + 1)
        }
        (None, Some(before)) => {
            let re = compile(before, "insertbefore")?;
            lines
                .iter()
                .rposition(|l| re.is_match(l))
                .unwrap_or(lines.len())
        }
        (Some(_), Some(_)) => unreachable!("refused above"),
    };
    lines.insert(position, line.to_string());
    Ok(Edit {
        after: join(&lines, text, true),
        message: "line added".into(),
    })
}

fn unchanged(text: &str, message: &str) -> Edit {
    Edit {
        after: text.to_string(),
        message: message.into(),
    }
}

/// Joins lines back, ending with a newline when the file did or when it
/// changed (as Ansible leaves files).
fn join(lines: &[String], original: &str, changed: bool) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = lines.join("\n");
    if changed || original.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A Python `re` replacement as the regex crate's: `\1` and `\g<name>`
/// become `${1}`/`${name}`, `\n` and Python's other escapes their
/// characters, and a literal `$` is escaped.
/// The first escape Python's `re` refuses in a replacement (`\D`: an
/// ASCII letter it gives no meaning), with its position, in Python's words.
pub(crate) fn bad_escape(template: &str) -> Option<String> {
    let mut chars = template.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            continue;
        }
        match chars.next() {
            Some((_, e)) if e.is_ascii_alphabetic() && !"ntrfvabg".contains(e) => {
                return Some(format!("bad escape \\{e} at position {at}"));
            }
            _ => {}
        }
    }
    None
}

pub(crate) fn python_replacement(template: &str) -> String {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    chars.next();
                    out.push_str(&format!("${{{d}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                // The escapes Python's `re` turns into characters.
                Some(e @ ('n' | 't' | 'r' | 'f' | 'v' | 'a' | 'b')) => {
                    chars.next();
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        'f' => '\x0c',
                        'v' => '\x0b',
                        'b' => '\x08',
                        _ => '\x07',
                    });
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(json: serde_json::Value) -> LineParams {
        serde_json::from_value(json).unwrap()
    }

    fn edit(json: serde_json::Value, text: &str) -> (String, String) {
        let e = apply(&params(json), text).unwrap();
        (e.after, e.message)
    }

    const CONF: &str = "# sshd\nPort 22\nPermitRootLogin yes\nUsePAM yes\n";

    #[test]
    fn regexp_replaces_the_last_match_once() {
        let p = serde_json::json!({ "path": "/x", "regexp": "^PermitRootLogin", "line": "PermitRootLogin no" });
        let (after, msg) = edit(p.clone(), CONF);
        assert_eq!(after, "# sshd\nPort 22\nPermitRootLogin no\nUsePAM yes\n");
        assert_eq!(msg, "line replaced");
        let (again, msg) = edit(p, &after);
        assert_eq!(again, after);
        assert_eq!(msg, "line already present");
    }

    #[test]
    fn a_missing_line_goes_at_the_end_or_after_a_match() {
        let (after, _) = edit(
            serde_json::json!({ "path": "/x", "line": "MaxAuthTries 3" }),
            CONF,
        );
        assert!(after.ends_with("UsePAM yes\nMaxAuthTries 3\n"), "{after}");
        let (after, _) = edit(
            serde_json::json!({ "path": "/x", "line": "ListenAddress 0.0.0.0", "insertafter": "^Port" }),
            CONF,
        );
        assert_eq!(
            after,
            "# sshd\nPort 22\nListenAddress 0.0.0.0\nPermitRootLogin yes\nUsePAM yes\n"
        );
        let (after, _) = edit(
            serde_json::json!({ "path": "/x", "line": "# managed", "insertbefore": "BOF" }),
            CONF,
        );
        assert!(after.starts_with("# managed\n# sshd\n"), "{after}");
        let (after, _) = edit(
            serde_json::json!({ "path": "/x", "line": "x" }),
            "no newline",
        );
        assert_eq!(after, "no newline\nx\n");
    }

    #[test]
    fn backrefs_expand_python_style_and_do_nothing_without_a_match() {
        let p = serde_json::json!({ "path": "/x", "regexp": "^Port (\\d+)$", "line": "Port \\1 # was \\1", "backrefs": true });
        let (after, _) = edit(p, CONF);
        assert!(after.contains("Port 22 # was 22\n"), "{after}");
        let p = serde_json::json!({ "path": "/x", "regexp": "^Nope (.*)$", "line": "x", "backrefs": true });
        assert_eq!(edit(p, CONF).0, CONF);
    }

    #[test]
    fn absent_removes_every_match() {
        let (after, msg) = edit(
            serde_json::json!({ "path": "/x", "regexp": "yes$", "state": "absent" }),
            CONF,
        );
        assert_eq!(after, "# sshd\nPort 22\n");
        assert_eq!(msg, "2 line(s) removed");
    }

    #[test]
    fn bad_regexps_are_named() {
        let err = apply(
            &params(serde_json::json!({ "path": "/x", "regexp": "(", "line": "x" })),
            "",
        )
        .err()
        .unwrap();
        assert!(
            err.to_string()
                .contains("regexp `(` is not a valid regular expression"),
            "{err}"
        );
    }
}
