//! `docker_swarm` (init, join, leave) and `docker_node` (role,
//! availability, labels). Join tokens stay with the host: a joining target
//! names its manager, and the host fetches the token from it.

use capstan_plugin_sdk::JsonSchema;
use capstan_plugin_sdk::docker::{self, NodeRole, ObjectKind};
use capstan_plugin_sdk::{Context, Error, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::{changed, string_map};

/// Parameters of `docker_swarm`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwarmParams {
    /// What this node should be (default: present).
    #[serde(default)]
    state: SwarmState,
    /// The address other nodes reach this one at.
    advertise_addr: Option<String>,
    /// For join: the target (of this run) that manages the swarm.
    manager: Option<String>,
    /// For join: the role to join as (default: worker).
    #[serde(default)]
    role: Role,
    /// For absent: leave even as the last manager.
    #[serde(default)]
    force: bool,
}

/// What a node should be, swarm-wise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum SwarmState {
    /// A manager of a swarm (one is initialised if needed); the default.
    #[default]
    Present,
    /// A member of `manager`'s swarm.
    Join,
    /// In no swarm: leave it.
    Absent,
}

/// A node's role in its swarm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Role {
    /// Runs tasks (the default).
    #[default]
    Worker,
    /// Runs tasks and manages the swarm.
    Manager,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Manager => "manager",
        }
    }

    fn node_role(self) -> NodeRole {
        match self {
            Role::Worker => NodeRole::Worker,
            Role::Manager => NodeRole::Manager,
        }
    }
}

/// Parameters of `docker_node`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeParams {
    /// The node's hostname or id (run this on a manager).
    hostname: String,
    /// The role it should have.
    role: Option<Role>,
    /// Whether it takes tasks.
    availability: Option<Availability>,
    /// Labels: a mapping, or a list of key=value.
    #[serde(default)]
    #[schemars(schema_with = "crate::common::string_map_schema")]
    labels: Option<Value>,
    /// Whether `labels` are added to the node's (merge, the default) or
    /// are all it keeps (replace).
    #[serde(default)]
    labels_state: LabelsState,
    /// Label keys to take away.
    labels_to_remove: Option<Vec<String>>,
}

/// Whether a node takes tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Availability {
    /// It takes tasks.
    Active,
    /// It keeps its tasks and takes no new ones.
    Pause,
    /// Its tasks move to other nodes.
    Drain,
}

impl Availability {
    fn name(self) -> &'static str {
        match self {
            Availability::Active => "active",
            Availability::Pause => "pause",
            Availability::Drain => "drain",
        }
    }
}

/// How given labels meet the node's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum LabelsState {
    /// Added to the node's (the default).
    #[default]
    Merge,
    /// All the node keeps.
    Replace,
}

/// The target's swarm state: (`LocalNodeState`, is a manager, node id).
fn local_state(target: &str) -> Result<(String, bool, String), Error> {
    let info = docker::info(target)?;
    let swarm = &info["Swarm"];
    Ok((
        swarm["LocalNodeState"]
            .as_str()
            .unwrap_or("inactive")
            .to_string(),
        swarm["ControlAvailable"].as_bool().unwrap_or(false),
        swarm["NodeID"].as_str().unwrap_or_default().to_string(),
    ))
}

