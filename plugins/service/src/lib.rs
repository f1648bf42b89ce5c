//! Ansible's `service` module: start, stop, restart or reload a service
//! and enable or disable it at boot — through systemd when the target runs
//! it, else through the init scripts (`service`, `update-rc.d`).

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, register_plugin,
};
use serde::Deserialize;

/// Parameters of `apply`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ServiceParams {
    /// The service (systemd unit or init script).
    name: String,
    /// What it should do now.
    state: Option<ServiceState>,
    /// Whether it starts at boot.
    enabled: Option<bool>,
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

/// Reports the init system, whether the service runs, whether it starts at boot.
const PROBE: &str = r#"name=$1
if [ -d /run/systemd/system ]; then
    echo systemd
    systemctl cat -- "$name" >/dev/null 2>&1 || { echo missing; exit 0; }
    systemctl is-active --quiet -- "$name" && echo running || echo stopped
    systemctl is-enabled --quiet -- "$name" 2>/dev/null && echo enabled || echo disabled
else
    echo sysv
    [ -x "/etc/init.d/$name" ] || { echo missing; exit 0; }
    service "$name" status >/dev/null 2>&1 && echo running || echo stopped
    ls /etc/rc[2345].d/S[0-9][0-9]"$name" >/dev/null 2>&1 && echo enabled || echo disabled
fi"#;

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
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParams(format!(
            "`{name}` is not a valid service name"
        )))
    }
}

fn run(ctx: &Context, argv: &[&str]) -> Result<(), Error> {
    Command::new(argv.iter().copied()).run_checked(&ctx.target)?;
    Ok(())
}

fn apply(p: ServiceParams, ctx: &Context) -> Result<Outcome, Error> {
    valid_name(&p.name)?;
    if p.state.is_none() && p.enabled.is_none() {
        return Err(Error::InvalidParams(
            "give `state`, `enabled` or both".into(),
        ));
    }
    let probe =
        Command::new(["sh", "-c", PROBE, "capstan-service", p.name.as_str()]).run(&ctx.target)?;
    let text = probe.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    let systemd = lines.first() == Some(&"systemd");
    if lines.get(1) == Some(&"missing") {
        return Err(Error::msg(format!(
            "could not find the requested service {}",
            p.name
        )));
    }
    let running = lines.get(1) == Some(&"running");
    let enabled = lines.get(2) == Some(&"enabled");
    let name = p.name.as_str();
    let control = |verb: &str| -> Vec<String> {
        if systemd {
            vec!["systemctl".into(), verb.into(), "--".into(), name.into()]
        } else {
            vec!["service".into(), name.into(), verb.into()]
        }
    };
    let mut steps: Vec<Vec<String>> = Vec::new();
    match p.state.map(ServiceState::name) {
        Some("started") if !running => steps.push(control("start")),
        Some("stopped") if running => steps.push(control("stop")),
        Some("restarted") => steps.push(control("restart")),
        Some("reloaded") => steps.push(control(if running { "reload" } else { "start" })),
        _ => {}
    }
    if let Some(want) = p.enabled
        && want != enabled
    {
        steps.push(match (systemd, want) {
            (true, true) => vec![
                "systemctl".into(),
                "enable".into(),
                "--".into(),
                name.into(),
            ],
            (true, false) => vec![
                "systemctl".into(),
                "disable".into(),
                "--".into(),
                name.into(),
            ],
            (false, true) => vec!["update-rc.d".into(), name.into(), "defaults".into()],
            (false, false) => vec!["update-rc.d".into(), name.into(), "disable".into()],
        });
    }
    let state_now = match p.state.map(ServiceState::name) {
        Some("stopped") => "stopped",
        Some(_) => "started",
        None if running => "started",
        None => "stopped",
    };
    let data = serde_json::json!({
        "name": name,
        "state": state_now,
        "enabled": p.enabled.unwrap_or(enabled),
        "init": if systemd { "systemd" } else { "sysv" },
    });
    if steps.is_empty() {
        return Ok(Outcome::ok(format!("{name} is {state_now}")).with_data(data));
    }
    let shown: Vec<String> = steps.iter().map(|s| s.join(" ")).collect();
    if !ctx.check {
        for step in &steps {
            let argv: Vec<&str> = step.iter().map(String::as_str).collect();
            run(ctx, &argv)?;
        }
    }
    Ok(Outcome::changed(shown.join("; ")).with_data(data))
}

register_plugin!(Service);
