//! Ansible's `service` module: start, stop, restart or reload a service
//! and enable or disable it at boot — through systemd when the target runs
//! it, else through the init scripts (`service`, `update-rc.d`).

use capstan_plugin_sdk::remote::{self, Command};
use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, register_plugin,
};
use serde::Deserialize;

/// Parameters of `apply` (Ansible's `service` and `systemd`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ServiceParams {
    /// The service (systemd unit or init script); only `daemon_reload`
    /// and `daemon_reexec` go without one.
    name: Option<String>,
    /// What it should do now.
    state: Option<ServiceState>,
    /// Whether it starts at boot.
    enabled: Option<bool>,
    /// systemd: whether the unit is masked (cannot be started at all).
    masked: Option<bool>,
    /// systemd: `systemctl daemon-reload` first (unit files changed).
    #[serde(default)]
    daemon_reload: bool,
    /// systemd: `systemctl daemon-reexec` first.
    #[serde(default)]
    daemon_reexec: bool,
    /// systemd: `system` (default), `user` or `global` units.
    scope: Option<Scope>,
    /// systemd: do not wait for the job to finish (`--no-block`).
    #[serde(default)]
    no_block: bool,
    /// systemd: `--force` (enable over a conflicting link).
    #[serde(default)]
    force: bool,
}

/// Which systemd instance a unit belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Scope {
    System,
    User,
    Global,
}

/// What a service should do now.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum ServiceState {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

impl ServiceState {
    fn name(self) -> &'static str {
        match self {
            ServiceState::Started => "started",
            ServiceState::Stopped => "stopped",
            ServiceState::Restarted => "restarted",
            ServiceState::Reloaded => "reloaded",
        }
    }
}

/// Reports the init system, then for systemd the unit's `show`
/// properties, `--`, and `is-enabled`'s word and exit code; for init
/// scripts whether the service runs and starts at boot. `$2` holds
/// systemctl's scope option, if any.
const PROBE: &str = r#"name=$1; scope=$2
if [ -d /run/systemd/system ] || [ -n "$scope" ]; then
    echo systemd
    systemctl $scope show -p LoadState -p ActiveState -p SubState -p UnitFileState -p MainPID -- "$name" 2>/dev/null
    echo --
    word=$(systemctl $scope is-enabled -- "$name" 2>/dev/null); code=$?
    echo "$word"; echo "$code"
    [ -x "/etc/init.d/$name" ] && echo initd
    exit 0
fi
echo sysv
[ -x "/etc/init.d/$name" ] || { echo missing; exit 0; }
service "$name" status >/dev/null 2>&1 && echo running || echo stopped
ls /etc/rc[2345].d/S[0-9][0-9]"$name" >/dev/null 2>&1 && echo enabled || echo disabled"#;

/// What the probe found.
struct Found {
    systemd: bool,
    exists: bool,
    running: bool,
    enabled: bool,
    masked: bool,
    /// systemd's properties of the unit (`status` in the result).
    status: serde_json::Map<String, serde_json::Value>,
}

impl Found {
    fn read(text: &str) -> Found {
        let mut lines = text.lines();
        let systemd = lines.next() == Some("systemd");
        if !systemd {
            let state = lines.next();
            return Found {
                systemd,
                exists: state != Some("missing"),
                running: state == Some("running"),
                enabled: lines.next() == Some("enabled"),
                masked: false,
                status: serde_json::Map::new(),
            };
        }
        let mut status = serde_json::Map::new();
        for line in lines.by_ref() {
            if line == "--" {
                break;
            }
            if let Some((k, v)) = line.split_once('=') {
                status.insert(k.into(), v.into());
            }
        }
        let word = lines.next().unwrap_or_default().trim().to_string();
        let code = lines.next().unwrap_or_default().trim().to_string();
        let initd = lines.next() == Some("initd");
        let load = status
            .get("LoadState")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let active = status
            .get("ActiveState")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        Found {
            systemd,
            exists: initd || (!load.is_empty() && load != "not-found"),
            running: matches!(active, "active" | "activating"),
            enabled: code == "0"
                && !matches!(word.as_str(), "enabled-runtime" | "indirect" | "alias"),
            masked: word == "masked",
            status,
        }
    }
}

struct Service;

impl Plugin for Service {
    fn manifest() -> Manifest {
        Manifest::new(
            "service",
            env!("CARGO_PKG_VERSION"),
            "Start, stop, restart and enable services.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::Local)
        .action(Action::new("apply", "Bring a service to the wanted state.").run(apply))
    }
}

fn valid_name(name: &str) -> Result<(), Error> {
    if let Some(glob) = ['*', '?', '['].into_iter().find(|g| name.contains(*g)) {
        return Err(Error::InvalidParams(format!(
            "This module does not currently support using glob patterns, found '{glob}' in service name: {name}"
        )));
    }
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@:\\".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParams(format!(
            "`{name}` is not a valid service name"
        )))
    }
}

/// Runs `systemctl` with the call's options and then `args`.
fn systemctl(ctx: &Context, options: &[&str], args: &[&str]) -> Result<remote::ExecOutput, Error> {
    let mut argv = vec!["systemctl"];
    argv.extend_from_slice(options);
    argv.extend_from_slice(args);
    Ok(Command::new(argv).run(&ctx.target)?)
}

