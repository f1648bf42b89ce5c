//! `docker_swarm_service` (also `docker_service`): a swarm service with
//! replicas, published ports, env, networks, health check, and rolling
//! update and rollback settings. The spec is compared field by field with
//! the service's; an update hands the change to Swarm's own rolling update.

use capstan_plugin_sdk::JsonSchema;
use capstan_plugin_sdk::docker::{self, ObjectKind};
use capstan_plugin_sdk::{Context, Error, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::{
    Presence, argv, changed, check_name, contains, duration_ns, env_list, project, string_map,
};

/// A service as a task or a Compose file describes it.
#[derive(Deserialize, JsonSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ServiceDef {
    /// Service name.
    pub name: String,
    /// Image to run (present on every node that may run it).
    pub image: Option<String>,
    /// Replaces the image's entrypoint.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::command_schema")]
    pub command: Option<Value>,
    /// Replaces the image's command.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::command_schema")]
    pub args: Option<Value>,
    /// Environment.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::string_map_schema")]
    pub env: Option<Value>,
    /// `replicated` (default) or `global`.
    #[schemars(extend("enum" = ["replicated", "global"]))]
    pub mode: Option<String>,
    /// Replica count.
    pub replicas: Option<u64>,
    /// Published ports.
    pub publish: Option<Vec<PublishDef>>,
    /// Networks by name.
    pub networks: Option<Vec<String>>,
    /// Service labels.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::string_map_schema")]
    pub labels: Option<Value>,
    /// Container labels.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::string_map_schema")]
    pub container_labels: Option<Value>,
    /// `vip` or `dnsrr`.
    #[schemars(extend("enum" = ["vip", "dnsrr"]))]
    pub endpoint_mode: Option<String>,
    /// Rolling update settings.
    pub update_config: Option<UpdateDef>,
    /// Rollback settings.
    pub rollback_config: Option<UpdateDef>,
    /// Restart policy.
    pub restart_config: Option<RestartDef>,
    /// Health check.
    pub healthcheck: Option<HealthDef>,
    /// Placement constraints.
    pub placement: Option<PlacementDef>,
    /// Time between SIGTERM and SIGKILL.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::duration_schema")]
    pub stop_grace_period: Option<Value>,
    /// Whether the service should exist (default: present).
    pub state: Option<Presence>,
    /// Restart every task even when nothing changed.
    #[serde(default)]
    pub force_update: bool,
}

/// A published port.
#[derive(Deserialize, JsonSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct PublishDef {
    /// Port on the nodes.
    pub published_port: Option<u16>,
    /// Port in the container.
    pub target_port: u16,
    /// tcp (default), udp or sctp.
    #[schemars(extend("enum" = ["tcp", "udp", "sctp"]))]
    pub protocol: Option<String>,
    /// `ingress` (routing mesh, default) or `host`.
    #[schemars(extend("enum" = ["ingress", "host"]))]
    pub mode: Option<String>,
}

/// Rolling update or rollback settings.
#[derive(Deserialize, JsonSchema, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateDef {
    /// Tasks updated at once.
    pub parallelism: Option<u64>,
    /// Pause between batches.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::duration_schema")]
    pub delay: Option<Value>,
    /// `continue`, `pause` or `rollback`.
    #[schemars(extend("enum" = ["continue", "pause", "rollback"]))]
    pub failure_action: Option<String>,
    /// How long a new task is watched for failure.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::duration_schema")]
    pub monitor: Option<Value>,
    /// Failures tolerated, as a fraction.
    pub max_failure_ratio: Option<f64>,
    /// `stop-first` or `start-first`.
    #[schemars(extend("enum" = ["stop-first", "start-first"]))]
    pub order: Option<String>,
}

/// Restart policy.
#[derive(Deserialize, JsonSchema, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct RestartDef {
    /// `none`, `on-failure` or `any`.
    #[schemars(extend("enum" = ["none", "on-failure", "any"]))]
    pub condition: Option<String>,
    /// Wait between restarts.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::duration_schema")]
    pub delay: Option<Value>,
    /// Attempts before giving up.
    pub max_attempts: Option<u64>,
    /// Window attempts are counted in.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::duration_schema")]
    pub window: Option<Value>,
}

