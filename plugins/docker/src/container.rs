//! `docker_container`: a container with the wanted image, command, env,
//! ports, volumes, network, labels and restart policy, in the wanted state.
//! A container whose spec differs is recreated, as community.docker does.

use std::collections::BTreeMap;

use capstan_plugin_sdk::JsonSchema;
use capstan_plugin_sdk::docker::{self, ContainerOp, ObjectKind};
use capstan_plugin_sdk::{Context, Error, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::{argv, changed, check_name, env_list, string_map};

/// Parameters, named as community.docker.docker_container names them.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The container's name.
    name: String,
    /// Image to run (must be on the host: build or load it with docker_image).
    image: Option<String>,
    /// Command (string or list).
    #[serde(default)]
    #[schemars(schema_with = "crate::common::command_schema")]
    command: Option<Value>,
    /// Entrypoint (string or list).
    #[serde(default)]
    #[schemars(schema_with = "crate::common::command_schema")]
    entrypoint: Option<Value>,
    /// Environment variables: a mapping, or a list of KEY=value.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::string_map_schema")]
    env: Option<Value>,
    /// Published ports, each [ip:]host:container[/proto] (Ansible's alias: ports).
    published_ports: Option<Vec<String>>,
    /// Bind mounts and volumes, each source:target[:ro].
    volumes: Option<Vec<String>>,
    /// Networks to attach (one for now): names, or {name, aliases}.
    networks: Option<Vec<NetworkRef>>,
    /// Labels: a mapping, or a list of key=value.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::string_map_schema")]
    labels: Option<Value>,
    /// When the engine restarts the container.
    restart_policy: Option<RestartPolicy>,
    /// The container's host name.
    hostname: Option<String>,
    /// User (and group) the command runs as.
    user: Option<String>,
    /// Working directory of the command.
    working_dir: Option<String>,
    /// Kernel capabilities to add (cap_add).
    capabilities: Option<Vec<String>>,
    /// Security options (security_opt).
    security_opts: Option<Vec<String>>,
    /// Run with every device and capability.
    privileged: Option<bool>,
    /// The wanted state (default: started).
    #[serde(default)]
    state: ContainerState,
    /// Recreate even when the spec is the same.
    #[serde(default)]
    recreate: bool,
    /// Restart a running container.
    #[serde(default)]
    restart: bool,
    /// Seconds between SIGTERM and SIGKILL when stopping.
    stop_timeout: Option<u32>,
}

/// The state a container should be in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum ContainerState {
    /// Created and running (the default).
    #[default]
    Started,
    /// Created and stopped.
    Stopped,
    /// Created, running or not.
    Present,
    /// Removed.
    Absent,
}

/// The engine's restart policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum RestartPolicy {
    /// Never restart.
    No,
    /// Always restart.
    Always,
    /// Restart when the command exits with an error.
    OnFailure,
    /// Always, unless stopped by hand.
    UnlessStopped,
}

impl RestartPolicy {
    fn name(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::Always => "always",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }
}

/// A network to attach: its name, or its name with aliases.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum NetworkRef {
    /// Just the network's name.
    Name(String),
    /// A network with aliases for the container on it.
    WithAliases(NetworkAttach),
}

/// A network with aliases.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NetworkAttach {
    /// The network's name.
    name: String,
    /// Other names the container answers to on it.
    #[serde(default)]
    aliases: Vec<String>,
}

/// What this task controls, in the engine's words: the create body, and
/// the same fields as an inspected container shows them.
struct Wanted {
    body: Value,
    comparable: Value,
}

/// Applies the parameters on one target.
pub fn apply(params: Params, ctx: &Context) -> Result<Outcome, Error> {
    check_name(&params.name, "container")?;
    let target = ctx.target.as_str();
    let current = docker::inspect(target, ObjectKind::Container, &params.name)?;
    if params.state == ContainerState::Absent {
        return absent(&params, ctx, current);
    }
    let wanted = match &params.image {
        Some(image) => Some(wanted(&params, image, target)?),
        None => None,
    };
    let Some(current) = current else {
        let Some(wanted) = wanted else {
            return Err(Error::InvalidParams(format!(
                "container `{}` does not exist: give `image` to create it",
                params.name
            )));
        };
        return create(&params, ctx, &wanted, None);
    };
    let running = current["State"]["Running"].as_bool().unwrap_or(false);
    if let Some(wanted) = &wanted {
        let have = comparable_of(&current);
        if params.recreate || !crate::common::contains(&have, &wanted.comparable) {
            return create(&params, ctx, wanted, Some(&current));
        }
    }
    let op = match params.state {
        ContainerState::Started if !running => Some((ContainerOp::Start, "start")),
        ContainerState::Started if params.restart => Some((ContainerOp::Restart, "restart")),
        ContainerState::Stopped if running => Some((ContainerOp::Stop, "stop")),
        _ => None,
    };
    let data = json!({ "container": current });
    match op {
        None => Ok(Outcome::ok(format!(
            "container {} is {}",
            params.name,
            state_word(running)
        ))
        .with_data(data)),
        Some((op, word)) => {
            if !ctx.check {
                docker::container(target, &params.name, op, params.stop_timeout)?;
            }
            let before = json!({ "running": running });
            let after = json!({ "running": op != ContainerOp::Stop });
            Ok(changed(
                ctx,
                &params.name,
                format!("{word} container {}", params.name),
                &before,
                &after,
            )
            .with_data(data))
        }
    }
}

