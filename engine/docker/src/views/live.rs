//! A host's engine kept current from its event stream: subscribe first,
//! list everything once, then re-read only what an event names.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::rows::{
    ContainerRow, ImageRow, NetworkRow, NodeRow, ServiceRow, VolumeRow, container_rows,
};
use crate::{DockerError, Engine, ObjectKind};

/// How long the event stream must be quiet before the services are read
/// again after a task's container changed, and how many times.
const SETTLE_EVERY: Duration = Duration::from_millis(400);
const SETTLE_READS: u32 = 8;
/// How long the re-reads go on past [`SETTLE_READS`] while a service runs
/// fewer tasks than it wants: on a loaded machine Swarm recorded a started
/// task more than 8 re-reads after its container's event, and no later
/// event came to show it (the window kept `0 / 1`).
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// A change the live view applied.
#[derive(Debug, Clone)]
pub struct ViewChange {
    /// What kind of object changed (`container`, `service`, `node`,
    /// `image`, `network`, `volume`), or `listed` for the first load.
    pub kind: String,
    /// The object's short id (empty for `listed`).
    pub id: String,
    /// The event's action (`start`, `die`, `update`…).
    pub action: String,
    /// When the engine said it happened (its `timeNano`; 0 for `listed`).
    pub event_time_nanos: i64,
    /// When the view held the new state.
    pub applied_at: Instant,
}

#[derive(Default)]
struct Snapshot {
    containers: BTreeMap<String, ContainerRow>,
    services: Vec<ServiceRow>,
    nodes: Vec<NodeRow>,
    images: Vec<ImageRow>,
    networks: Vec<NetworkRow>,
    volumes: Vec<VolumeRow>,
}

/// Everything a host's engine holds, as rows, kept current.
#[derive(Clone, Default)]
pub struct LiveEngine {
    state: Arc<Mutex<Snapshot>>,
}

impl LiveEngine {
    /// Loads every list once, then follows the event stream until it ends
    /// or `on_change` returns false.
    pub async fn follow(
        engine: Engine,
        on_change: impl Fn(&LiveEngine, &ViewChange) -> bool + Send + 'static,
    ) -> Result<(), DockerError> {
        let view = LiveEngine::default();
        // Subscribe first, then list: nothing between the two is missed.
        let mut events = engine
            .client()
            .events(None::<bollard::query_parameters::EventsOptions>);
        for kind in ["container", "service", "node", "image", "network", "volume"] {
            view.refresh(&engine, kind, None).await?;
        }
        let listed = ViewChange {
            kind: "listed".into(),
            id: String::new(),
            action: String::new(),
            event_time_nanos: 0,
            applied_at: Instant::now(),
        };
        if !on_change(&view, &listed) {
            return Ok(());
        }
        // Re-reads of the services still due after a task's container
        // changed: Swarm records the task's new state a moment after the
        // container's event, and nothing else tells when it did.
        let mut settling: u32 = 0;
        let mut settle_until = Instant::now();
        loop {
            let next = if settling > 0 {
                match tokio::time::timeout(SETTLE_EVERY, events.next()).await {
                    Ok(next) => next,
                    Err(_quiet) => {
                        settling -= 1;
                        let before = view.services();
                        view.refresh(&engine, "service", None).await?;
                        let converging = view.services().iter().any(|s| s.running != s.desired);
                        if settling == 0 && converging && Instant::now() < settle_until {
                            settling = 1;
                        }
                        if view.services() != before {
                            let change = ViewChange {
                                kind: "service".into(),
                                id: String::new(),
                                action: "settled".into(),
                                event_time_nanos: 0,
                                applied_at: Instant::now(),
                            };
                            if !on_change(&view, &change) {
                                return Ok(());
                            }
                        }
                        continue;
                    }
                }
            } else {
                events.next().await
            };
            let Some(event) = next else {
                break;
            };
            let event = event.map_err(|e| DockerError::from_bollard(engine.endpoint(), e))?;
            let kind = event.typ.map(|t| t.to_string()).unwrap_or_default();
            let action = event.action.unwrap_or_default();
            // Exec and health-probe chatter changes no row.
            if action.starts_with("exec_") {
                continue;
            }
            let actor = event.actor.unwrap_or_default();
            let id = actor.id.unwrap_or_default();
            let attributes = actor.attributes.unwrap_or_default();
            view.refresh(&engine, &kind, Some(&id)).await?;
            // A task's container changing moves its service's counts.
            if kind == "container" && attributes.contains_key("com.docker.swarm.service.id") {
                view.refresh(&engine, "service", None).await?;
                settling = SETTLE_READS;
                settle_until = Instant::now() + SETTLE_LIMIT;
            }
            let change = ViewChange {
                kind,
                id: id.chars().take(12).collect(),
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

    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-reads one kind: a single container when `id` names one, else
    /// the whole (short) list.
    async fn refresh(
        &self,
        engine: &Engine,
        kind: &str,
        id: Option<&str>,
    ) -> Result<(), DockerError> {
        match (kind, id) {
            ("container", Some(id)) => {
                let filters = HashMap::from([("id".to_string(), vec![id.to_string()])]);
                let now = engine.list(ObjectKind::Container, filters).await?;
                let short: String = id.chars().take(12).collect();
                let mut state = self.lock();
                match container_rows(&now).into_iter().next() {
                    Some(row) => state.containers.insert(short, row),
                    None => state.containers.remove(&short),
                };
            }
            ("container", None) => {
                let rows = engine.container_rows().await?;
                self.lock().containers = rows.into_iter().map(|r| (r.id.clone(), r)).collect();
            }
            ("service", _) => {
                let rows = engine.service_rows().await?;
                self.lock().services = rows;
            }
            ("node", _) => {
                let (nodes, services) = (engine.node_rows().await?, engine.service_rows().await?);
                let mut state = self.lock();
                state.nodes = nodes;
                state.services = services;
            }
            ("image", _) => {
                let rows = engine.image_rows().await?;
                self.lock().images = rows;
            }
            ("network", _) => {
                let rows = engine.network_rows().await?;
                self.lock().networks = rows;
            }
            ("volume", _) => {
                let rows = engine.volume_rows().await?;
                self.lock().volumes = rows;
            }
            _ => {}
        }
        Ok(())
    }

    /// The containers now, by name.
    pub fn containers(&self) -> Vec<ContainerRow> {
        let mut rows: Vec<ContainerRow> = self.lock().containers.values().cloned().collect();
        capstan_wire::natural::sort_naturally(&mut rows, |r| &r.name);
        rows
    }

    /// One container by short id.
    pub fn container(&self, id: &str) -> Option<ContainerRow> {
        self.lock().containers.get(id).cloned()
    }

    /// The swarm's services now.
    pub fn services(&self) -> Vec<ServiceRow> {
        self.lock().services.clone()
    }

    /// The swarm's nodes now.
    pub fn nodes(&self) -> Vec<NodeRow> {
        self.lock().nodes.clone()
    }

    /// The images now.
    pub fn images(&self) -> Vec<ImageRow> {
        self.lock().images.clone()
    }

    /// The networks now.
    pub fn networks(&self) -> Vec<NetworkRow> {
        self.lock().networks.clone()
    }

    /// The volumes now.
    pub fn volumes(&self) -> Vec<VolumeRow> {
        self.lock().volumes.clone()
    }
}
