//! Ansible's `hostname`: the host's name, through `hostnamectl` where
//! systemd runs (the static name, then the transient one), else in
//! `/etc/hostname` (Ansible's strategy for the Debian family).

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome, diff};
use serde::Deserialize;
use serde_json::json;

/// Parameters of the `hostname` action (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostnameParams {
    /// The name to give the host.
    name: String,
    /// How to set it: `systemd` (or `debian`, the same here) through
    /// `hostnamectl`, `file` through /etc/hostname; default: systemd
    /// when it runs, else the file.
    #[serde(rename = "use")]
    strategy: Option<String>,
}

/// Reads the names: the way to set them, then the current and the
/// permanent name, one a line.
const PROBE: &str = r#"use=$1
if [ -z "$use" ]; then
    if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; then use=systemd; else use=file; fi
fi
echo "$use"
if [ "$use" = systemd ]; then
    command -v hostnamectl >/dev/null 2>&1 || { echo 'Failed to find required executable "hostnamectl"' >&2; exit 3; }
    hostnamectl --transient status || exit 4
    hostnamectl --static status || exit 4
else
    permanent=$(cat /etc/hostname 2>/dev/null | tr -d '\n')
    echo "$permanent"
    echo "$permanent"
fi"#;

/// Whether `name` may be a host's name: labels of letters, digits, `-`
/// and `_`, dots between them, at most 253 characters.
fn valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && !name.starts_with(['-', '.'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
}

/// Gives the host its name.
pub fn hostname(p: HostnameParams, ctx: &Context) -> Result<Outcome, Error> {
    let name = p.name.trim().to_string();
    if !valid(&name) {
        return Err(Error::msg(format!(
            "`{}` is not a valid host name (letters, digits, `-`, `_` and dots, at most 253 characters)",
            p.name
        )));
    }
    let strategy = match p.strategy.as_deref() {
        None => "",
        Some("systemd" | "debian") => "systemd",
        Some("file") => "file",
        Some(other) => {
            return Err(Error::msg(format!(
                "use={other} is not supported here: give systemd, debian or file"
            )));
        }
    };
    let out = Command::new(["sh", "-c", PROBE, "capstan-hostname", strategy]).run(&ctx.target)?;
    if !out.success() {
        return Err(Error::msg(format!(
            "reading the host name failed: {}",
            out.stderr_text().trim()
        )));
    }
    let text = out.stdout_text();
    let mut lines = text.lines();
    let systemd = lines.next() == Some("systemd");
    let current = lines.next().unwrap_or_default().trim().to_string();
    let permanent = lines.next().unwrap_or_default().trim().to_string();
    if systemd && name.len() > 64 {
        return Err(Error::msg(
            "name cannot be longer than 64 characters on systemd servers, try a shorter name",
        ));
    }
    let mut steps: Vec<Vec<&str>> = Vec::new();
    if systemd {
        if permanent != name {
            steps.push(vec![
                "hostnamectl",
                "--pretty",
                "--static",
                "set-hostname",
                &name,
            ]);
        }
        if current != name {
            steps.push(vec!["hostnamectl", "--transient", "set-hostname", &name]);
        }
    }
    let changed = current != name || permanent != name;
    if changed && !ctx.check {
        if systemd {
            for step in &steps {
                Command::new(step.iter().copied())
                    .run_checked(&ctx.target)
                    .map_err(|e| Error::msg(format!("Command failed: {e}")))?;
            }
        } else {
            // Written in place, as Ansible writes it: a container's
            // /etc/hostname is often a bind mount that cannot be renamed over.
            let script = r#"printf '%s\n' "$1" > /etc/hostname"#;
            Command::new(["sh", "-c", script, "capstan-hostname", &name])
                .run_checked(&ctx.target)
                .map_err(|e| Error::msg(format!("failed to update hostname: {e}")))?;
        }
    }
    let before = if name != current {
        &current
    } else {
        &permanent
    };
    let short = name.split('.').next().unwrap_or(&name);
    let domain = name.split_once('.').map_or("", |(_, d)| d);
    let data = json!({
        "name": name,
        "changed": changed,
        "ansible_facts": {
            "ansible_hostname": short,
            "ansible_nodename": name,
            "ansible_fqdn": name,
            "ansible_domain": domain,
        },
    });
    if !changed {
        return Ok(Outcome::ok(format!("host name is {name}")).with_data(data));
    }
    let mut outcome = Outcome::changed(format!("host name {before} -> {name}")).with_data(data);
    if ctx.diff {
        outcome = outcome.with_diff(diff::unified(
            "hostname",
            &format!("hostname = {before}\n"),
            &format!("hostname = {name}\n"),
        ));
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::valid;

    #[test]
    fn host_names_are_labels_and_dots() {
        assert!(valid("web-1.example.org"));
        assert!(valid("db_2"));
        assert!(!valid(""));
        assert!(!valid("-n"));
        assert!(!valid("a b"));
        assert!(!valid("a\nb"));
        assert!(!valid("../etc"));
        assert!(!valid(&"x".repeat(254)));
    }
}