fn apply(p: ServiceParams, ctx: &Context) -> Result<Outcome, Error> {
    if p.state.is_none()
        && p.enabled.is_none()
        && p.masked.is_none()
        && !p.daemon_reload
        && !p.daemon_reexec
    {
        return Err(Error::InvalidParams(
            "one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec".into(),
        ));
    }
    let scope = match p.scope {
        Some(Scope::User) => Some("--user"),
        Some(Scope::Global) => Some("--global"),
        _ => None,
    };
    let mut options: Vec<&str> = scope.into_iter().collect();
    if p.no_block {
        options.push("--no-block");
    }
    if p.force {
        options.push("--force");
    }
    for (wanted, verb) in [
        (p.daemon_reload, "daemon-reload"),
        (p.daemon_reexec, "daemon-reexec"),
    ] {
        if wanted && !ctx.check {
            let out = systemctl(ctx, &options, &[verb])?;
            if !out.success() {
                return Err(Error::msg(format!(
                    "failure {} during {verb}: {}",
                    out.exit_code.unwrap_or(-1),
                    out.stderr_text().trim()
                )));
            }
        }
    }
    let Some(name) = p.name.as_deref() else {
        for (given, what) in [
            (p.state.is_some(), "state"),
            (p.enabled.is_some(), "enabled"),
            (p.masked.is_some(), "masked"),
        ] {
            if given {
                return Err(Error::InvalidParams(format!(
                    "missing parameter(s) required by '{what}': name"
                )));
            }
        }
        return Ok(Outcome::ok("systemd reloaded")
            .with_data(serde_json::json!({"name": null, "changed": false, "status": {}})));
    };
    valid_name(name)?;
    let probe = Command::new([
        "sh",
        "-c",
        PROBE,
        "capstan-service",
        name,
        scope.unwrap_or_default(),
    ])
    .run(&ctx.target)?;
    let found = Found::read(&probe.stdout_text());
    let missing = || Error::msg(format!("Could not find the requested service {name}: host"));
    let control = |verb: &str| -> Vec<String> {
        if found.systemd {
            let mut argv = vec!["systemctl".to_string()];
            argv.extend(options.iter().map(|o| o.to_string()));
            argv.extend([verb.to_string(), "--".into(), name.to_string()]);
            argv
        } else {
            vec!["service".into(), name.into(), verb.into()]
        }
    };
    // Each step: the verb (for the error) and the command.
    let mut steps: Vec<(&str, Vec<String>)> = Vec::new();
    if let Some(want) = p.masked {
        if !found.systemd {
            return Err(Error::msg(format!(
                "masked needs systemd, which {} does not run",
                ctx.target
            )));
        }
        if want != found.masked {
            let verb = if want { "mask" } else { "unmask" };
            steps.push((verb, control(verb)));
        }
    }
    if (p.enabled.is_some() || p.state.is_some()) && !found.exists {
        return Err(missing());
    }
    if let Some(want) = p.enabled
        && want != found.enabled
    {
        let verb = if want { "enable" } else { "disable" };
        steps.push((
            verb,
            match (found.systemd, want) {
                (true, _) => control(verb),
                (false, true) => vec!["update-rc.d".into(), name.into(), "defaults".into()],
                (false, false) => vec!["update-rc.d".into(), name.into(), "disable".into()],
            },
        ));
    }
    let verb = match p.state.map(ServiceState::name) {
        Some("started") if !found.running => Some("start"),
        Some("stopped") if found.running => Some("stop"),
        Some("restarted") => Some(if found.running { "restart" } else { "start" }),
        Some("reloaded") => Some(if found.running { "reload" } else { "start" }),
        _ => None,
    };
    if let Some(verb) = verb {
        steps.push((verb, control(verb)));
    }
    let state_now = match p.state.map(ServiceState::name) {
        Some("stopped") => "stopped",
        Some(_) => "started",
        None if found.running => "started",
        None => "stopped",
    };
    let mut data = serde_json::json!({
        "name": name,
        "state": state_now,
        "enabled": p.enabled.unwrap_or(found.enabled),
        "init": if found.systemd { "systemd" } else { "sysv" },
        "status": found.status,
        "changed": !steps.is_empty(),
    });
    if let Some(masked) = p.masked {
        data["masked"] = masked.into();
    }
    if steps.is_empty() {
        return Ok(Outcome::ok(format!("{name} is {state_now}")).with_data(data));
    }
    if !ctx.check {
        for (verb, argv) in &steps {
            let out = Command::new(argv.iter().map(String::as_str)).run(&ctx.target)?;
            if !out.success() {
                let said = format!("{}{}", out.stdout_text(), out.stderr_text());
                return Err(Error::msg(format!(
                    "Unable to {verb} service {name}: {}",
                    said.trim()
                )));
            }
        }
    }
    let shown: Vec<String> = steps.iter().map(|(_, argv)| argv.join(" ")).collect();
    Ok(Outcome::changed(shown.join("; ")).with_data(data))
}

register_plugin!(Service);