/// Applies `docker_swarm` on one target.
pub fn swarm(params: SwarmParams, ctx: &Context) -> Result<Outcome, Error> {
    let target = ctx.target.as_str();
    let (state, manager, node_id) = local_state(target)?;
    let active = state == "active";
    let before = json!({ "LocalNodeState": state, "Manager": manager });
    match params.state {
        SwarmState::Present => {
            if active && manager {
                return Ok(Outcome::ok("this node manages a swarm")
                    .with_data(json!({ "node_id": node_id })));
            }
            if active {
                return Err(Error::msg(
                    "this node is a worker of a swarm: promote it with docker_node role: manager, or leave first",
                ));
            }
            let node_id = if ctx.check {
                String::new()
            } else {
                docker::swarm_init(target, params.advertise_addr.as_deref())?
            };
            let after = json!({ "LocalNodeState": "active", "Manager": true });
            Ok(
                changed(ctx, "swarm", "initialise a swarm".into(), &before, &after)
                    .with_data(json!({ "node_id": node_id })),
            )
        }
        SwarmState::Join => {
            let manager_target = params.manager.as_deref().ok_or_else(|| {
                Error::InvalidParams(
                    "state: join needs `manager`: the target that manages the swarm".into(),
                )
            })?;
            if active {
                // The manager itself, or a node already in: nothing to do.
                return Ok(Outcome::ok("this node is already part of a swarm")
                    .with_data(json!({ "node_id": node_id })));
            }
            if manager_target == target {
                return Err(Error::InvalidParams(
                    "a node cannot join itself: `manager` must be another target".into(),
                ));
            }
            let role = params.role.node_role();
            if !ctx.check {
                docker::swarm_join(
                    target,
                    manager_target,
                    role,
                    params.advertise_addr.as_deref(),
                )?;
            }
            let after = json!({ "LocalNodeState": "active", "Manager": role == NodeRole::Manager });
            Ok(changed(
                ctx,
                "swarm",
                format!("join {manager_target}'s swarm as a {}", params.role.name()),
                &before,
                &after,
            ))
        }
        SwarmState::Absent => {
            if !active && state != "pending" && state != "error" {
                return Ok(Outcome::ok("this node is in no swarm"));
            }
            if !ctx.check {
                docker::swarm_leave(target, params.force)?;
            }
            let after = json!({ "LocalNodeState": "inactive", "Manager": false });
            Ok(changed(
                ctx,
                "swarm",
                "leave the swarm".into(),
                &before,
                &after,
            ))
        }
    }
}

/// Applies `docker_node` on one target (a manager).
pub fn node(params: NodeParams, ctx: &Context) -> Result<Outcome, Error> {
    // A node's version moves on its own (its status, a fresh swarm): an
    // update made against an older version is refused "out of sequence".
    // Read it again and retry, as a person would.
    const ATTEMPTS: usize = 5;
    let mut attempt = 1;
    loop {
        let result = node_once(&params, ctx);
        match &result {
            Err(e) if attempt < ATTEMPTS && e.to_string().contains("out of sequence") => {
                attempt += 1
            }
            _ => return result,
        }
    }
}

fn node_once(params: &NodeParams, ctx: &Context) -> Result<Outcome, Error> {
    let target = ctx.target.as_str();
    let node = find_node(target, &params.hostname)?;
    let id = node["ID"].as_str().unwrap_or_default().to_string();
    let spec = node["Spec"].clone();
    let mut wanted = spec.clone();
    if let Some(role) = params.role {
        wanted["Role"] = json!(role.name());
    }
    if let Some(availability) = params.availability {
        wanted["Availability"] = json!(availability.name());
    }
    let mut labels: Map<String, Value> = spec["Labels"].as_object().cloned().unwrap_or_default();
    if let Some(given) = &params.labels {
        let given = string_map(Some(given), "labels")?;
        if params.labels_state == LabelsState::Replace {
            labels = given;
        } else {
            labels.extend(given);
        }
    }
    for key in params.labels_to_remove.iter().flatten() {
        labels.remove(key);
    }
    wanted["Labels"] = Value::Object(labels);
    let normalise = |v: &Value| {
        let mut v = v.clone();
        if v["Labels"].is_null() {
            v["Labels"] = json!({});
        }
        v
    };
    if normalise(&spec) == normalise(&wanted) {
        return Ok(
            Outcome::ok(format!("node {} is as wanted", params.hostname))
                .with_data(json!({ "node": node })),
        );
    }
    if !ctx.check {
        docker::update(
            target,
            ObjectKind::Node,
            &id,
            docker::version_of(&node),
            &wanted,
        )?;
    }
    Ok(changed(
        ctx,
        &params.hostname,
        format!("update node {}", params.hostname),
        &normalise(&spec),
        &wanted,
    ))
}

/// A node by id or hostname.
fn find_node(target: &str, name: &str) -> Result<Value, Error> {
    if let Some(node) = docker::inspect(target, ObjectKind::Node, name)? {
        return Ok(node);
    }
    let nodes = docker::list(target, ObjectKind::Node, &Value::Null)?;
    let mut matching = nodes
        .into_iter()
        .filter(|n| n["Description"]["Hostname"].as_str() == Some(name));
    match (matching.next(), matching.next()) {
        (Some(node), None) => Ok(node),
        (Some(_), Some(_)) => Err(Error::msg(format!(
            "more than one node is called {name}: use its id"
        ))),
        (None, _) => Err(Error::msg(format!(
            "no node of this swarm is called {name} (`capstan nodes` lists them)"
        ))),
    }
}
