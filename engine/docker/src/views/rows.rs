//! Render-ready rows summarised from the Engine API's documents: what a
//! table in the window or the CLI shows of each object.

use std::collections::HashMap;

pub use capstan_wire::docker::{
    ContainerRow, ContainerState, ImageRow, NetworkRow, NodeAvailability, NodeRole, NodeRow,
    NodeState, ServiceMode, ServiceRow, TaskRow, TaskState, UpdateState, VolumeRow,
};
use serde_json::Value;

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// The engine's word at `value` as one of a wire enum's names, or
/// `unknown` for a word this version does not know.
fn word<T>(value: &Value, from_name: fn(&str) -> Option<T>, unknown: T) -> T {
    value.as_str().and_then(from_name).unwrap_or(unknown)
}

fn short(id: &Value) -> String {
    text(id).chars().take(12).collect()
}

/// Rows for a `/containers/json` list.
pub fn container_rows(list: &Value) -> Vec<ContainerRow> {
    let mut rows: Vec<ContainerRow> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(container_row)
        .collect();
    capstan_wire::natural::sort_naturally(&mut rows, |r| &r.name);
    rows
}

fn container_row(c: &Value) -> ContainerRow {
    let name = c["Names"][0]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    let ports = c["Ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let private = p["PrivatePort"].as_u64()?;
            let proto = p["Type"].as_str().unwrap_or("tcp");
            Some(match p["PublicPort"].as_u64() {
                Some(public) => format!(
                    "{}:{public}→{private}/{proto}",
                    p["IP"].as_str().unwrap_or("")
                ),
                None => format!("{private}/{proto}"),
            })
        })
        .collect::<Vec<_>>();
    let mut ports = ports;
    ports.dedup();
    ContainerRow {
        id: short(&c["Id"]),
        name,
        image: text(&c["Image"]),
        state: word(
            &c["State"],
            ContainerState::from_name,
            ContainerState::Unknown,
        ),
        status: text(&c["Status"]),
        ports: ports.join(", "),
        service: c["Labels"]["com.docker.swarm.service.name"]
            .as_str()
            .map(String::from),
    }
}

/// Rows for a `/services` list, with the running counts from `/tasks`.
pub fn service_rows(services: &Value, tasks: &Value, nodes: usize) -> Vec<ServiceRow> {
    let mut running: HashMap<String, u64> = HashMap::new();
    for task in tasks.as_array().into_iter().flatten() {
        if task["Status"]["State"] == "running" && task["DesiredState"] == "running" {
            *running.entry(text(&task["ServiceID"])).or_default() += 1;
        }
    }
    let mut rows: Vec<ServiceRow> = services
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let spec = &s["Spec"];
            let (mode, desired) = match spec["Mode"]["Replicated"]["Replicas"].as_u64() {
                Some(n) => (ServiceMode::Replicated, n),
                None => (ServiceMode::Global, nodes as u64),
            };
            let image = text(&spec["TaskTemplate"]["ContainerSpec"]["Image"]);
            let image = image.split('@').next().unwrap_or_default().to_string();
            let ports = s["Endpoint"]["Ports"]
                .as_array()
                .or_else(|| spec["EndpointSpec"]["Ports"].as_array())
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "{}→{}/{} ({})",
                        p["PublishedPort"].as_u64().unwrap_or(0),
                        p["TargetPort"].as_u64().unwrap_or(0),
                        p["Protocol"].as_str().unwrap_or("tcp"),
                        p["PublishMode"].as_str().unwrap_or("ingress")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            ServiceRow {
                id: short(&s["ID"]),
                name: text(&spec["Name"]),
                mode,
                running: running.get(&text(&s["ID"])).copied().unwrap_or(0),
                desired,
                image,
                ports,
                update: s["UpdateStatus"]["State"].is_string().then(|| {
                    word(
                        &s["UpdateStatus"]["State"],
                        UpdateState::from_name,
                        UpdateState::Unknown,
                    )
                }),
                stack: spec["Labels"]["com.docker.stack.namespace"]
                    .as_str()
                    .map(String::from),
            }
        })
        .collect();
    capstan_wire::natural::sort_naturally(&mut rows, |r| &r.name);
    rows
}

/// Rows for a `/nodes` list.
pub fn node_rows(nodes: &Value) -> Vec<NodeRow> {
    let mut rows: Vec<NodeRow> = nodes
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            let mut labels: Vec<String> = n["Spec"]["Labels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            labels.sort();
            NodeRow {
                id: short(&n["ID"]),
                hostname: text(&n["Description"]["Hostname"]),
                role: word(&n["Spec"]["Role"], NodeRole::from_name, NodeRole::Unknown),
                availability: word(
                    &n["Spec"]["Availability"],
                    NodeAvailability::from_name,
                    NodeAvailability::Unknown,
                ),
                state: word(
                    &n["Status"]["State"],
                    NodeState::from_name,
                    NodeState::Unknown,
                ),
                manager_status: if n["ManagerStatus"]["Leader"] == true {
                    "Leader".into()
                } else {
                    text(&n["ManagerStatus"]["Reachability"])
                },
                engine: text(&n["Description"]["Engine"]["EngineVersion"]),
                labels,
            }
        })
        .collect();
    capstan_wire::natural::sort_naturally(&mut rows, |r| &r.hostname);
    rows
}

/// Rows for a `/images/json` list.
pub fn image_rows(list: &Value) -> Vec<ImageRow> {
    let mut rows: Vec<ImageRow> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| ImageRow {
            id: text(&i["Id"])
                .trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect(),
            tags: i["RepoTags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|t| *t != "<none>:<none>")
                .map(String::from)
                .collect(),
            size: i["Size"].as_u64().unwrap_or(0),
            created: i["Created"].as_i64().unwrap_or(0),
        })
        .collect();
    rows.sort_by(|a, b| a.tags.first().cmp(&b.tags.first()).then(a.id.cmp(&b.id)));
    rows
}

