//! `docker_stack`: deploys a Compose file as a swarm stack (services and
//! networks named `<stack>_<name>` and labelled with the stack), updates
//! what changed through Swarm's rolling updates, prunes, and removes.

use capstan_plugin_sdk::JsonSchema;
use capstan_plugin_sdk::docker::{self, ObjectKind};
use capstan_plugin_sdk::schemars::{Schema, SchemaGenerator, json_schema};
use capstan_plugin_sdk::{Context, Error, Outcome, remote};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{Presence, check_name};
use crate::compose::{self, Document};
use crate::service;

/// The label every object of a stack carries.
const NAMESPACE: &str = "com.docker.stack.namespace";

/// Parameters, named as community.docker.docker_stack names them.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The stack's name (prefix of its services and networks).
    name: String,
    /// Compose files on the host (paths), or inline Compose mappings;
    /// later ones override earlier ones.
    #[serde(default)]
    #[schemars(schema_with = "compose_schema")]
    compose: Vec<Value>,
    /// Whether the stack should exist (default: present).
    #[serde(default)]
    state: Presence,
    /// Remove the stack's services no longer in the Compose files.
    #[serde(default)]
    prune: bool,
}

/// Schema of `compose`: paths, or inline Compose mappings.
fn compose_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "anyOf": [{ "type": "string" }, { "type": "object" }] }
    })
}

/// What a deploy did, to report and to list if it stops half-way.
#[derive(Default)]
struct Done {
    created: Vec<String>,
    updated: Vec<String>,
    removed: Vec<String>,
    diffs: Vec<String>,
}

impl Done {
    fn record(&mut self, outcome: &Outcome, name: &str, verb_if_new: bool) {
        if outcome.status == capstan_plugin_sdk::Status::Changed {
            if verb_if_new {
                self.created.push(name.to_string());
            } else {
                self.updated.push(name.to_string());
            }
            if let Some(diff) = &outcome.diff {
                self.diffs.push(diff.clone());
            }
        }
    }

    fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (word, names) in [
            ("created", &self.created),
            ("updated", &self.updated),
            ("removed", &self.removed),
        ] {
            if !names.is_empty() {
                parts.push(format!("{word} {}", names.join(", ")));
            }
        }
        parts.join("; ")
    }

    fn changed(&self) -> bool {
        !(self.created.is_empty() && self.updated.is_empty() && self.removed.is_empty())
    }
}

/// Applies the stack on one target (a swarm manager).
pub fn apply(params: Params, ctx: &Context) -> Result<Outcome, Error> {
    check_name(&params.name, "stack")?;
    let mut done = Done::default();
    let result = match params.state {
        Presence::Absent => remove(&params.name, ctx, &mut done),
        Presence::Present => deploy(&params, ctx, &mut done),
    };
    if let Err(e) = result {
        let so_far = done.summary();
        return Err(if so_far.is_empty() {
            e
        } else {
            Error::msg(format!(
                "{e} (before this, the stack {so_far}: they are left in place)"
            ))
        });
    }
    let stack = &params.name;
    if !done.changed() {
        return Ok(Outcome::ok(format!("stack {stack} is as wanted")));
    }
    let prefix = if ctx.check { "would have " } else { "" };
    let mut outcome = Outcome::changed(format!("stack {stack}: {prefix}{}", done.summary()));
    if ctx.diff && !done.diffs.is_empty() {
        outcome = outcome.with_diff(done.diffs.join(""));
    }
    Ok(outcome.with_data(
        json!({ "created": done.created, "updated": done.updated, "removed": done.removed }),
    ))
}

