//! What the window and `capstan containers|services|nodes` show of an
//! engine: render-ready rows summarised from the Engine API's documents,
//! and a live view of a host's containers kept current from the engine's
//! event stream (never by polling).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;

use super::{DockerError, Engine, ObjectKind};

/// One container as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerRow {
    /// Short id (12 characters).
    pub id: String,
    /// Name, without the leading `/`.
    pub name: String,
    /// Image as the container was created with it.
    pub image: String,
    /// `running`, `exited`, `created`, `paused`, `restarting`, `dead`.
    pub state: String,
    /// The engine's human status (`Up 3 minutes (healthy)`).
    pub status: String,
    /// Published ports, `127.0.0.1:8080→80/tcp, …`.
    pub ports: String,
    /// The swarm service it is a task of, if any.
    pub service: Option<String>,
}

/// One swarm service as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceRow {
    /// Short id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `replicated` or `global`.
    pub mode: String,
    /// Tasks running now.
    pub running: u64,
    /// Tasks wanted (replicas, or nodes for a global service).
    pub desired: u64,
    /// Image, without a digest.
    pub image: String,
    /// Published ports.
    pub ports: String,
    /// The last rolling update's state (`completed`, `rollback_completed`…).
    pub update: String,
    /// The stack it belongs to, if any.
    pub stack: Option<String>,
}

/// One swarm node as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeRow {
    /// Short id.
    pub id: String,
    /// Hostname.
    pub hostname: String,
    /// `manager` or `worker`.
    pub role: String,
    /// `active`, `pause` or `drain`.
    pub availability: String,
    /// `ready`, `down`…
    pub state: String,
    /// `Leader`, `Reachable`… for managers.
    pub manager_status: String,
    /// Docker version.
    pub engine: String,
    /// Labels as `k=v`, sorted.
    pub labels: Vec<String>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
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
    rows.sort_by(|a, b| a.name.cmp(&b.name));
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
        state: text(&c["State"]),
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
                Some(n) => ("replicated", n),
                None => ("global", nodes as u64),
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
                mode: mode.into(),
                running: running.get(&text(&s["ID"])).copied().unwrap_or(0),
                desired,
                image,
                ports,
                update: text(&s["UpdateStatus"]["State"]),
                stack: spec["Labels"]["com.docker.stack.namespace"]
                    .as_str()
                    .map(String::from),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
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
                role: text(&n["Spec"]["Role"]),
                availability: text(&n["Spec"]["Availability"]),
                state: text(&n["Status"]["State"]),
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
    rows.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    rows
}

impl Engine {
    /// The containers (all states) as rows.
    pub async fn container_rows(&self) -> Result<Vec<ContainerRow>, DockerError> {
        Ok(container_rows(
            &self.list(ObjectKind::Container, HashMap::new()).await?,
        ))
    }

    /// The swarm's services as rows (an engine outside a swarm has none).
    pub async fn service_rows(&self) -> Result<Vec<ServiceRow>, DockerError> {
        if !self.is_swarm_manager().await? {
            return Ok(Vec::new());
        }
        let services = self.list(ObjectKind::Service, HashMap::new()).await?;
        let tasks = self.list(ObjectKind::Task, HashMap::new()).await?;
        let nodes = self.list(ObjectKind::Node, HashMap::new()).await?;
        Ok(service_rows(
            &services,
            &tasks,
            nodes.as_array().map_or(0, Vec::len),
        ))
    }

    /// The swarm's nodes as rows (an engine outside a swarm has none).
    pub async fn node_rows(&self) -> Result<Vec<NodeRow>, DockerError> {
        if !self.is_swarm_manager().await? {
            return Ok(Vec::new());
        }
        Ok(node_rows(
            &self.list(ObjectKind::Node, HashMap::new()).await?,
        ))
    }

    async fn is_swarm_manager(&self) -> Result<bool, DockerError> {
        let info = self.info().await?;
        Ok(info["Swarm"]["ControlAvailable"] == true)
    }

    /// Follows a container's output: each chunk as it is written, from the
    /// last `tail` lines on, until the container stops.
    pub fn follow_logs(
        &self,
        container: &str,
        tail: u32,
    ) -> impl futures_util::Stream<Item = Result<String, DockerError>> + '_ {
        let options = bollard::query_parameters::LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        self.client()
            .logs(container, Some(options))
            .map(move |chunk| {
                chunk
                    .map(|c| String::from_utf8_lossy(&c.into_bytes()).into_owned())
                    .map_err(|e| DockerError::from_bollard(self.endpoint(), e))
            })
    }
}

/// A change the live view applied.
#[derive(Debug, Clone)]
pub struct ViewChange {
    /// The container's short id.
    pub id: String,
    /// The event's action (`start`, `die`, `destroy`…).
    pub action: String,
    /// When the engine said it happened (its `timeNano`).
    pub event_time_nanos: i64,
    /// When the view held the new state.
    pub applied_at: Instant,
}

/// A host's containers, kept current from the engine's event stream.
#[derive(Clone)]
pub struct LiveContainers {
    rows: Arc<Mutex<BTreeMap<String, ContainerRow>>>,
}

impl LiveContainers {
    /// Loads the list once, then follows the event stream until it ends or
    /// `on_change` returns false. Each container event re-reads that one
    /// container (or drops it on `destroy`).
    pub async fn follow(
        engine: Engine,
        on_change: impl Fn(&LiveContainers, &ViewChange) -> bool + Send + 'static,
    ) -> Result<(), DockerError> {
        let view = LiveContainers {
            rows: Arc::default(),
        };
        // Subscribe first, then list: nothing between the two is missed.
        let options = bollard::query_parameters::EventsOptions {
            filters: Some(HashMap::from([(
                "type".to_string(),
                vec!["container".to_string()],
            )])),
            ..Default::default()
        };
        let mut events = engine.client().events(Some(options));
        for row in engine.container_rows().await? {
            view.rows
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(row.id.clone(), row);
        }
        let ready = ViewChange {
            id: String::new(),
            action: "listed".into(),
            event_time_nanos: 0,
            applied_at: Instant::now(),
        };
        if !on_change(&view, &ready) {
            return Ok(());
        }
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| DockerError::from_bollard(engine.endpoint(), e))?;
            let Some(id) = event.actor.and_then(|a| a.id) else {
                continue;
            };
            let action = event.action.unwrap_or_default();
            // Exec and health-probe chatter does not change the row.
            if action.starts_with("exec_")
                || action.starts_with("health_status") && !action.contains(':')
            {
                continue;
            }
            let short_id: String = id.chars().take(12).collect();
            let filters = HashMap::from([("id".to_string(), vec![id.clone()])]);
            let now = engine.list(ObjectKind::Container, filters).await?;
            {
                let mut rows = view.rows.lock().unwrap_or_else(|e| e.into_inner());
                match container_rows(&now).into_iter().next() {
                    Some(row) => {
                        rows.insert(short_id.clone(), row);
                    }
                    None => {
                        rows.remove(&short_id);
                    }
                }
            }
            let change = ViewChange {
                id: short_id,
                action,
                event_time_nanos: event.time_nano.unwrap_or(0),
                applied_at: Instant::now(),
            };
            if !on_change(&view, &change) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The rows now, by name.
    pub fn rows(&self) -> Vec<ContainerRow> {
        let mut rows: Vec<ContainerRow> = self
            .rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        rows
    }

    /// One row by short id.
    pub fn get(&self, id: &str) -> Option<ContainerRow> {
        self.rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }
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