/// Rows for a `/networks` list.
pub fn network_rows(list: &Value) -> Vec<NetworkRow> {
    let mut rows: Vec<NetworkRow> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| NetworkRow {
            id: short(&n["Id"]),
            name: text(&n["Name"]),
            driver: text(&n["Driver"]),
            scope: text(&n["Scope"]),
            attachable: n["Attachable"] == true,
            stack: n["Labels"]["com.docker.stack.namespace"]
                .as_str()
                .map(String::from),
        })
        .collect();
    capstan_wire::natural::sort_naturally(&mut rows, |r| &r.name);
    rows
}

/// Rows for a `/volumes` list (its `Volumes` array).
pub fn volume_rows(list: &Value) -> Vec<VolumeRow> {
    let mut rows: Vec<VolumeRow> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| VolumeRow {
            name: text(&v["Name"]),
            driver: text(&v["Driver"]),
            mountpoint: text(&v["Mountpoint"]),
            stack: v["Labels"]["com.docker.stack.namespace"]
                .as_str()
                .map(String::from),
        })
        .collect();
    capstan_wire::natural::sort_naturally(&mut rows, |r| &r.name);
    rows
}

/// Rows for a `/tasks` list, newest state first per slot; `nodes` maps
/// node ids to hostnames.
pub fn task_rows(list: &Value, nodes: &HashMap<String, String>) -> Vec<TaskRow> {
    let mut tasks: Vec<&Value> = list.as_array().into_iter().flatten().collect();
    tasks.sort_by(|a, b| {
        let slot = |t: &Value| t["Slot"].as_u64().unwrap_or(0);
        let at = |t: &Value| text(&t["Status"]["Timestamp"]);
        slot(a).cmp(&slot(b)).then(at(b).cmp(&at(a)))
    });
    tasks
        .into_iter()
        .map(|t| {
            let node_id = text(&t["NodeID"]);
            TaskRow {
                id: short(&t["ID"]),
                slot: t["Slot"].as_u64().unwrap_or(0),
                node: nodes.get(&node_id).cloned().unwrap_or(node_id),
                desired: word(&t["DesiredState"], TaskState::from_name, TaskState::Unknown),
                state: word(
                    &t["Status"]["State"],
                    TaskState::from_name,
                    TaskState::Unknown,
                ),
                error: text(&t["Status"]["Err"]),
                image: text(&t["Spec"]["ContainerSpec"]["Image"])
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_container_list_becomes_rows_with_ports_and_service() {
        let list = json!([{
            "Id": "0123456789abcdef", "Names": ["/web"], "Image": "web:1", "State": "running",
            "Status": "Up 2 minutes (healthy)",
            "Ports": [{ "IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp" }, { "PrivatePort": 53, "Type": "udp" }],
            "Labels": { "com.docker.swarm.service.name": "app_web" }
        }]);
        let rows = container_rows(&list);
        assert_eq!(rows[0].id, "0123456789ab");
        assert_eq!(rows[0].name, "web");
        assert_eq!(rows[0].ports, "127.0.0.1:8080→80/tcp, 53/udp");
        assert_eq!(rows[0].service.as_deref(), Some("app_web"));
    }

    #[test]
    fn tasks_are_ordered_by_slot_newest_first_with_node_names() {
        let tasks = json!([
            { "ID": "t-old", "Slot": 1, "NodeID": "n1", "DesiredState": "shutdown",
              "Status": { "State": "failed", "Err": "task: non-zero exit (3)", "Timestamp": "2026-01-01T00:00:01Z" },
              "Spec": { "ContainerSpec": { "Image": "web:3@sha256:x" } } },
            { "ID": "t-new", "Slot": 1, "NodeID": "n1", "DesiredState": "running",
              "Status": { "State": "running", "Timestamp": "2026-01-01T00:00:05Z" },
              "Spec": { "ContainerSpec": { "Image": "web:2" } } }
        ]);
        let nodes = HashMap::from([("n1".to_string(), "w1".to_string())]);
        let rows = task_rows(&tasks, &nodes);
        assert_eq!(rows[0].id, "t-new");
        assert_eq!(
            (rows[1].state, rows[1].error.as_str()),
            (TaskState::Failed, "task: non-zero exit (3)")
        );
        assert_eq!(
            (rows[1].node.as_str(), rows[1].image.as_str()),
            ("w1", "web:3")
        );
    }

    #[test]
    fn services_count_running_tasks() {
        let services = json!([{ "ID": "s1", "Spec": { "Name": "app_web", "Mode": { "Replicated": { "Replicas": 3 } },
            "Labels": { "com.docker.stack.namespace": "app" },
            "TaskTemplate": { "ContainerSpec": { "Image": "web:2@sha256:abc" } } },
            "UpdateStatus": { "State": "completed" } }]);
        let tasks = json!([
            { "ServiceID": "s1", "DesiredState": "running", "Status": { "State": "running" } },
            { "ServiceID": "s1", "DesiredState": "running", "Status": { "State": "starting" } },
            { "ServiceID": "s1", "DesiredState": "shutdown", "Status": { "State": "running" } }
        ]);
        let rows = service_rows(&services, &tasks, 1);
        assert_eq!((rows[0].running, rows[0].desired), (1, 3));
        assert_eq!(rows[0].image, "web:2");
        assert_eq!(rows[0].stack.as_deref(), Some("app"));
    }
}
