//! Ansible's `authorized_key`: an SSH public key present in (or absent
//! from) a user's `authorized_keys`, matched by the key itself (type and
//! blob) whatever its options and comment, with the `.ssh` folder and the
//! file owned by the user and closed to others.

use capstan_plugin_sdk::remote::{self, Command};
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome, diff};
use serde::Deserialize;

use crate::account::Presence;

/// Parameters of the `authorized_key` action (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyParams {
    /// The account whose file it is.
    user: String,
    /// The public key line(s), as `ssh-keygen` prints them.
    key: String,
    /// The file (default `~USER/.ssh/authorized_keys`).
    path: Option<String>,
    /// Whether the key should be there (default: present).
    state: Option<Presence>,
    /// Remove every other key from the file.
    #[serde(default)]
    exclusive: bool,
    /// Options written before the key (`no-port-forwarding,from="10.0.0.1"`).
    key_options: Option<String>,
    /// The comment written after the key (default: the key's own).
    comment: Option<String>,
    /// Create the `.ssh` folder (0700, the user's) when missing (default true).
    manage_dir: Option<bool>,
}

/// One line of an `authorized_keys` file, split into its parts.
#[derive(Debug, Clone, PartialEq)]
struct KeyLine {
    options: Option<String>,
    kind: String,
    blob: String,
    comment: Option<String>,
}

const KEY_TYPES: &[&str] = &[
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ssh-ed448",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
];

impl KeyLine {
    /// Reads a key line; `None` for a blank line, a comment, or text that
    /// holds no key.
    fn parse(line: &str) -> Option<KeyLine> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (options, rest) = if KEY_TYPES.iter().any(|t| line.starts_with(&format!("{t} "))) {
            (None, line)
        } else {
            let end = options_end(line)?;
            (Some(line[..end].to_string()), line[end..].trim_start())
        };
        let mut parts = rest.splitn(3, char::is_whitespace);
        let kind = parts.next()?.to_string();
        let blob = parts.next()?.to_string();
        let comment = parts
            .next()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        KEY_TYPES.contains(&kind.as_str()).then_some(KeyLine {
            options,
            kind,
            blob,
            comment,
        })
    }

    fn render(&self) -> String {
        let mut out = String::new();
        if let Some(options) = &self.options {
            out.push_str(options);
            out.push(' ');
        }
        out.push_str(&self.kind);
        out.push(' ');
        out.push_str(&self.blob);
        if let Some(comment) = &self.comment {
            out.push(' ');
            out.push_str(comment);
        }
        out
    }

    fn same_key(&self, other: &KeyLine) -> bool {
        self.kind == other.kind && self.blob == other.blob
    }
}

