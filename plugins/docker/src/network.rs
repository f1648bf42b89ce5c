//! `docker_network` and `docker_volume`: named networks (bridge or
//! overlay) and volumes, recreated when their options change.

use capstan_plugin_sdk::docker::{self, ObjectKind};
use capstan_plugin_sdk::{Context, Error, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{changed, check_name, contains, project, string_map};

/// Parameters of `docker_network`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkParams {
    #[serde(alias = "network_name")]
    name: String,
    #[serde(default = "bridge")]
    driver: String,
    #[serde(default)]
    attachable: bool,
    #[serde(default)]
    internal: bool,
    labels: Option<Value>,
    driver_options: Option<Value>,
    #[serde(default = "crate::common::present")]
    state: String,
}

/// Parameters of `docker_volume`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeParams {
    #[serde(alias = "volume_name")]
    name: String,
    #[serde(default = "local")]
    driver: String,
    driver_options: Option<Value>,
    labels: Option<Value>,
    #[serde(default = "crate::common::present")]
    state: String,
    #[serde(default = "options_changed")]
    recreate: String,
}

fn bridge() -> String {
    "bridge".into()
}
fn local() -> String {
    "local".into()
}
fn options_changed() -> String {
    "options-changed".into()
}

/// `docker_network`'s JSON Schema.
pub fn network_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string" },
            "network_name": { "type": "string" },
            "driver": { "type": "string", "description": "bridge (default) or overlay." },
            "attachable": { "type": "boolean" },
            "internal": { "type": "boolean" },
            "labels": { "type": "object" },
            "driver_options": { "type": "object" },
            "state": { "enum": ["present", "absent"] }
        },
        "additionalProperties": false
    })
}

/// `docker_volume`'s JSON Schema.
pub fn volume_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string" },
            "volume_name": { "type": "string" },
            "driver": { "type": "string" },
            "driver_options": { "type": "object" },
            "labels": { "type": "object" },
            "state": { "enum": ["present", "absent"] },
            "recreate": { "enum": ["never", "options-changed", "always"] }
        },
        "additionalProperties": false
    })
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
        &params.state,
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
    let current = match params.recreate.as_str() {
        // `never` keeps whatever exists: compare nothing.
        "never" => current.map(|_| comparable.clone()),
        _ => current,
    };
    converge(
        ctx,
        ObjectKind::Volume,
        &params.name,
        &params.state,
        current,
        &spec,
        &comparable,
        params.recreate == "always",
    )
}

#[allow(clippy::too_many_arguments)]
fn converge(
    ctx: &Context,
    kind: ObjectKind,
    name: &str,
    state: &str,
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
        ("absent", None) => Ok(Outcome::ok(format!("{word} {name} is absent"))),
        ("absent", Some(current)) => {
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
