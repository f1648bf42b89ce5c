//! Ansible's `blockinfile`: a block of lines between two marker lines,
//! put in (or taken out of) a file, found again by its markers on the
//! next run. The edit is apart from any I/O so it can be tested directly.

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::{Error, JsonSchema};
use regex::Regex;
use serde::Deserialize;

use crate::edit::{Edit, LineState, compile};

/// The module's parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockParams {
    /// The file: absolute, `~/`, `$VAR` or relative (from the folder
    /// commands start in on the target).
    #[serde(alias = "dest", alias = "destfile", alias = "name")]
    pub path: String,
    /// The lines to keep between the markers (empty: remove the block).
    #[serde(default, alias = "content")]
    pub block: String,
    /// The marker line, `{mark}` standing for `marker_begin`/`marker_end`.
    #[serde(default = "default_marker")]
    pub marker: String,
    /// What `{mark}` is in the first marker.
    #[serde(default = "default_begin")]
    pub marker_begin: String,
    /// What `{mark}` is in the last marker.
    #[serde(default = "default_end")]
    pub marker_end: String,
    /// Whether the block should be there (default: present).
    pub state: Option<LineState>,
    /// Put a new block after the last line this matches (or EOF, the default).
    pub insertafter: Option<String>,
    /// Put a new block before the last line this matches (or BOF).
    pub insertbefore: Option<String>,
    /// Create the file when missing.
    #[serde(default)]
    pub create: bool,
    /// A blank line before the block, unless one is there.
    #[serde(default)]
    pub prepend_newline: bool,
    /// A blank line after the block, unless one is there.
    #[serde(default)]
    pub append_newline: bool,
    /// Permissions for the file: octal ("0644") or symbolic ("u=rw,go=r").
    pub mode: Option<Mode>,
    /// Keep the old file as `PATH.TIME~` before changing it.
    #[serde(default)]
    pub backup: bool,
    /// A command that checks the new text before it replaces the file,
    /// `%s` standing for a copy of it (e.g. `visudo -cf %s`).
    pub validate: Option<String>,
}

fn default_marker() -> String {
    "# {mark} ANSIBLE MANAGED BLOCK".into()
}

fn default_begin() -> String {
    "BEGIN".into()
}

fn default_end() -> String {
    "END".into()
}

impl BlockParams {
    /// Whether the block should be gone.
    pub fn absent(&self) -> bool {
        self.state == Some(LineState::Absent)
    }
}

/// Where a new block goes when its markers are not in the file.
enum Place {
    /// After the last line the pattern matches (or at the end).
    After(Regex),
    /// Before the last line the pattern matches (or at the end).
    Before(Regex),
    Start,
    End,
}

/// Applies the parameters to `text` (`None`: the file is not there yet),
/// as Ansible's blockinfile does, down to its corners: a file that does
/// not end in a newline gains one before a block, and a pattern that
/// matches nothing puts the block at the end.
pub fn apply(params: &BlockParams, text: Option<&str>) -> Result<Edit, Error> {
    let place = match (
        params.insertafter.as_deref(),
        params.insertbefore.as_deref(),
    ) {
        (Some(_), Some(_)) => {
            return Err(Error::InvalidParams(
                "give insertafter or insertbefore, not both".into(),
            ));
        }
        (None | Some("EOF"), None) => Place::End,
        (None, Some("BOF")) => Place::Start,
        (Some(after), None) => Place::After(compile(after, "insertafter")?),
        (None, Some(before)) => Place::Before(compile(before, "insertbefore")?),
    };
    let mut lines: Vec<String> = text.map(split_keeping_ends).unwrap_or_default();
    let begin = format!(
        "{}\n",
        params.marker.replace("{mark}", &params.marker_begin)
    );
    let end = format!("{}\n", params.marker.replace("{mark}", &params.marker_end));
    let block_lines: Vec<String> = if !params.absent() && !params.block.is_empty() {
        let mut block = params.block.clone();
        if !block.ends_with('\n') {
            block.push('\n');
        }
        std::iter::once(begin.clone())
            .chain(split_keeping_ends(&block))
            .chain([end.clone()])
            .collect()
    } else {
        Vec::new()
    };
    let first = lines.iter().rposition(|l| *l == begin);
    let last = lines.iter().rposition(|l| *l == end);
    let mut at = match (first, last) {
        (Some(a), Some(b)) => {
            let (from, to) = if a < b { (a, b) } else { (b, a) };
            lines.drain(from..=to);
            from
        }
        _ => match &place {
            Place::End => lines.len(),
            Place::Start => 0,
            // A multiline pattern is looked for in the whole text: the
            // line its match ends on (starts on, for before).
            Place::After(re) if is_multiline(re) => re
                .find(text.unwrap_or_default())
                .map_or(lines.len(), |m| lines_before(text, m.end()) + 1),
            Place::Before(re) if is_multiline(re) => re
                .find(text.unwrap_or_default())
                .map_or(lines.len(), |m| lines_before(text, m.start())),
            Place::After(re) => lines
                .iter()
                .rposition(|l| re.is_match(without_newline(l)))
                .map_or(lines.len(), |i| i + 1),
            Place::Before(re) => lines
                .iter()
                .rposition(|l| re.is_match(without_newline(l)))
                .unwrap_or(lines.len()),
        },
    };
    if at > 0 && !lines[at - 1].ends_with('\n') {
        lines[at - 1].push('\n');
    }
    if params.prepend_newline && !params.absent() && at != 0 && lines[at - 1] != "\n" {
        lines.insert(at, "\n".into());
        at += 1;
    }
    let inserted = block_lines.len();
    lines.splice(at..at, block_lines);
    let after_block = at + inserted;
    if params.append_newline
        && !params.absent()
        && after_block < lines.len()
        && lines[after_block] != "\n"
    {
        lines.insert(after_block, "\n".into());
    }
    let after = lines.concat();
    let message = if text == Some(after.as_str()) {
        String::new()
    } else if text.is_none() {
        "File created".into()
    } else if inserted == 0 {
        "Block removed".into()
    } else {
        "Block inserted".into()
    };
    Ok(Edit { after, message })
}

