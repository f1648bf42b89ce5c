//! Ansible's `apt` module: packages present, absent or at their latest
//! version, with `update_cache` and `cache_valid_time`, through apt-get
//! and dpkg-query on the target. Check mode asks apt-get to simulate.
//! `repository` is Ansible's `apt_repository`, `key` its `apt_key`, `pip`
//! Ansible's `pip`.

mod key;
mod pip;
mod repository;

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, register_plugin,
};
use serde::Deserialize;

/// Parameters of `apply`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AptParams {
    /// Packages (`name` or `name=version`).
    #[serde(default)]
    name: Vec<String>,
    /// What the packages should be (default: present).
    state: Option<AptState>,
    /// Run apt-get update first.
    #[serde(default)]
    update_cache: bool,
    /// Skip the update when the cache is younger than this many seconds.
    cache_valid_time: Option<u64>,
}

/// What packages should be.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum AptState {
    Present,
    Absent,
    Latest,
}

impl AptState {
    fn name(self) -> &'static str {
        match self {
            AptState::Present => "present",
            AptState::Absent => "absent",
            AptState::Latest => "latest",
        }
    }
}

/// Whether a source line (or a key) should be there.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Presence {
    Present,
    Absent,
}

struct Apt;

impl Plugin for Apt {
    fn manifest() -> Manifest {
        Manifest::new(
            "apt",
            env!("CARGO_PKG_VERSION"),
            "Manage Debian packages with apt, and Python packages with pip.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::RemoteFiles)
        .capability(Capability::Local)
        .action(Action::new("apply", "Bring packages to the wanted state.").run(apply))
        .action(
            Action::new(
                "repository",
                "A source line in apt's lists (Ansible's apt_repository).",
            )
            .run(repository::repository),
        )
        .action(
            Action::new(
                "key",
                "A signing key in apt's keyring, through apt-key (Ansible's apt_key).",
            )
            .run(key::key),
        )
        .action(
            Action::new(
                "pip",
                "Python packages installed or removed by pip, in a virtualenv made when missing \
                 (Ansible's pip).",
            )
            .run(pip::pip),
        )
    }
}

/// Debian's package name rules, with an optional `=version`.
fn check_name(spec: &str) -> Result<(), Error> {
    let (name, version) = spec.split_once('=').unwrap_or((spec, ""));
    let name_ok = name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.:".contains(c));
    let version_ok = version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".+-:~".contains(c));
    if name_ok && version_ok {
        Ok(())
    } else {
        Err(Error::InvalidParams(format!(
            "`{spec}` is not a valid package name"
        )))
    }
}

/// Installed version of each package (`None` when not installed).
fn installed(ctx: &Context, names: &[&str]) -> Result<Vec<Option<String>>, Error> {
    let mut argv = vec![
        "dpkg-query",
        "-W",
        "-f=${Package}\t${Status}\t${Version}\n",
        "--",
    ];
    argv.extend(names.iter().copied());
    let out = Command::new(argv).run(&ctx.target)?;
    let text = out.stdout_text();
    Ok(names
        .iter()
        .map(|name| {
            text.lines()
                .map(|l| l.split('\t').collect::<Vec<_>>())
                .find(|f| {
                    f.first() == Some(name) && f.get(1).is_some_and(|s| s.ends_with(" installed"))
                })
                .and_then(|f| f.get(2).map(|v| v.to_string()))
        })
        .collect())
}

/// The version apt would install now.
fn candidate(ctx: &Context, name: &str) -> Result<Option<String>, Error> {
    let out = Command::new(["apt-cache", "policy", "--", name]).run(&ctx.target)?;
    Ok(out
        .stdout_text()
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Candidate:")
                .map(|v| v.trim().to_string())
        })
        .filter(|v| v != "(none)"))
}

/// Wait for another apt or dpkg (unattended upgrades, say) instead of
/// failing at once, as Ansible's `lock_timeout` does (60 s).
const LOCK_TIMEOUT: &str = "DPkg::Lock::Timeout=60";

