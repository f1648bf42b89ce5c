//! ansible.posix's `sysctl`: a kernel parameter in a sysctl file
//! (`/etc/sysctl.conf` by default), loaded with `sysctl -p`, and with
//! `sysctl_set` set at once with `sysctl -w`.

use capstan_plugin_sdk::remote::{self, Command};
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome, diff};
use serde::Deserialize;
use serde_json::{Value as Json, json};

/// Parameters of the `sysctl` action (ansible.posix's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SysctlParams {
    /// The parameter (`net.ipv4.ip_forward`).
    name: String,
    /// Its value (`yes`/`no`/`true`/`false` are written 1 and 0).
    value: Option<Json>,
    /// present (default) or absent (from the file).
    state: Option<Presence>,
    /// Load the file with `sysctl -p` when something changed (default true).
    reload: Option<bool>,
    /// Also set the running value with `sysctl -w` when it differs.
    #[serde(default)]
    sysctl_set: bool,
    /// Pass `-e`: unknown keys are not errors.
    #[serde(default)]
    ignoreerrors: bool,
    /// The file (default /etc/sysctl.conf).
    sysctl_file: Option<String>,
}

/// Whether the parameter should be in the file.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Presence {
    Present,
    Absent,
}

/// sysctl lives in /usr/sbin, which a plain account's PATH may lack.
const PATH: &str = "PATH=$PATH:/usr/sbin:/sbin; command -v sysctl >/dev/null 2>&1 || exit 127; ";

/// The value as the file holds it: booleans as 1 and 0, text trimmed.
fn written_value(value: &Json) -> String {
    match value {
        Json::Bool(true) => "1".into(),
        Json::Bool(false) => "0".into(),
        Json::String(text) => match text.to_lowercase().as_str() {
            "yes" | "on" | "true" | "y" | "t" | "1" => "1".into(),
            "no" | "off" | "false" | "n" | "f" | "0" => "0".into(),
            _ => text.trim().to_string(),
        },
        other => other.to_string(),
    }
}

/// The file's lines with the parameter set (or dropped), a later line of
/// the same key dropped, and every `key = value` line written `key=value`.
fn fixed_lines(lines: &[String], name: &str, value: Option<&str>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in lines {
        let trimmed = line.trim();
        let Some((key, old)) = trimmed
            .split_once('=')
            .filter(|_| !trimmed.starts_with(['#', ';']))
        else {
            out.push(trimmed.to_string());
            continue;
        };
        let key = key.trim();
        if seen.iter().any(|k| k == key) {
            continue;
        }
        seen.push(key.to_string());
        if key == name {
            if let Some(value) = value {
                out.push(format!("{key}={value}"));
            }
        } else {
            out.push(format!("{key}={}", old.trim()));
        }
    }
    if let Some(value) = value
        && !seen.iter().any(|k| k == name)
    {
        out.push(format!("{name}={value}"));
    }
    out
}