/// Whether a pattern sets the multiline flag at its start (`(?m)`,
/// `(?ms)`), which makes Ansible search the whole text, not each line.
fn is_multiline(re: &Regex) -> bool {
    re.as_str()
        .strip_prefix("(?")
        .and_then(|rest| rest.split([')', ':']).next())
        .filter(|flags| flags.chars().all(|c| "aiLmsux-".contains(c)))
        .is_some_and(|flags| flags.split('-').next().unwrap_or_default().contains('m'))
}

/// How many newlines `text` has before byte `at`.
fn lines_before(text: Option<&str>, at: usize) -> usize {
    text.unwrap_or_default()[..at].matches('\n').count()
}

/// A line as Python's `re` sees it for `$`: without its newline.
fn without_newline(line: &str) -> &str {
    line.strip_suffix('\n').unwrap_or(line)
}

/// Lines with their `\n` kept (the last may lack one).
fn split_keeping_ends(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(json: serde_json::Value) -> BlockParams {
        serde_json::from_value(json).unwrap()
    }

    fn run(json: serde_json::Value, text: Option<&str>) -> Edit {
        apply(&params(json), text).unwrap()
    }

    #[test]
    fn a_multiline_pattern_is_looked_for_in_the_whole_text() {
        let text = "a\nLIST =\n  (SID =\n  x\n";
        let after = run(
            serde_json::json!({"path": "/f", "block": "B", "insertafter": "(?m)LIST =\\n.*\\(SID =", "marker": "# {mark}"}),
            Some(text),
        );
        assert_eq!(after.after, "a\nLIST =\n  (SID =\n# BEGIN\nB\n# END\n  x\n");
        // Without the flag each line is tried alone: no match, the end.
        let plain = run(
            serde_json::json!({"path": "/f", "block": "B", "insertafter": "LIST =\\n.*\\(SID =", "marker": "# {mark}"}),
            Some(text),
        );
        assert!(plain.after.ends_with("  x\n# BEGIN\nB\n# END\n"));
        let before = run(
            serde_json::json!({"path": "/f", "block": "B", "insertbefore": "(?m)^  \\(SID", "marker": "# {mark}"}),
            Some(text),
        );
        assert!(
            before
                .after
                .starts_with("a\nLIST =\n# BEGIN\nB\n# END\n  (SID")
        );
    }

    #[test]
    fn a_block_goes_at_the_end_between_markers_and_is_found_again() {
        let first = run(
            serde_json::json!({"path": "/f", "block": "a\nb"}),
            Some("x\ny"),
        );
        assert_eq!(
            first.after,
            "x\ny\n# BEGIN ANSIBLE MANAGED BLOCK\na\nb\n# END ANSIBLE MANAGED BLOCK\n"
        );
        assert_eq!(first.message, "Block inserted");
        let again = run(
            serde_json::json!({"path": "/f", "block": "a\nb"}),
            Some(&first.after),
        );
        assert_eq!(again.after, first.after, "idempotent");
        assert!(again.message.is_empty());
        let changed = run(
            serde_json::json!({"path": "/f", "block": "c"}),
            Some(&first.after),
        );
        assert_eq!(
            changed.after, "x\ny\n# BEGIN ANSIBLE MANAGED BLOCK\nc\n# END ANSIBLE MANAGED BLOCK\n",
            "replaced where it was"
        );
    }

    #[test]
    fn a_block_is_placed_by_pattern_and_removed_by_state_or_emptiness() {
        let text = "a\nmark\nb\nmark\nc\n";
        let after = run(
            serde_json::json!({"path": "/f", "block": "X", "insertafter": "^mark", "marker": "<!-- {mark} -->"}),
            Some(text),
        );
        assert_eq!(
            after.after,
            "a\nmark\nb\nmark\n<!-- BEGIN -->\nX\n<!-- END -->\nc\n"
        );
        let before = run(
            serde_json::json!({"path": "/f", "block": "X", "insertbefore": "BOF"}),
            Some(text),
        );
        assert!(
            before
                .after
                .starts_with("# BEGIN ANSIBLE MANAGED BLOCK\nX\n")
        );
        let removed = run(
            serde_json::json!({"path": "/f", "state": "absent", "marker": "<!-- {mark} -->"}),
            Some(&after.after),
        );
        assert_eq!(removed.after, text);
        assert_eq!(removed.message, "Block removed");
        let emptied = run(
            serde_json::json!({"path": "/f", "block": "", "marker": "<!-- {mark} -->"}),
            Some(&after.after),
        );
        assert_eq!(emptied.after, text);
    }

    #[test]
    fn blank_lines_around_and_a_missing_file() {
        let spaced = run(
            serde_json::json!({"path": "/f", "block": "X", "insertafter": "^a", "prepend_newline": true, "append_newline": true}),
            Some("a\nb\n"),
        );
        assert_eq!(
            spaced.after,
            "a\n\n# BEGIN ANSIBLE MANAGED BLOCK\nX\n# END ANSIBLE MANAGED BLOCK\n\nb\n"
        );
        let created = run(serde_json::json!({"path": "/f", "block": "X"}), None);
        assert_eq!(created.message, "File created");
        let bad = apply(
            &params(serde_json::json!({"path": "/f", "block": "X", "insertafter": "(", })),
            Some(""),
        );
        assert!(bad.is_err());
    }
}
