//! The Docker engines of the run's targets (capabilities `docker.read` and
//! `docker.write`). Objects are the Engine API's JSON documents, as
//! [`serde_json::Value`]; the host reaches each target's engine itself.

use serde_json::Value;

use crate::Error;
use crate::bindings::capstan::plugin::docker as wit;

pub use wit::{ContainerOp, NodeRole, ObjectKind};

/// An image to build from a folder on the target.
pub use wit::Build;

fn parse(text: &str) -> Result<Value, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::msg(format!("the host sent JSON that does not parse: {e}")))
}

/// The engine's `/info` document (includes `Swarm`).
pub fn info(target: &str) -> Result<Value, Error> {
    parse(&wit::info(target)?)
}

/// One object by name or id; `None` when it does not exist.
pub fn inspect(target: &str, kind: ObjectKind, id: &str) -> Result<Option<Value>, Error> {
    wit::inspect(target, kind, id)?
        .map(|text| parse(&text))
        .transpose()
}

/// Objects of a kind; `filters` as the engine takes them, e.g.
/// `json!({"label": ["com.docker.stack.namespace=web"]})`.
pub fn list(target: &str, kind: ObjectKind, filters: &Value) -> Result<Vec<Value>, Error> {
    let filters = if filters.is_null() {
        String::new()
    } else {
        filters.to_string()
    };
    match parse(&wit::list(target, kind, &filters)?)? {
        Value::Array(items) => Ok(items),
        _ => Err(Error::msg("the host's list was not a JSON array")),
    }
}

/// The last `tail` lines a container wrote.
pub fn logs(target: &str, container: &str, tail: u32) -> Result<String, Error> {
    Ok(wit::logs(target, container, tail)?)
}

/// Creates a container (named `name`), network, volume or service.
pub fn create(target: &str, kind: ObjectKind, name: &str, spec: &Value) -> Result<String, Error> {
    Ok(wit::create(target, kind, name, &spec.to_string())?)
}

/// Replaces the spec of a service, node or swarm at `version`.
pub fn update(
    target: &str,
    kind: ObjectKind,
    id: &str,
    version: u64,
    spec: &Value,
) -> Result<(), Error> {
    Ok(wit::update(target, kind, id, version, &spec.to_string())?)
}

/// Removes an object (missing is fine).
pub fn remove(target: &str, kind: ObjectKind, id: &str, force: bool) -> Result<(), Error> {
    Ok(wit::remove(target, kind, id, force)?)
}

/// Starts, stops, restarts, kills, pauses or unpauses a container.
pub fn container(
    target: &str,
    id: &str,
    op: ContainerOp,
    timeout: Option<u32>,
) -> Result<(), Error> {
    Ok(wit::container(target, id, op, timeout)?)
}

/// Builds an image from a folder on the target; returns its id.
pub fn build_image(target: &str, build: &Build) -> Result<String, Error> {
    Ok(wit::build_image(target, build)?)
}

/// Loads images from a `docker save` tar on the target.
pub fn load_image(target: &str, path: &str) -> Result<Vec<String>, Error> {
    Ok(wit::load_image(target, path)?)
}

/// Starts a swarm with the target as its first manager; returns the node id.
pub fn swarm_init(target: &str, advertise_addr: Option<&str>) -> Result<String, Error> {
    Ok(wit::swarm_init(target, advertise_addr)?)
}

/// Joins the target to `manager`'s swarm (the host handles the token).
pub fn swarm_join(
    target: &str,
    manager: &str,
    role: NodeRole,
    advertise_addr: Option<&str>,
) -> Result<(), Error> {
    Ok(wit::swarm_join(target, manager, role, advertise_addr)?)
}

/// Leaves the swarm.
pub fn swarm_leave(target: &str, force: bool) -> Result<(), Error> {
    Ok(wit::swarm_leave(target, force)?)
}

/// The `Version.Index` of an inspected swarm object (what `update` needs).
pub fn version_of(object: &Value) -> u64 {
    object["Version"]["Index"].as_u64().unwrap_or(0)
}
