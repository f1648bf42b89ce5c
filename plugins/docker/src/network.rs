//! `docker_network` and `docker_volume`: named networks (bridge or
//! overlay) and volumes, recreated when their options change.

use capstan_plugin_sdk::JsonSchema;
use capstan_plugin_sdk::docker::{self, ObjectKind};
use capstan_plugin_sdk::{Context, Error, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{Presence, changed, check_name, contains, project, string_map};

/// Parameters of `docker_network` (Ansible's alias for `name`:
/// network_name).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkParams {
    /// The network's name.
    name: String,
    /// bridge (default) or overlay.
    #[serde(default = "bridge")]
    driver: String,
    /// Containers outside a swarm service may attach (overlay).
    #[serde(default)]
    attachable: bool,
    /// No route out of the network.
    #[serde(default)]
    internal: bool,
    /// Labels: a mapping, or a list of key=value.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::string_map_schema")]
    labels: Option<Value>,
    /// The driver's options: a mapping, or a list of key=value.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::string_map_schema")]
    driver_options: Option<Value>,
    /// Whether the network should exist (default: present).
    #[serde(default)]
    state: Presence,
}

/// Parameters of `docker_volume` (Ansible's alias for `name`:
/// volume_name).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeParams {
    /// The volume's name.
    name: String,
    /// The volume driver (default local).
    #[serde(default = "local")]
    driver: String,
    /// The driver's options: a mapping, or a list of key=value.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::string_map_schema")]
    driver_options: Option<Value>,
    /// Labels: a mapping, or a list of key=value.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::string_map_schema")]
    labels: Option<Value>,
    /// Whether the volume should exist (default: present).
    #[serde(default)]
    state: Presence,
    /// When an existing volume is replaced (default: options-changed).
    #[serde(default)]
    recreate: Recreate,
}

/// When an existing volume is replaced by a new one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum Recreate {
    /// Never: whatever exists is kept.
    Never,
    /// When its driver, options or labels differ (the default).
    #[default]
    OptionsChanged,
    /// Every run.
    Always,
}

fn bridge() -> String {
    "bridge".into()
}
fn local() -> String {
    "local".into()
}

/// Applies a network on one target.
pub fn network(params: NetworkParams, ctx: &Context) -> Result<Outcome, Error> {
    check_name(&params.name, "network")?;
    let labels = string_map(params.labels.as_ref(), "labels")?;
    let options = string_map(params.driver_options.as_ref(), "driver_options")?;
    let spec = json!({
        "Name": params.name,
        "Driver": params.driver,
        "Attachable": params.attachable,
        "Internal": params.internal,
        "Labels": labels,
        "Options": options,
    });
    let comparable = json!({
        "Driver": params.driver,
        "Attachable": params.attachable,
        "Internal": params.internal,
        "Labels": if params.labels.is_some() { json!(labels) } else { Value::Null },
        "Options": if params.driver_options.is_some() { json!(options) } else { Value::Null },
    });
    let current = docker::inspect(&ctx.target, ObjectKind::Network, &params.name)?;
    converge(
        ctx,
        ObjectKind::Network,
        &params.name,
        params.state,
        current,
        &spec,
        &comparable,
        false,
    )
}

/// Applies a volume on one target.
pub fn volume(params: VolumeParams, ctx: &Context) -> Result<Outcome, Error> {
    check_name(&params.name, "volume")?;
    let labels = string_map(params.labels.as_ref(), "labels")?;
    let options = string_map(params.driver_options.as_ref(), "driver_options")?;
    let spec = json!({
        "Name": params.name,
        "Driver": params.driver,
        "DriverOpts": options,
        "Labels": labels,
    });
    let comparable = json!({
        "Driver": params.driver,
        "Options": if params.driver_options.is_some() { json!(options) } else { Value::Null },
        "Labels": if params.labels.is_some() { json!(labels) } else { Value::Null },
    });
    let current = docker::inspect(&ctx.target, ObjectKind::Volume, &params.name)?;
    let current = match params.recreate {
        // `never` keeps whatever exists: compare nothing.
        Recreate::Never => current.map(|_| comparable.clone()),
        Recreate::OptionsChanged | Recreate::Always => current,
    };
    converge(
        ctx,
        ObjectKind::Volume,
        &params.name,
        params.state,
        current,
        &spec,
        &comparable,
        params.recreate == Recreate::Always,
    )
}

#[allow(clippy::too_many_arguments)]
fn converge(
    ctx: &Context,
    kind: ObjectKind,
    name: &str,
    state: Presence,
    current: Option<Value>,
    spec: &Value,
    comparable: &Value,
    always: bool,
) -> Result<Outcome, Error> {
    let word = if kind == ObjectKind::Network {
        "network"
    } else {
        "volume"
    };
    let target = ctx.target.as_str();
    match (state, current) {
        (Presence::Absent, None) => Ok(Outcome::ok(format!("{word} {name} is absent"))),
        (Presence::Absent, Some(current)) => {
            if !ctx.check {
                docker::remove(target, kind, name, false).map_err(|e| in_use(e, word, name))?;
            }
            Ok(changed(
                ctx,
                name,
                format!("remove {word} {name}"),
                &project(&current, comparable),
                &Value::Null,
            ))
        }
        (_, Some(current)) if !always && contains(&current, comparable) => {
            Ok(Outcome::ok(format!("{word} {name} is as wanted"))
                .with_data(json!({ word: current })))
        }
        (_, current) => {
            let before = current
                .as_ref()
                .map(|c| project(c, comparable))
                .unwrap_or(Value::Null);
            let verb = if current.is_some() {
                "recreate"
            } else {
                "create"
            };
            if !ctx.check {
                if current.is_some() {
                    docker::remove(target, kind, name, false).map_err(|e| in_use(e, word, name))?;
                }
                docker::create(target, kind, name, spec)?;
            }
            Ok(changed(
                ctx,
                name,
                format!("{verb} {word} {name}"),
                &before,
                comparable,
            ))
        }
    }
}

fn in_use(error: Error, word: &str, name: &str) -> Error {
    Error::msg(format!(
        "{word} {name} could not be removed (is it still in use?): {error}"
    ))
}