fn apt_get(ctx: &Context, args: &[&str]) -> Result<String, Error> {
    let mut argv = vec![
        "apt-get",
        "-y",
        "-q",
        "-o",
        "Dpkg::Options::=--force-confold",
        "-o",
        LOCK_TIMEOUT,
    ];
    if ctx.check {
        argv.push("-s");
    }
    argv.extend_from_slice(args);
    let out = Command::new(argv.iter().copied())
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run(&ctx.target)?;
    if !out.success() {
        let stderr = out.stderr_text();
        let why = stderr
            .lines()
            .filter(|l| l.starts_with("E:"))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(Error::msg(format!(
            "`{}` failed: {}",
            argv.join(" "),
            if why.is_empty() {
                stderr.trim().to_string()
            } else {
                why
            }
        )));
    }
    Ok(out.stdout_text())
}

/// `apt-get update`.
fn update_cache(ctx: &Context) -> Result<(), Error> {
    let out = Command::new(["apt-get", "update", "-q", "-o", LOCK_TIMEOUT])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run(&ctx.target)?;
    if out.success() {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "apt-get update failed: {}",
            out.stderr_text().trim()
        )))
    }
}

/// Seconds since apt's lists were last updated, if known.
fn cache_age(ctx: &Context) -> Result<Option<u64>, Error> {
    let out = Command::new([
        "sh",
        "-c",
        "now=$(date +%s); t=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || stat -c %Y /var/lib/apt/lists 2>/dev/null) && echo $((now - t))",
    ])
    .run(&ctx.target)?;
    Ok(out.stdout_text().trim().parse().ok())
}

fn apply(p: AptParams, ctx: &Context) -> Result<Outcome, Error> {
    for spec in &p.name {
        check_name(spec)?;
    }
    let state = p.state.map_or("present", AptState::name);
    let mut done: Vec<String> = Vec::new();
    let mut cache_updated = false;
    if p.update_cache {
        let fresh = match p.cache_valid_time {
            Some(valid) => cache_age(ctx)?.is_some_and(|age| age < valid),
            None => false,
        };
        if !fresh {
            if !ctx.check {
                update_cache(ctx)?;
            }
            cache_updated = true;
        }
    }
    let names: Vec<&str> = p
        .name
        .iter()
        .map(|s| s.split('=').next().unwrap_or(s))
        .collect();
    let versions = if names.is_empty() {
        Vec::new()
    } else {
        installed(ctx, &names)?
    };
    let mut to_install: Vec<&str> = Vec::new();
    let mut to_remove: Vec<&str> = Vec::new();
    for ((spec, name), version) in p.name.iter().zip(&names).zip(&versions) {
        match state {
            "absent" if version.is_some() => to_remove.push(name),
            "present" => {
                let wanted = spec.split_once('=').map(|(_, v)| v);
                let ok = match (version, wanted) {
                    (Some(have), Some(want)) => have == want,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if !ok {
                    to_install.push(spec);
                }
            }
            "latest" if version.is_none() || candidate(ctx, name)? != *version => {
                to_install.push(spec)
            }
            _ => {}
        }
    }
    if !to_install.is_empty() {
        let mut args = vec!["install", "--no-install-recommends", "--"];
        args.extend(to_install.iter().copied());
        apt_get(ctx, &args)?;
        done.push(format!("installed {}", to_install.join(", ")));
    }
    if !to_remove.is_empty() {
        let mut args = vec!["remove", "--"];
        args.extend(to_remove.iter().copied());
        apt_get(ctx, &args)?;
        done.push(format!("removed {}", to_remove.join(", ")));
    }
    let data = serde_json::json!({
        "cache_updated": cache_updated,
        "installed": to_install,
        "removed": to_remove,
    });
    if done.is_empty() {
        if cache_updated {
            return Ok(
                Outcome::changed("updated the package cache; packages as wanted").with_data(data),
            );
        }
        let summary = if names.is_empty() {
            "nothing to do".to_string()
        } else {
            format!("{} already {state}", names.join(", "))
        };
        return Ok(Outcome::ok(summary).with_data(data));
    }
    Ok(Outcome::changed(done.join("; ")).with_data(data))
}

register_plugin!(Apt);

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn package_names_are_checked() {
        assert!(check_name("nginx").is_ok());
        assert!(check_name("libc6=2.36-9").is_ok());
        assert!(check_name("g++").is_ok());
        assert!(check_name("-rf").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("Nginx").is_err());
        assert!(check_name("x;rm").is_err());
    }
}