/// Health check.
#[derive(Deserialize, JsonSchema, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct HealthDef {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]`, `["NONE"]`, or a shell string.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::command_schema")]
    pub test: Option<Value>,
    /// Between checks.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::duration_schema")]
    pub interval: Option<Value>,
    /// One check's limit.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::duration_schema")]
    pub timeout: Option<Value>,
    /// Failures before unhealthy.
    pub retries: Option<u64>,
    /// Grace after start.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::duration_schema")]
    pub start_period: Option<Value>,
}

/// Placement.
#[derive(Deserialize, JsonSchema, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct PlacementDef {
    /// e.g. `node.role == worker`.
    pub constraints: Option<Vec<String>>,
}

/// Parameters of `scale`: like `docker service scale NAME=N`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleParams {
    /// The service (e.g. a stack's `web_app`).
    name: String,
    /// How many tasks it should run.
    replicas: u64,
}

/// Changes a replicated service's replica count and nothing else.
pub fn scale(params: ScaleParams, ctx: &Context) -> Result<Outcome, Error> {
    check_name(&params.name, "service")?;
    let Some(current) = docker::inspect(&ctx.target, ObjectKind::Service, &params.name)? else {
        return Err(Error::msg(format!(
            "no service {} on {} (`capstan services` lists them)",
            params.name, ctx.target
        )));
    };
    let mut spec = current["Spec"].clone();
    let Some(replicas) = spec["Mode"]["Replicated"]["Replicas"].as_u64() else {
        return Err(Error::msg(format!(
            "service {} is global: it runs one task per node and does not scale",
            params.name
        )));
    };
    if replicas == params.replicas {
        return Ok(Outcome::ok(format!(
            "service {} has {replicas} replicas",
            params.name
        )));
    }
    spec["Mode"]["Replicated"]["Replicas"] = json!(params.replicas);
    if !ctx.check {
        let id = current["ID"].as_str().unwrap_or(&params.name);
        docker::update(
            &ctx.target,
            ObjectKind::Service,
            id,
            docker::version_of(&current),
            &spec,
        )?;
    }
    let before = json!({ "Replicas": replicas });
    let after = json!({ "Replicas": params.replicas });
    Ok(changed(
        ctx,
        &params.name,
        format!(
            "scale service {} from {replicas} to {}",
            params.name, params.replicas
        ),
        &before,
        &after,
    ))
}

/// Applies a service on one target (a manager).
pub fn apply(def: ServiceDef, ctx: &Context) -> Result<Outcome, Error> {
    converge(&def, ctx, &[])
}