fn deploy(params: &Params, ctx: &Context, done: &mut Done) -> Result<(), Error> {
    if params.compose.is_empty() {
        return Err(Error::InvalidParams(
            "state: present needs `compose`: a path or a Compose mapping".into(),
        ));
    }
    let mut docs = Vec::new();
    for (i, item) in params.compose.iter().enumerate() {
        docs.push(match item {
            Value::String(path) => {
                let text = remote::read_file(&ctx.target, path)
                    .map_err(|e| Error::msg(format!("compose file {path}: {}", Error::from(e))))?;
                let text = String::from_utf8(text).map_err(|_| {
                    Error::InvalidParams(format!("compose file {path} is not UTF-8"))
                })?;
                Document::parse(path, &text)?
            }
            Value::Object(_) => Document::inline(format!("compose[{i}]"), item.clone()),
            other => {
                return Err(Error::InvalidParams(format!(
                    "compose[{i}]: `{other}` is not a path or a mapping"
                )));
            }
        });
    }
    let stack = compose::read(&docs)?;
    let stack_name = &params.name;
    let label = json!({ NAMESPACE: stack_name });

    // Networks first: services attach to them by id.
    let mut network_names = std::collections::BTreeMap::new();
    for (short, net) in &stack.networks {
        let full = if net.external {
            short.clone()
        } else {
            format!("{stack_name}_{short}")
        };
        network_names.insert(short.clone(), full.clone());
        if net.external {
            if docker::inspect(&ctx.target, ObjectKind::Network, &full)?.is_none() {
                return Err(Error::msg(format!(
                    "network {full} is external to the stack and does not exist"
                )));
            }
            continue;
        }
        if docker::inspect(&ctx.target, ObjectKind::Network, &full)?.is_some() {
            continue;
        }
        if !ctx.check {
            let mut labels = net.labels.clone();
            labels.insert(NAMESPACE.into(), json!(stack_name));
            docker::create(
                &ctx.target,
                ObjectKind::Network,
                &full,
                &json!({
                    "Name": full,
                    "Driver": net.driver,
                    "Attachable": net.attachable,
                    "Internal": net.internal,
                    "Labels": labels,
                }),
            )?;
        }
        done.created.push(format!("network {full}"));
    }

    let mut wanted_services = Vec::new();
    for (short, (def, nets)) in &stack.services {
        let mut def = def.clone();
        def.name = format!("{stack_name}_{short}");
        def.networks = Some(nets.iter().map(|n| network_names[n].clone()).collect());
        let mut labels = crate::common::string_map(def.labels.as_ref(), "labels")?;
        labels.extend(label.as_object().cloned().unwrap_or_default());
        labels.insert("com.docker.stack.image".into(), json!(def.image));
        def.labels = Some(Value::Object(labels));
        let mut container_labels =
            crate::common::string_map(def.container_labels.as_ref(), "labels")?;
        container_labels.extend(label.as_object().cloned().unwrap_or_default());
        def.container_labels = Some(Value::Object(container_labels));
        let existed = docker::inspect(&ctx.target, ObjectKind::Service, &def.name)?.is_some();
        let outcome = service::converge(&def, ctx, std::slice::from_ref(short))?;
        done.record(&outcome, &format!("service {}", def.name), !existed);
        wanted_services.push(def.name);
    }

    if params.prune {
        for service in stack_objects(ctx, ObjectKind::Service, stack_name)? {
            if !wanted_services.contains(&service) {
                if !ctx.check {
                    docker::remove(&ctx.target, ObjectKind::Service, &service, false)?;
                }
                done.removed.push(format!("service {service}"));
            }
        }
    }
    Ok(())
}

fn remove(stack_name: &str, ctx: &Context, done: &mut Done) -> Result<(), Error> {
    for service in stack_objects(ctx, ObjectKind::Service, stack_name)? {
        if !ctx.check {
            docker::remove(&ctx.target, ObjectKind::Service, &service, false)?;
        }
        done.removed.push(format!("service {service}"));
    }
    for network in stack_objects(ctx, ObjectKind::Network, stack_name)? {
        if !ctx.check {
            docker::remove(&ctx.target, ObjectKind::Network, &network, false)?;
        }
        done.removed.push(format!("network {network}"));
    }
    Ok(())
}

/// Names of the stack's services or networks.
fn stack_objects(ctx: &Context, kind: ObjectKind, stack_name: &str) -> Result<Vec<String>, Error> {
    let filters = json!({ "label": [format!("{NAMESPACE}={stack_name}")] });
    let items = docker::list(&ctx.target, kind, &filters)?;
    let mut names: Vec<String> = items
        .iter()
        .filter_map(|item| {
            item["Spec"]["Name"]
                .as_str()
                .or_else(|| item["Name"].as_str())
                .map(String::from)
        })
        .collect();
    names.sort();
    Ok(names)
}
