//! A failed task's error block, as ansible-playbook 2.19 prints it above
//! the `fatal:` line: what failed, where the task is written, and the
//! lines leading to it with a caret under its column.

use serde_json::Value as Json;

/// Lines of context shown above the task's own.
const CONTEXT_LINES: usize = 2;
/// Longest source line shown, its number included.
const MAX_LINE_WIDTH: usize = 120;

/// A task's place in its file, from an update's `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file, as the engine named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Origin {
    /// Reads `file:line:column` (a file name may hold colons).
    pub fn parse(text: &str) -> Option<Origin> {
        let mut parts = text.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        let file = parts.next()?.to_string();
        Some(Origin { file, line, column })
    }

    /// The file as an absolute path, as Ansible names it.
    fn absolute_file(&self) -> String {
        std::path::absolute(&self.file)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| self.file.clone())
    }

    /// `-vv`'s `task path: FILE:LINE`.
    pub fn task_path(&self) -> String {
        format!("task path: {}:{}", self.absolute_file(), self.line)
    }
}

/// The `[ERROR]: Task failed: …` block for a failed result of `module`
/// at `origin`: its message is the result's `msg` (a `no_log` result has
/// none: the engine censored it).
pub fn error_block(module: &str, result: &Json, origin: Option<&Origin>) -> String {
    let kind = if runs_on_controller(module) {
        "Action failed"
    } else {
        "Module failed"
    };
    let headline = match result.get("msg").and_then(Json::as_str) {
        Some(msg) if !msg.is_empty() => format!("[ERROR]: Task failed: {kind}: {msg}"),
        _ => format!("[ERROR]: Task failed: {kind}."),
    };
    let Some(origin) = origin else {
        return headline;
    };
    let mut block = format!(
        "{headline}\nOrigin: {}:{}:{}\n",
        origin.absolute_file(),
        origin.line,
        origin.column
    );
    let text = std::fs::read_to_string(&origin.file);
    let annotated = match &text {
        Ok(text) if text.starts_with("$ANSIBLE_VAULT") => {
            vec!["(source not shown: content encrypted)".to_string()]
        }
        Ok(text) => annotate(text, origin.line, origin.column),
        Err(e) => vec![format!("(source not shown: {})", e.kind())],
    };
    if !annotated.is_empty() {
        block.push('\n');
        block.push_str(&annotated.join("\n"));
        block.push('\n');
    }
    block
}

/// Modules Ansible runs as action plugins on the controller alone: their
/// failures are an action's, every other module's a module's.
fn runs_on_controller(module: &str) -> bool {
    let short = module.rsplit('.').next().unwrap_or(module);
    matches!(
        short,
        "fail"
            | "assert"
            | "debug"
            | "set_fact"
            | "set_stats"
            | "include_vars"
            | "add_host"
            | "group_by"
            | "pause"
            | "meta"
    )
}

/// Up to two lines before `line` and the line itself, each behind its
/// right-aligned number, then a caret under `column`; nothing when the
/// file is shorter than `line`.
fn annotate(text: &str, line: usize, column: usize) -> Vec<String> {
    if line == 0 {
        return Vec::new();
    }
    let first = line.saturating_sub(CONTEXT_LINES).max(1);
    let lines: Vec<&str> = text
        .lines()
        .skip(first - 1)
        .take(line - first + 1)
        .collect();
    if lines.len() != line - first + 1 {
        return vec!["(source not shown: file truncated)".to_string()];
    }
    let label_width = line.to_string().len();
    let max_len = MAX_LINE_WIDTH - label_width - 1;
    let mut usable = max_len;
    let mut out = Vec::with_capacity(lines.len() + 1);
    for (number, source) in (first..).zip(lines) {
        let mut source = source.replace('\t', " ");
        if source.chars().count() > max_len {
            source = source.chars().take(max_len - 3).collect::<String>() + "...";
            usable = max_len - 3;
        }
        let gap = if source.is_empty() { "" } else { " " };
        out.push(format!("{number:>label_width$}{gap}{source}"));
    }
    if (1..=usable).contains(&column) {
        let marker = format!("column {column}");
        let at = column - 1;
        let pointer = if at + 2 + marker.len() > max_len {
            format!(
                "{}{marker} ^",
                " ".repeat(at.saturating_sub(marker.len() + 1))
            )
        } else {
            format!("{}^ {marker}", " ".repeat(at))
        };
        out.push(format!("{} {pointer}", " ".repeat(label_width)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAY: &str = "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - block:\n        - name: EXPECTED FAILURE\n          fail:\n            msg: Failure in block\n";

    #[test]
    fn the_task_line_has_two_lines_above_it_and_a_caret_under_its_column() {
        assert_eq!(
            annotate(PLAY, 5, 11),
            [
                "3   tasks:",
                "4     - block:",
                "5         - name: EXPECTED FAILURE",
                "            ^ column 11",
            ]
        );
    }

    #[test]
    fn numbers_align_to_the_widest_and_the_first_line_has_no_context_above() {
        let text: String = (1..=12).map(|n| format!("l{n}\n")).collect();
        assert_eq!(
            annotate(&text, 10, 1),
            [" 8 l8", " 9 l9", "10 l10", "   ^ column 1"]
        );
        assert_eq!(annotate(&text, 1, 1), ["1 l1", "  ^ column 1"]);
        assert_eq!(
            annotate(&text, 13, 1),
            ["(source not shown: file truncated)"]
        );
    }

    #[test]
    fn the_headline_names_an_action_or_a_module_and_the_message() {
        let failed = serde_json::json!({"msg": "Failure in block", "failed": true});
        assert_eq!(
            error_block("ansible.builtin.fail", &failed, None),
            "[ERROR]: Task failed: Action failed: Failure in block"
        );
        assert_eq!(
            error_block("command", &serde_json::json!({"rc": 1}), None),
            "[ERROR]: Task failed: Module failed."
        );
    }

    #[test]
    fn an_origin_reads_back_with_colons_in_the_file_name() {
        let origin = Origin::parse("C:/plays/site.yml:12:7").unwrap();
        assert_eq!(origin.file, "C:/plays/site.yml");
        assert_eq!((origin.line, origin.column), (12, 7));
        assert_eq!(Origin::parse("site.yml"), None);
    }
}