fn state_word(running: bool) -> &'static str {
    if running { "running" } else { "stopped" }
}

fn absent(params: &Params, ctx: &Context, current: Option<Value>) -> Result<Outcome, Error> {
    let Some(current) = current else {
        return Ok(Outcome::ok(format!("container {} is absent", params.name)));
    };
    if !ctx.check {
        docker::remove(&ctx.target, ObjectKind::Container, &params.name, true)?;
    }
    let before = json!({
        "Name": params.name,
        "Image": current["Config"]["Image"],
        "Running": current["State"]["Running"],
    });
    Ok(changed(
        ctx,
        &params.name,
        format!("remove container {}", params.name),
        &before,
        &Value::Null,
    ))
}

/// Creates (or recreates) the container, then starts it when wanted. A new
/// container that cannot start is removed again, so nothing half-made stays.
fn create(
    params: &Params,
    ctx: &Context,
    wanted: &Wanted,
    current: Option<&Value>,
) -> Result<Outcome, Error> {
    let target = ctx.target.as_str();
    let before = current
        .map(comparable_of)
        .map(|c| crate::common::project(&c, &wanted.comparable));
    let verb = if current.is_some() {
        "recreate"
    } else {
        "create"
    };
    let summary = format!("{verb} container {}", params.name);
    if ctx.check {
        return Ok(changed(
            ctx,
            &params.name,
            summary,
            &before.unwrap_or(Value::Null),
            &wanted.comparable,
        ));
    }
    if current.is_some() {
        docker::remove(target, ObjectKind::Container, &params.name, true)?;
    }
    docker::create(target, ObjectKind::Container, &params.name, &wanted.body)?;
    if params.state == ContainerState::Started
        && let Err(e) = docker::container(target, &params.name, ContainerOp::Start, None)
    {
        let cleanup = docker::remove(target, ObjectKind::Container, &params.name, true);
        let rolled_back = match cleanup {
            Ok(()) => "it was removed again".to_string(),
            Err(c) => format!("it could not be removed ({c}): remove it by hand"),
        };
        return Err(Error::msg(format!(
            "container {} was created but did not start: {e}; {rolled_back}",
            params.name
        )));
    }
    let inspected = docker::inspect(target, ObjectKind::Container, &params.name)?;
    let outcome = changed(
        ctx,
        &params.name,
        summary,
        &before.unwrap_or(Value::Null),
        &wanted.comparable,
    );
    Ok(outcome.with_data(json!({ "container": inspected })))
}

