//! Ansible's `apt_repository`: a one-line `deb` source present in (or
//! absent from) apt's lists, in `/etc/apt/sources.list.d/NAME.list`,
//! then `apt-get update`. A file it changes is written back with each
//! source line in Ansible's form (whitespace collapsed); a file left with
//! no line is removed.

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::remote::{self, Command};
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome, diff};
use serde::Deserialize;
use serde_json::json;

use crate::{Presence, update_cache};

/// Parameters of the `repository` action (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepositoryParams {
    /// The source line: `deb [options] URI SUITE [COMPONENTS]`.
    repo: String,
    /// present (default) or absent.
    state: Option<Presence>,
    /// The file's name in sources.list.d, without `.list` (default: made
    /// from the URI).
    filename: Option<String>,
    /// A new file's permissions (default 0644).
    mode: Option<Mode>,
    /// Run `apt-get update` after a change (default true).
    update_cache: Option<bool>,
    /// Accepted for Ansible's sake; Capstan needs no python3-apt.
    install_python_apt: Option<bool>,
    /// Accepted for Ansible's sake (used for PPAs, which are Ubuntu's).
    validate_certs: Option<bool>,
}

const LISTS: &str = "/etc/apt/sources.list.d";

/// Prints every one-line sources file, each after `== PATH`.
const READ: &str = r#"for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    echo "== $f"; cat -- "$f"; echo
done"#;

/// One line of a sources file, as Ansible's module reads it.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    raw: String,
    /// The source (`deb ...`, whitespace collapsed), when the line is one.
    source: Option<String>,
    enabled: bool,
    comment: String,
}

