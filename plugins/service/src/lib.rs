//! Ansible's `service` module: start, stop, restart or reload a service
//! and enable or disable it at boot — through systemd when the target runs
//! it, else through the init scripts (`service`, `update-rc.d`).

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{
    Action, Context, Error, Manifest, Outcome, Plugin, Request, register_plugin,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceParams {
    name: String,
    state: Option<String>,
    enabled: Option<bool>,
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
        Manifest::new("service", env!("CARGO_PKG_VERSION"), "Start, stop, restart and enable services.")
            .capability("remote.exec")
            .capability("local")
            .action(Action::new("apply", "Bring a service to the wanted state.").params_schema(serde_json::json!({
                "type": "object",
                "properties": {
                    "name": { "type": "string", "description": "The service (systemd unit or init script)." },
                    "state": { "enum": ["started", "stopped", "restarted", "reloaded"], "description": "What it should do now." },
                    "enabled": { "type": "boolean", "description": "Whether it starts at boot." }
                },
                "required": ["name"],
                "additionalProperties": false
            })))
    }

    fn run(request: Request, ctx: &Context) -> Result<Outcome, Error> {
        match request.action.as_str() {
            "apply" => apply(request.params()?, ctx),
            other => Err(Error::UnknownAction(other.into())),
        }
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
    match p.state.as_deref() {
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
    let state_now = match p.state.as_deref() {
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