/// The value the file gives `name` (its last line of that key).
fn file_value(lines: &[String], name: &str) -> Option<String> {
    lines
        .iter()
        .rev()
        .map(|l| l.trim())
        .filter(|l| !l.starts_with(['#', ';']))
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Whether two values hold the same words (the kernel prints tabs).
fn same_words(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

fn sysctl(ctx: &Context, script: &str, args: &[&str]) -> Result<(i32, String), Error> {
    let mut argv = vec!["sh", "-c", script, "capstan-sysctl"];
    argv.extend_from_slice(args);
    let out = Command::new(argv).run(&ctx.target)?;
    let code = out.exit_code.unwrap_or(-1);
    if code == 127 {
        return Err(Error::msg(format!(
            "Failed to find required executable \"sysctl\" on {}",
            ctx.target
        )));
    }
    Ok((code, format!("{}{}", out.stdout_text(), out.stderr_text())))
}

/// `sysctl` can exit 0 and still have failed to set a key.
fn stderr_failed(text: &str) -> bool {
    text.lines().any(|l| {
        l.starts_with("sysctl: setting key \"")
            && (l.ends_with(": Invalid argument") || l.ends_with(": Read-only file system"))
    })
}

/// Brings the parameter to the wanted value in the file (and the kernel).
pub fn apply(p: SysctlParams, ctx: &Context) -> Result<Outcome, Error> {
    let name = p.name.trim().to_string();
    if name.is_empty() {
        return Err(Error::msg("name cannot be blank"));
    }
    if name.starts_with('-') || name.contains(|c: char| c.is_whitespace() || c == '=') {
        return Err(Error::msg(format!(
            "`{name}` is not a sysctl parameter name"
        )));
    }
    let present = p.state != Some(Presence::Absent);
    let value = p.value.as_ref().map(written_value);
    let value = match (present, value) {
        (true, None) => return Err(Error::msg("value cannot be None")),
        (true, Some(v)) if v.is_empty() => return Err(Error::msg("value cannot be blank")),
        (_, Some(v)) if v.contains(['\n', '\r']) => {
            return Err(Error::msg("value must be one line"));
        }
        (_, v) => v,
    };
    let file = p
        .sysctl_file
        .clone()
        .unwrap_or_else(|| "/etc/sysctl.conf".into());
    let reload = p.reload.unwrap_or(true);
    let (code, running) = sysctl(ctx, &format!("{PATH}exec sysctl -e -n \"$1\""), &[&name])?;
    let running = (code == 0).then(|| running.trim_end_matches('\n').to_string());
    let text = remote::read_if_present(&ctx.target, &file)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<String> = text.lines().map(String::from).collect();
    let in_file = file_value(&lines, &name);
    let wanted = if present { value.as_deref() } else { None };
    let running_differs = |v: &str| running.as_deref().is_none_or(|r| !same_words(r, v));
    let mut changed = false;
    let mut write = false;
    let mut set_now = false;
    match (&in_file, wanted) {
        (None, Some(_)) => (changed, write) = (true, true),
        (None, None) => {}
        (Some(_), None) => (changed, write) = (true, true),
        (Some(old), Some(v)) if old != v => (changed, write) = (true, true),
        (Some(_), Some(v)) => changed = reload && running_differs(v),
    }
    if p.sysctl_set
        && let Some(v) = wanted
        && running_differs(v)
    {
        changed = true;
        set_now = running.is_some();
    }
    let after = {
        let fixed = fixed_lines(&lines, &name, wanted);
        let mut joined = fixed.join("\n");
        joined.push('\n');
        joined
    };
    if !ctx.check {
        let e = if p.ignoreerrors { "-e" } else { "" };
        if let (true, Some(v)) = (set_now, wanted) {
            let (code, said) = sysctl(
                ctx,
                &format!("{PATH}exec sysctl $2 -w \"$1\""),
                &[&format!("{name}={v}"), e],
            )?;
            if code != 0 || stderr_failed(&said) {
                return Err(Error::msg(format!(
                    "setting {name} failed: {}",
                    said.trim()
                )));
            }
        }
        if write {
            remote::write_file(&ctx.target, &file, after.as_bytes(), None)?;
        }
        if changed && reload {
            let (code, said) =
                sysctl(ctx, &format!("{PATH}exec sysctl $2 -p \"$1\""), &[&file, e])?;
            if code != 0 || stderr_failed(&said) {
                return Err(Error::msg(format!(
                    "Failed to reload sysctl: {}",
                    said.trim()
                )));
            }
        }
    }
    let data = json!({"name": name, "value": value, "changed": changed, "sysctl_file": file});
    if !changed {
        return Ok(Outcome::ok(format!("{name} as asked")).with_data(data));
    }
    let mut outcome = Outcome::changed(format!("{name} in {file}")).with_data(data);
    if ctx.diff && write {
        outcome = outcome.with_diff(diff::unified(&file, &text, &after));
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    #[test]
    fn the_key_is_set_in_place_appended_or_dropped() {
        let file = lines("# comment\nkernel.a = 1\nnet.b=2\nkernel.a=3\n");
        assert_eq!(
            fixed_lines(&file, "net.b", Some("5")),
            ["# comment", "kernel.a=1", "net.b=5"]
        );
        assert_eq!(
            fixed_lines(&file, "vm.c", Some("7")),
            ["# comment", "kernel.a=1", "net.b=2", "vm.c=7"]
        );
        assert_eq!(
            fixed_lines(&file, "net.b", None),
            ["# comment", "kernel.a=1"]
        );
        assert_eq!(file_value(&file, "kernel.a").as_deref(), Some("3"));
        assert_eq!(file_value(&file, "vm.c"), None);
    }

    #[test]
    fn values_are_written_as_the_kernel_reads_them() {
        assert_eq!(written_value(&json!(true)), "1");
        assert_eq!(written_value(&json!("no")), "0");
        assert_eq!(written_value(&json!(65536)), "65536");
        assert_eq!(written_value(&json!(" 4096 87380 ")), "4096 87380");
        assert!(same_words("4096\t87380", "4096 87380"));
        assert!(!same_words("1", "1 2"));
    }
}