impl Line {
    fn read(raw: &str) -> Line {
        let mut text = raw.trim();
        let mut enabled = true;
        if let Some(rest) = text.strip_prefix('#') {
            enabled = false;
            text = rest;
        }
        let (text, comment) = match text.find('#') {
            Some(i) if i > 0 => (&text[..i], text[i + 1..].trim().to_string()),
            _ => (text, String::new()),
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        let source =
            matches!(words.first(), Some(&"deb") | Some(&"deb-src")).then(|| words.join(" "));
        Line {
            raw: raw.to_string(),
            source,
            enabled,
            comment,
        }
    }

    fn render(&self) -> String {
        match &self.source {
            None => self.raw.clone(),
            Some(source) => {
                let mut line = if self.enabled {
                    source.clone()
                } else {
                    format!("# {source}")
                };
                if !self.comment.is_empty() {
                    line.push_str(" # ");
                    line.push_str(&self.comment);
                }
                line
            }
        }
    }
}

/// `sources.list.d`'s file name Ansible gives a line: its URI's host and
/// path (options, scheme and credentials left out), each run of other
/// characters an underscore.
fn suggested_name(source: &str) -> String {
    let mut words = source.split_whitespace().skip(1).peekable();
    if words.peek().is_some_and(|w| w.starts_with('[')) {
        for word in words.by_ref() {
            if word.ends_with(']') {
                break;
            }
        }
    }
    let uri = words.next().unwrap_or_default();
    let uri = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let uri = uri.rsplit_once('@').map_or(uri, |(_, rest)| rest);
    let uri = uri.strip_prefix("file:").unwrap_or(uri);
    let parts: Vec<&str> = uri
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    parts.join("_")
}

/// The source line asked for, checked and in its collapsed form.
fn wanted_source(repo: &str) -> Result<String, Error> {
    let repo = repo.trim();
    if repo.starts_with("ppa:") {
        return Err(Error::msg(
            "PPA repositories are Ubuntu's: give the `deb` line (Capstan runs apt_repository on Debian's family)",
        ));
    }
    if repo.contains(['\n', '\r']) {
        return Err(Error::msg("repo is one line"));
    }
    let line = Line::read(repo);
    match line.source {
        Some(source) if line.enabled && source.split_whitespace().count() >= 3 => Ok(source),
        _ => Err(Error::msg(format!(
            "Invalid repository string: {repo} (give `deb [options] URI SUITE [COMPONENTS]`)"
        ))),
    }
}

/// Adds or removes the source.
pub fn repository(p: RepositoryParams, ctx: &Context) -> Result<Outcome, Error> {
    let _ = (p.install_python_apt, p.validate_certs);
    let source = wanted_source(&p.repo)?;
    let present = p.state != Some(Presence::Absent);
    let name = match &p.filename {
        Some(name) if name.is_empty() || name.contains('/') || name.starts_with('.') => {
            return Err(Error::msg(format!(
                "filename `{name}` must be a plain file name"
            )));
        }
        Some(name) => name.trim_end_matches(".list").to_string(),
        None => suggested_name(&source),
    };
    let target_file = format!("{LISTS}/{name}.list");
    let listing = Command::new(["sh", "-c", READ])
        .run_checked(&ctx.target)?
        .stdout_text();
    // Each file's path, its text and its lines.
    let mut files: Vec<(String, String, Vec<Line>)> = Vec::new();
    for chunk in listing.split("== ").filter(|c| !c.is_empty()) {
        let (path, text) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let text = text.strip_suffix('\n').unwrap_or(text).to_string();
        let lines = text.lines().map(Line::read).collect();
        files.push((path.to_string(), text, lines));
    }
    let mut changed_files: Vec<usize> = Vec::new();
    let mut found = false;
    for (index, (_, _, lines)) in files.iter_mut().enumerate() {
        let before = lines.clone();
        if present {
            for line in lines
                .iter_mut()
                .filter(|l| l.source.as_deref() == Some(&source))
            {
                found = true;
                line.enabled = true;
            }
        } else {
            lines.retain(|l| l.source.as_deref() != Some(&source));
        }
        if *lines != before {
            changed_files.push(index);
        }
    }
    let mut added = Vec::new();
    if present && !found {
        let line = Line::read(&source);
        match files.iter().position(|(path, _, _)| *path == target_file) {
            Some(index) => {
                files[index].2.push(line);
                changed_files.push(index);
            }
            None => {
                files.push((target_file.clone(), String::new(), vec![line]));
                changed_files.push(files.len() - 1);
            }
        }
        added.push(target_file.clone());
    }
    changed_files.sort_unstable();
    changed_files.dedup();
    let mut removed = Vec::new();
    let mut diffs = String::new();
    for &index in &changed_files {
        let (path, before, lines) = &files[index];
        let after: String = lines.iter().map(|l| l.render() + "\n").collect();
        let emptied = lines
            .iter()
            .all(|l| l.raw.trim().is_empty() && l.source.is_none());
        if emptied {
            removed.push(path.clone());
        }
        if ctx.diff {
            diffs.push_str(&diff::unified(
                path,
                &before_text(before),
                if emptied { "" } else { &after },
            ));
        }
        if ctx.check {
            continue;
        }
        if emptied {
            Command::new(["rm", "-f", "--", path]).run_checked(&ctx.target)?;
        } else {
            let new = before.is_empty() && added.contains(path);
            let mode = match (&p.mode, new) {
                (Some(mode), _) => Some(mode.resolve(None, false)?),
                (None, true) => Some(0o644),
                (None, false) => None,
            };
            remote::write_file(&ctx.target, path, after.as_bytes(), mode)?;
        }
    }
    let changed = !changed_files.is_empty();
    if changed && !ctx.check && p.update_cache.unwrap_or(true) {
        update_cache(ctx)?;
    }
    let data = json!({
        "repo": p.repo,
        "state": if present { "present" } else { "absent" },
        "sources_added": added,
        "sources_removed": removed,
        "changed": changed,
    });
    let outcome = if changed {
        Outcome::changed(format!(
            "{source}: {}",
            if present { "added" } else { "removed" }
        ))
    } else {
        Outcome::ok(format!("{source}: as asked"))
    };
    let outcome = outcome.with_data(data);
    Ok(if ctx.diff && changed {
        outcome.with_diff(diffs)
    } else {
        outcome
    })
}

fn before_text(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("{text}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_the_uri() {
        assert_eq!(
            suggested_name(
                "deb [arch=amd64 signed-by=/k.gpg] https://u:p@dl.example.com/linux/deb/ stable main"
            ),
            "dl_example_com_linux_deb"
        );
        assert_eq!(
            suggested_name("deb [trusted=yes] file:/srv/repo ./"),
            "srv_repo"
        );
    }

    #[test]
    fn lines_are_read_and_written_as_ansible_does() {
        let line = Line::read("#deb   http://h/d  bookworm main   # mine");
        assert_eq!(line.source.as_deref(), Some("deb http://h/d bookworm main"));
        assert!(!line.enabled);
        assert_eq!(line.render(), "# deb http://h/d bookworm main # mine");
        assert_eq!(Line::read("# a comment").source, None);
        assert_eq!(Line::read("# a comment").render(), "# a comment");
    }

    #[test]
    fn only_deb_lines_are_taken() {
        assert!(wanted_source("deb http://h/d bookworm main").is_ok());
        assert!(
            wanted_source("ppa:x/y")
                .unwrap_err()
                .to_string()
                .contains("Ubuntu")
        );
        assert!(wanted_source("rpm http://h x").is_err());
        assert!(wanted_source("deb http://h").is_err());
    }
}