fn wanted(params: &Params, image: &str, target: &str) -> Result<Wanted, Error> {
    let Some(image_info) = docker::inspect(target, ObjectKind::Image, image)? else {
        return Err(Error::msg(format!(
            "image `{image}` is not on {target}, and Capstan pulls from no registry: build or \
             load it first (docker_image with source: build or load)"
        )));
    };
    let image_id = image_info["Id"].as_str().unwrap_or_default().to_string();
    let cmd = argv(params.command.as_ref(), "command")?;
    let entrypoint = argv(params.entrypoint.as_ref(), "entrypoint")?;
    let env = env_list(params.env.as_ref(), "env")?;
    let labels = string_map(params.labels.as_ref(), "labels")?;
    let (exposed, bindings) = ports(params.published_ports.as_deref().unwrap_or_default())?;
    let binds = params.volumes.clone().unwrap_or_default();
    for bind in &binds {
        check_bind(bind)?;
    }
    let networks = networks(params.networks.as_deref().unwrap_or_default());
    if networks.len() > 1 {
        return Err(Error::InvalidParams(
            "networks: one network per container for now (engines before API 1.44 connect only one at creation)".into(),
        ));
    }
    let restart = params.restart_policy.map_or("no", RestartPolicy::name);

    let mut config = Map::new();
    config.insert("Image".into(), json!(image));
    if let Some(cmd) = &cmd {
        config.insert("Cmd".into(), json!(cmd));
    }
    if let Some(entrypoint) = &entrypoint {
        config.insert("Entrypoint".into(), json!(entrypoint));
    }
    if !env.is_empty() {
        config.insert("Env".into(), json!(env));
    }
    if !labels.is_empty() {
        config.insert("Labels".into(), Value::Object(labels.clone()));
    }
    for (key, value) in [
        ("Hostname", &params.hostname),
        ("User", &params.user),
        ("WorkingDir", &params.working_dir),
    ] {
        if let Some(value) = value {
            config.insert(key.into(), json!(value));
        }
    }
    if !exposed.is_empty() {
        config.insert("ExposedPorts".into(), Value::Object(exposed));
    }
    let mut host_config = json!({
        "PortBindings": bindings,
        "Binds": binds,
        "RestartPolicy": { "Name": restart },
    });
    let optional = |present: bool, value: Value| if present { value } else { Value::Null };
    host_config["CapAdd"] = optional(params.capabilities.is_some(), json!(params.capabilities));
    host_config["SecurityOpt"] =
        optional(params.security_opts.is_some(), json!(params.security_opts));
    host_config["Privileged"] = optional(params.privileged.is_some(), json!(params.privileged));
    let mut body = Value::Object(config.clone());
    if let Some((name, aliases)) = networks.first() {
        host_config["NetworkMode"] = json!(name);
        body["NetworkingConfig"] = json!({ "EndpointsConfig": { name: { "Aliases": aliases } } });
    }
    body["HostConfig"] = host_config;

    // The same fields as `docker inspect` shows them, for comparing; what
    // the task does not set stays null and is not compared.
    let given = |present: bool, value: Value| if present { value } else { Value::Null };
    let restart_name = if restart == "no" { "" } else { restart };
    let mut comparable = json!({
        "Image": image_id,
        "Config": {},
        "HostConfig": {
            "PortBindings": given(params.published_ports.is_some(), bindings),
            "Binds": given(params.volumes.is_some(), json!(params.volumes)),
            "RestartPolicy": given(params.restart_policy.is_some(), json!({ "Name": restart_name })),
            "CapAdd": given(params.capabilities.is_some(), json!(params.capabilities)),
            "SecurityOpt": given(params.security_opts.is_some(), json!(params.security_opts)),
            "Privileged": given(params.privileged.is_some(), json!(params.privileged)),
        },
    });
    let c = &mut comparable["Config"];
    if let Some(cmd) = cmd {
        c["Cmd"] = json!(cmd);
    }
    if let Some(entrypoint) = entrypoint {
        c["Entrypoint"] = json!(entrypoint);
    }
    if params.env.is_some() {
        // The container's env is the image's, overridden by the task's.
        c["Env"] = json!(sorted(merge_env(&image_info["Config"]["Env"], &env)));
    }
    if params.labels.is_some() {
        let mut all = image_info["Config"]["Labels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        all.extend(labels);
        c["Labels"] = Value::Object(all);
    }
    for (key, value) in [
        ("Hostname", &params.hostname),
        ("User", &params.user),
        ("WorkingDir", &params.working_dir),
    ] {
        if let Some(value) = value {
            c[key] = json!(value);
        }
    }
    if let Some((name, _)) = networks.first() {
        comparable["NetworkSettings"] = json!({ "Networks": { name: {} } });
    }
    Ok(Wanted { body, comparable })
}

/// An inspected container's fields in the shape `wanted` compares: env as
/// only the wanted keys would see it (the image adds its own).
fn comparable_of(current: &Value) -> Value {
    let mut c = current.clone();
    if let Some(env) = c["Config"]["Env"].as_array() {
        let lines = env
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        c["Config"]["Env"] = json!(sorted(lines));
    }
    let restart = c["HostConfig"]["RestartPolicy"]["Name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    c["HostConfig"]["RestartPolicy"]["Name"] = json!(if restart == "no" {
        ""
    } else {
        restart.as_str()
    });
    c
}

fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

/// The image's `KEY=value` lines with the task's replacing same-named ones.
fn merge_env(image_env: &Value, task_env: &[String]) -> Vec<String> {
    let key = |line: &str| line.split('=').next().unwrap_or("").to_string();
    let task_keys: Vec<String> = task_env.iter().map(|l| key(l)).collect();
    let mut merged: Vec<String> = image_env
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .filter(|line| !task_keys.contains(&key(line)))
        .map(String::from)
        .collect();
    merged.extend(task_env.iter().cloned());
    merged
}

