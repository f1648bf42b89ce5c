//! Ansible's `replace`: every match of a pattern in a file (or in the
//! part between `after` and `before`) replaced, with Python's `\1` and
//! `\g<name>` back-references. The edit is apart from any I/O.

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::{Error, JsonSchema};
use serde::Deserialize;

use crate::edit::{Edit, compile, python_replacement};

/// The module's parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceParams {
    /// The file: absolute, `~/`, `$VAR` or relative (from the folder
    /// commands start in on the target).
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    pub path: String,
    /// The pattern (multi-line: `^` and `$` match at each line).
    pub regexp: String,
    /// What each match becomes (`\1`, `\g<name>` refer to its groups).
    #[serde(default)]
    pub replace: String,
    /// Only after the first match of this pattern.
    pub after: Option<String>,
    /// Only before the last match of this pattern.
    pub before: Option<String>,
    /// Permissions for the file: octal ("0644") or symbolic ("u=rw,go=r").
    pub mode: Option<Mode>,
    /// Keep the old file as `PATH.TIME~` before changing it.
    #[serde(default)]
    pub backup: bool,
    /// A command that checks the new text before it replaces the file,
    /// `%s` standing for a copy of it (e.g. `visudo -cf %s`).
    pub validate: Option<String>,
}

/// Applies the parameters to `text`; an empty message when nothing
/// changes, as Ansible's.
pub fn apply(params: &ReplaceParams, text: &str) -> Result<Edit, Error> {
    let section_pattern = match (non_empty(&params.after), non_empty(&params.before)) {
        (Some(after), Some(before)) => Some(format!("{after}(?P<subsection>.*?){before}")),
        (Some(after), None) => Some(format!("{after}(?P<subsection>.*)")),
        (None, Some(before)) => Some(format!("(?P<subsection>.*){before}")),
        (None, None) => None,
    };
    let (start, end) = match &section_pattern {
        None => (0, text.len()),
        Some(pattern) => {
            let re = compile(&format!("(?s){pattern}"), "after/before")?;
            let Some(found) = re.captures(text).and_then(|c| c.name("subsection")) else {
                return Ok(Edit {
                    after: text.to_string(),
                    message: format!(
                        "Pattern for before/after params did not match the given file: {pattern}"
                    ),
                });
            };
            (found.start(), found.end())
        }
    };
    let re = compile(&format!("(?m){}", params.regexp), "regexp")?;
    check_replacement(params)?;
    let section = &text[start..end];
    let count = re.find_iter(section).count();
    let replaced = re.replace_all(section, python_replacement(&params.replace).as_str());
    if count == 0 || replaced == section {
        return Ok(Edit {
            after: text.to_string(),
            message: String::new(),
        });
    }
    Ok(Edit {
        after: format!("{}{replaced}{}", &text[..start], &text[end..]),
        message: format!("{count} replacements made"),
    })
}

/// Refuses a replacement Python's `re` refuses, in Ansible's words (the
/// module checks it before reading the file).
pub fn check_replacement(params: &ReplaceParams) -> Result<(), Error> {
    match crate::edit::bad_escape(&params.replace) {
        Some(why) => Err(Error::msg(format!(
            "Unable to process replace due to error: {why}"
        ))),
        None => Ok(()),
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(json: serde_json::Value, text: &str) -> Edit {
        apply(&serde_json::from_value(json).unwrap(), text).unwrap()
    }

    #[test]
    fn every_match_is_replaced_with_python_back_references() {
        let edit = run(
            serde_json::json!({"path": "/f", "regexp": r"^(\w+)=(\d+)$", "replace": r"\2=\g<1>"}),
            "a=1\nb=2\nc=x\n",
        );
        assert_eq!(edit.after, "1=a\n2=b\nc=x\n");
        assert_eq!(edit.message, "2 replacements made");
        let none = run(
            serde_json::json!({"path": "/f", "regexp": "zzz", "replace": "y"}),
            "a\n",
        );
        assert_eq!(none.after, "a\n");
        assert!(none.message.is_empty());
        let same = run(
            serde_json::json!({"path": "/f", "regexp": "a", "replace": "a"}),
            "a\n",
        );
        assert!(
            same.message.is_empty(),
            "a match replaced by itself changes nothing"
        );
    }

    #[test]
    fn after_and_before_bound_the_part_that_changes() {
        let text = "x=1\n[s]\nx=1\n[t]\nx=1\n";
        let edit = run(
            serde_json::json!({"path": "/f", "regexp": "x=1", "replace": "x=2", "after": r"\[s\]", "before": r"\[t\]"}),
            text,
        );
        assert_eq!(edit.after, "x=1\n[s]\nx=2\n[t]\nx=1\n");
        let missing = run(
            serde_json::json!({"path": "/f", "regexp": "x", "after": "nowhere"}),
            text,
        );
        assert_eq!(missing.after, text);
        assert!(
            missing
                .message
                .starts_with("Pattern for before/after params did not match")
        );
        let newline = run(
            serde_json::json!({"path": "/f", "regexp": "1\n", "replace": r"1\n\n"}),
            "x=1\n",
        );
        assert_eq!(
            newline.after, "x=1\n\n",
            "Python's escapes in the replacement"
        );
    }

    #[test]
    fn a_replacement_python_refuses_is_named_as_python_does() {
        let bad = apply(
            &serde_json::from_value(
                serde_json::json!({"path": "/f", "regexp": r"\.", "replace": r"\D"}),
            )
            .unwrap(),
            "a.b",
        );
        let Err(error) = bad else { panic!("refused") };
        assert_eq!(
            error.to_string(),
            r"Unable to process replace due to error: bad escape \D at position 0"
        );
        assert_eq!(
            run(
                serde_json::json!({"path": "/f", "regexp": "b", "replace": r"\&"}),
                "b"
            )
            .after,
            r"\&"
        );
    }

    #[test]
    fn a_pattern_rust_cannot_read_is_named() {
        let bad = apply(
            &serde_json::from_value(serde_json::json!({"path": "/f", "regexp": "(?<=a)b"}))
                .unwrap(),
            "ab",
        );
        let Err(Error::InvalidParams(message)) = bad else {
            panic!("refused")
        };
        assert!(message.contains("regexp `"), "{message}");
    }
}