/// Creates, updates or removes one service; `aliases` are extra network
/// aliases (a stack's short service name).
pub fn converge(def: &ServiceDef, ctx: &Context, aliases: &[String]) -> Result<Outcome, Error> {
    check_name(&def.name, "service")?;
    let target = ctx.target.as_str();
    let current = docker::inspect(target, ObjectKind::Service, &def.name)?;
    if def.state == Some(Presence::Absent) {
        let Some(current) = current else {
            return Ok(Outcome::ok(format!("service {} is absent", def.name)));
        };
        if !ctx.check {
            docker::remove(target, ObjectKind::Service, &def.name, false)?;
        }
        let before = json!({ "Name": def.name, "Image": current["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] });
        return Ok(changed(
            ctx,
            &def.name,
            format!("remove service {}", def.name),
            &before,
            &Value::Null,
        ));
    }
    let mut wanted = spec(def, target, aliases)?;
    match current {
        None => {
            if def.image.is_none() {
                return Err(Error::InvalidParams(format!(
                    "service `{}` does not exist: give `image` to create it",
                    def.name
                )));
            }
            if !ctx.check {
                docker::create(target, ObjectKind::Service, "", &wanted)?;
            }
            Ok(changed(
                ctx,
                &def.name,
                format!("create service {}", def.name),
                &Value::Null,
                &wanted,
            ))
        }
        Some(current) => {
            let have = &current["Spec"];
            if def.image.is_none() {
                // Scaling or relabelling an existing service: keep its image.
                wanted["TaskTemplate"]["ContainerSpec"]["Image"] =
                    have["TaskTemplate"]["ContainerSpec"]["Image"].clone();
            }
            let forced = def.force_update;
            let force_count = have["TaskTemplate"]["ForceUpdate"].as_u64().unwrap_or(0);
            wanted["TaskTemplate"]["ForceUpdate"] = json!(force_count + u64::from(forced));
            let as_stored = as_the_engine_stores_it(&wanted);
            if !forced && contains(have, &as_stored) {
                return Ok(Outcome::ok(format!("service {} is as wanted", def.name))
                    .with_data(json!({ "service": current })));
            }
            if !ctx.check {
                let id = current["ID"].as_str().unwrap_or(&def.name);
                docker::update(
                    target,
                    ObjectKind::Service,
                    id,
                    docker::version_of(&current),
                    &wanted,
                )?;
            }
            let summary = update_summary(&def.name, have, &wanted);
            Ok(changed(
                ctx,
                &def.name,
                summary,
                &project(have, &as_stored),
                &as_stored,
            ))
        }
    }
}

/// The spec as the engine answers it back: it reads `HealthCheck` (the
/// API's documented name) but writes the health check as `Healthcheck`.
fn as_the_engine_stores_it(spec: &Value) -> Value {
    let mut spec = spec.clone();
    if let Some(container) = spec["TaskTemplate"]["ContainerSpec"].as_object_mut()
        && let Some(health) = container.remove("HealthCheck")
    {
        container.insert("Healthcheck".into(), health);
    }
    spec
}

fn update_summary(name: &str, have: &Value, wanted: &Value) -> String {
    let image = |v: &Value| {
        v["TaskTemplate"]["ContainerSpec"]["Image"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let replicas = |v: &Value| v["Mode"]["Replicated"]["Replicas"].as_u64();
    let mut parts = Vec::new();
    if image(have) != image(wanted) {
        parts.push(format!("image {} → {}", image(have), image(wanted)));
    }
    if let (Some(a), Some(b)) = (replicas(have), replicas(wanted))
        && a != b
    {
        parts.push(format!("replicas {a} → {b}"));
    }
    if parts.is_empty() {
        format!("update service {name}")
    } else {
        format!("update service {name} ({})", parts.join(", "))
    }
}

/// The Engine API `ServiceSpec` for a definition. Networks are named by
/// id, as the engine stores them, so a second run compares equal.
pub fn spec(def: &ServiceDef, target: &str, aliases: &[String]) -> Result<Value, Error> {
    let mut container = Map::new();
    container.insert("Image".into(), json!(def.image.clone().unwrap_or_default()));
    if let Some(command) = argv(def.command.as_ref(), "command")? {
        container.insert("Command".into(), json!(command));
    }
    if let Some(args) = argv(def.args.as_ref(), "args")? {
        container.insert("Args".into(), json!(args));
    }
    let mut env = env_list(def.env.as_ref(), "env")?;
    env.sort();
    container.insert("Env".into(), json!(env));
    container.insert(
        "Labels".into(),
        Value::Object(string_map(
            def.container_labels.as_ref(),
            "container_labels",
        )?),
    );
    if let Some(grace) = &def.stop_grace_period {
        container.insert(
            "StopGracePeriod".into(),
            json!(duration_ns(grace, "stop_grace_period")?),
        );
    }
    if let Some(health) = &def.healthcheck {
        container.insert("HealthCheck".into(), healthcheck(health)?);
    }
    let mut task = json!({ "ContainerSpec": container, "ForceUpdate": 0 });
    if let Some(restart) = &def.restart_config {
        let mut policy = Map::new();
        if let Some(c) = &restart.condition {
            policy.insert("Condition".into(), json!(c));
        }
        if let Some(d) = &restart.delay {
            policy.insert(
                "Delay".into(),
                json!(duration_ns(d, "restart_config.delay")?),
            );
        }
        if let Some(m) = restart.max_attempts {
            policy.insert("MaxAttempts".into(), json!(m));
        }
        if let Some(w) = &restart.window {
            policy.insert(
                "Window".into(),
                json!(duration_ns(w, "restart_config.window")?),
            );
        }
        task["RestartPolicy"] = Value::Object(policy);
    }
    if let Some(constraints) = def.placement.as_ref().and_then(|p| p.constraints.clone()) {
        task["Placement"] = json!({ "Constraints": constraints });
    }
    let mut networks = Vec::new();
    for name in def.networks.iter().flatten() {
        let Some(network) = docker::inspect(target, ObjectKind::Network, name)? else {
            return Err(Error::msg(format!(
                "network `{name}` does not exist on {target}: create it first (docker_network with driver: overlay)"
            )));
        };
        let mut attachment = json!({ "Target": network["Id"] });
        if !aliases.is_empty() {
            attachment["Aliases"] = json!(aliases);
        }
        networks.push(attachment);
    }
    task["Networks"] = json!(networks);

    let mode = match def.mode.as_deref().unwrap_or("replicated") {
        "global" => json!({ "Global": {} }),
        "replicated" => json!({ "Replicated": { "Replicas": def.replicas.unwrap_or(1) } }),
        other => {
            return Err(Error::InvalidParams(format!(
                "mode `{other}` is not replicated or global"
            )));
        }
    };
    let mut ports = Vec::new();
    for p in def.publish.iter().flatten() {
        let mut port = json!({
            "Protocol": p.protocol.clone().unwrap_or_else(|| "tcp".into()),
            "TargetPort": p.target_port,
            "PublishMode": p.mode.clone().unwrap_or_else(|| "ingress".into()),
        });
        if let Some(published) = p.published_port {
            port["PublishedPort"] = json!(published);
        }
        ports.push(port);
    }
    let endpoint_mode = def.endpoint_mode.clone().unwrap_or_else(|| "vip".into());
    if endpoint_mode == "dnsrr" && ports.iter().any(|p| p["PublishMode"] == "ingress") {
        return Err(Error::InvalidParams(format!(
            "service {}: endpoint_mode dnsrr cannot publish through the ingress: publish with mode: host",
            def.name
        )));
    }
    let mut spec = json!({
        "Name": def.name,
        "Labels": string_map(def.labels.as_ref(), "labels")?,
        "TaskTemplate": task,
        "Mode": mode,
        "EndpointSpec": { "Mode": endpoint_mode, "Ports": ports },
    });
    if let Some(update) = &def.update_config {
        spec["UpdateConfig"] = update_config(update, "update_config")?;
    }
    if let Some(rollback) = &def.rollback_config {
        spec["RollbackConfig"] = update_config(rollback, "rollback_config")?;
    }
    Ok(spec)
}

fn update_config(def: &UpdateDef, field: &str) -> Result<Value, Error> {
    let mut config = Map::new();
    config.insert("Parallelism".into(), json!(def.parallelism.unwrap_or(1)));
    if let Some(delay) = &def.delay {
        config.insert(
            "Delay".into(),
            json!(duration_ns(delay, &format!("{field}.delay"))?),
        );
    }
    config.insert(
        "FailureAction".into(),
        json!(def.failure_action.clone().unwrap_or_else(|| "pause".into())),
    );
    if let Some(monitor) = &def.monitor {
        config.insert(
            "Monitor".into(),
            json!(duration_ns(monitor, &format!("{field}.monitor"))?),
        );
    }
    if let Some(ratio) = def.max_failure_ratio {
        config.insert("MaxFailureRatio".into(), json!(ratio));
    }
    config.insert(
        "Order".into(),
        json!(def.order.clone().unwrap_or_else(|| "stop-first".into())),
    );
    Ok(Value::Object(config))
}

fn healthcheck(def: &HealthDef) -> Result<Value, Error> {
    let mut health = Map::new();
    match &def.test {
        None => {}
        Some(Value::String(shell)) => {
            health.insert("Test".into(), json!(["CMD-SHELL", shell]));
        }
        Some(Value::Array(items)) => {
            let words: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            if !matches!(
                words.first().map(String::as_str),
                Some("CMD" | "CMD-SHELL" | "NONE")
            ) {
                return Err(Error::InvalidParams(
                    "healthcheck.test: a list starts with CMD, CMD-SHELL or NONE".into(),
                ));
            }
            health.insert("Test".into(), json!(words));
        }
        Some(other) => {
            return Err(Error::InvalidParams(format!(
                "healthcheck.test: `{other}` is not a list or a string"
            )));
        }
    }
    for (key, value) in [
        ("Interval", &def.interval),
        ("Timeout", &def.timeout),
        ("StartPeriod", &def.start_period),
    ] {
        if let Some(value) = value {
            health.insert(
                key.into(),
                json!(duration_ns(
                    value,
                    &format!("healthcheck.{}", key.to_lowercase())
                )?),
            );
        }
    }
    if let Some(retries) = def.retries {
        health.insert("Retries".into(), json!(retries));
    }
    Ok(Value::Object(health))
}