/// `[ip:]host:container[/proto]` → ExposedPorts and PortBindings.
fn ports(specs: &[String]) -> Result<(Map<String, Value>, Value), Error> {
    let mut exposed = Map::new();
    let mut bindings: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for spec in specs {
        let bad = || {
            Error::InvalidParams(format!(
                "published_ports: `{spec}` is not [ip:]host_port:container_port[/tcp|udp]"
            ))
        };
        let (addr, proto) = match spec.rsplit_once('/') {
            Some((a, p)) if matches!(p, "tcp" | "udp" | "sctp") => (a, p),
            Some(_) => return Err(bad()),
            None => (spec.as_str(), "tcp"),
        };
        let parts: Vec<&str> = addr.split(':').collect();
        let (ip, host, container) = match parts.as_slice() {
            [c] => ("", "", *c),
            [h, c] => ("", *h, *c),
            [i, h, c] => (*i, *h, *c),
            _ => return Err(bad()),
        };
        let valid_port = |p: &str| p.parse::<u16>().is_ok_and(|n| n > 0);
        if !valid_port(container) || !(host.is_empty() || valid_port(host)) {
            return Err(bad());
        }
        let key = format!("{container}/{proto}");
        exposed.insert(key.clone(), json!({}));
        bindings
            .entry(key)
            .or_default()
            .push(json!({ "HostIp": ip, "HostPort": host }));
    }
    Ok((exposed, json!(bindings)))
}

fn check_bind(bind: &str) -> Result<(), Error> {
    let parts: Vec<&str> = bind.split(':').collect();
    let ok = matches!(parts.len(), 2 | 3)
        && !parts[0].is_empty()
        && parts[1].starts_with('/')
        && parts
            .get(2)
            .is_none_or(|m| m.split(',').all(|o| matches!(o, "ro" | "rw" | "z" | "Z")));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParams(format!(
            "volumes: `{bind}` is not source:/container/path[:ro|rw]"
        )))
    }
}

fn networks(items: &[NetworkRef]) -> Vec<(String, Vec<String>)> {
    items
        .iter()
        .map(|item| match item {
            NetworkRef::Name(name) => (name.clone(), Vec::new()),
            NetworkRef::WithAliases(attach) => (attach.name.clone(), attach.aliases.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema is the struct's: its fields, what is required, the
    /// states as words, and the loose fields' shapes from `common`.
    #[test]
    fn the_schema_is_derived_from_the_params() {
        let schema = capstan_plugin_sdk::params_schema::<Params>();
        let fields = schema["properties"].as_object().unwrap();
        assert!(fields.contains_key("published_ports") && !fields.contains_key("ports"));
        assert_eq!(schema["required"], json!(["name"]));
        assert_eq!(schema["additionalProperties"], json!(false));
        let states: Vec<&Value> = fields["state"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|shape| &shape["const"])
            .collect();
        assert_eq!(
            json!(states),
            json!(["started", "stopped", "present", "absent"])
        );
        assert_eq!(fields["env"]["anyOf"][0]["type"], json!("object"));
        assert_eq!(fields["command"]["anyOf"][1]["type"], json!("array"));
        assert_eq!(
            fields["image"]["description"],
            json!("Image to run (must be on the host: build or load it with docker_image).")
        );
        let networks = &fields["networks"]["items"]["anyOf"];
        assert_eq!(networks[0]["type"], json!("string"));
        assert_eq!(networks[1]["required"], json!(["name"]));
    }

    #[test]
    fn ports_parse_every_form_and_refuse_nonsense() {
        let (exposed, bindings) = ports(&[
            "8080:80".into(),
            "127.0.0.1:53:53/udp".into(),
            "9000".into(),
        ])
        .unwrap();
        assert!(exposed.contains_key("80/tcp") && exposed.contains_key("53/udp"));
        assert_eq!(bindings["80/tcp"][0]["HostPort"], "8080");
        assert_eq!(bindings["53/udp"][0]["HostIp"], "127.0.0.1");
        for bad in ["x:80", "80:99999", "1:2:3:4", "80/icmp"] {
            assert!(ports(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn binds_need_an_absolute_container_path() {
        assert!(check_bind("/srv:/data:ro").is_ok());
        assert!(check_bind("cache:/cache").is_ok());
        assert!(check_bind("/srv").is_err());
        assert!(check_bind("/srv:data").is_err());
    }
}