/// Where the options part ends: the first space outside double quotes.
fn options_end(line: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// The account's home folder and primary group id, from `getent passwd`.
fn account(ctx: &Context, user: &str) -> Result<(String, String), Error> {
    let out = Command::new(["getent", "passwd", user]).run(&ctx.target)?;
    let fields: Vec<String> = out
        .stdout_text()
        .trim()
        .split(':')
        .map(String::from)
        .collect();
    if !out.success() || fields.len() < 7 {
        return Err(Error::msg(format!(
            "user `{user}` does not exist on {}",
            ctx.target
        )));
    }
    Ok((fields[5].clone(), fields[3].clone()))
}

/// Makes the key present or absent.
pub fn authorized_key(params: KeyParams, ctx: &Context) -> Result<Outcome, Error> {
    let present = params.state.unwrap_or(Presence::Present) == Presence::Present;
    let mut wanted = Vec::new();
    for line in params.key.lines().filter(|l| !l.trim().is_empty()) {
        let mut key = KeyLine::parse(line)
            .ok_or_else(|| Error::msg(format!("`{}` is not an SSH public key", line.trim())))?;
        if params.key_options.is_some() {
            key.options.clone_from(&params.key_options);
        }
        if params.comment.is_some() {
            key.comment.clone_from(&params.comment);
        }
        wanted.push(key);
    }
    if wanted.is_empty() {
        return Err(Error::msg("key is empty: give the public key line"));
    }
    let (home, gid) = account(ctx, &params.user)?;
    let path = params
        .path
        .clone()
        .unwrap_or_else(|| format!("{home}/.ssh/authorized_keys"));
    let existing = remote::stat(&ctx.target, &path)?;
    let before = match existing {
        Some(_) => String::from_utf8_lossy(&remote::read_file(&ctx.target, &path)?).into_owned(),
        None => String::new(),
    };
    let after = edit(&before, &wanted, present, params.exclusive);
    let data = serde_json::json!({"user": params.user, "path": path, "key": params.key});
    if after == before && (existing.is_some() || !present) {
        return Ok(Outcome::ok(format!("{path}: keys already as asked")).with_data(data));
    }
    if !ctx.check {
        let dir = path.rsplit_once('/').map_or(".", |(d, _)| d).to_string();
        if params.manage_dir.unwrap_or(true) && remote::stat(&ctx.target, &dir)?.is_none() {
            Command::new(["mkdir", "-m", "700", "--", &dir]).run_checked(&ctx.target)?;
            Command::new(["chown", &format!("{}:{gid}", params.user), "--", &dir])
                .run_checked(&ctx.target)?;
        }
        remote::write_file(&ctx.target, &path, after.as_bytes(), Some(0o600))?;
        Command::new(["chown", &format!("{}:{gid}", params.user), "--", &path])
            .run_checked(&ctx.target)?;
    }
    let verb = if ctx.check { "would change" } else { "changed" };
    let mut outcome = Outcome::changed(format!("{path}: {verb}")).with_data(data);
    if ctx.diff {
        outcome = outcome.with_diff(diff::unified(&path, &before, &after));
    }
    Ok(outcome)
}

/// The file's new text: each wanted key replaces the line holding the
/// same key (kept in place) or is added at the end; absent keys are
/// dropped; `exclusive` drops every other key line.
fn edit(before: &str, wanted: &[KeyLine], present: bool, exclusive: bool) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut placed = vec![false; wanted.len()];
    for line in before.lines() {
        let Some(key) = KeyLine::parse(line) else {
            lines.push(line.to_string());
            continue;
        };
        match wanted.iter().position(|w| w.same_key(&key)) {
            Some(i) if present => {
                if !placed[i] {
                    lines.push(wanted[i].render());
                    placed[i] = true;
                }
            }
            Some(_) => {}
            None if exclusive && present => {}
            None => lines.push(line.to_string()),
        }
    }
    if present {
        for (key, done) in wanted.iter().zip(&placed) {
            if !done {
                lines.push(key.render());
            }
        }
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop";
    const B: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB bob";

    #[test]
    fn a_key_line_splits_into_options_key_and_comment() {
        let line = KeyLine::parse(r#"from="10.0.0.1 x",no-pty ssh-ed25519 AAAA c d"#).unwrap();
        assert_eq!(line.options.as_deref(), Some(r#"from="10.0.0.1 x",no-pty"#));
        assert_eq!(
            (line.kind.as_str(), line.blob.as_str()),
            ("ssh-ed25519", "AAAA")
        );
        assert_eq!(line.comment.as_deref(), Some("c d"));
        assert!(KeyLine::parse("# a comment").is_none());
        assert!(KeyLine::parse("not a key").is_none());
    }

    #[test]
    fn present_adds_once_replaces_in_place_and_absent_removes() {
        let a = KeyLine::parse(A).unwrap();
        let added = edit(&format!("{B}\n"), std::slice::from_ref(&a), true, false);
        assert_eq!(added, format!("{B}\n{A}\n"));
        assert_eq!(edit(&added, std::slice::from_ref(&a), true, false), added);
        let mut restricted = a.clone();
        restricted.options = Some("no-pty".into());
        let replaced = edit(&added, &[restricted], true, false);
        assert_eq!(replaced, format!("{B}\nno-pty {A}\n"));
        assert_eq!(
            edit(&replaced, std::slice::from_ref(&a), false, false),
            format!("{B}\n")
        );
        assert_eq!(edit(&added, &[a], true, true), format!("{A}\n"));
    }
}
