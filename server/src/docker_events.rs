//! Docker changes as events: while a plugin subscribes to
//! `container-changed`, `service-changed` or `node-changed`, the service
//! follows the Docker engines it can reach (`local`, and every inventory
//! host that names a Docker socket) from their event streams, and
//! announces each change of a container, a swarm service or a node with
//! the object's row as it is after the change. Nothing is followed while
//! nobody subscribes; a lost stream is followed again after a pause.

use std::collections::HashMap;
use std::time::Duration;

use capstan_engine::docker::{LiveEngine, ViewChange};
use capstan_engine::inventory::HostRules;
use capstan_wire::events::EventKind;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::AppState;

/// The event kinds Docker changes are announced as.
pub const DOCKER_KINDS: [EventKind; 3] = [
    EventKind::ContainerChanged,
    EventKind::ServiceChanged,
    EventKind::NodeChanged,
];

/// How often the subscribers and the engines to follow are read again.
pub const LOOK_EVERY: Duration = Duration::from_secs(2);

/// The longest pause before following a lost stream again.
const RETRY_AT_MOST: Duration = Duration::from_secs(30);

/// Follows the engines to follow, as subscriptions and the inventory
/// change, until `stop` is cancelled.
pub async fn run(state: AppState, stop: CancellationToken) {
    let mut following: HashMap<String, JoinHandle<()>> = HashMap::new();
    loop {
        let wanted = engines_to_follow(&state);
        following.retain(|host, task| {
            let keep = wanted.contains(host) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for host in wanted {
            following
                .entry(host.clone())
                .or_insert_with(|| tokio::spawn(follow(state.clone(), host)));
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(LOOK_EVERY) => {}
        }
    }
    for task in following.into_values() {
        task.abort();
    }
}

/// `local` and the inventory hosts with a Docker socket, when a plugin
/// subscribes to a Docker kind; none otherwise.
fn engines_to_follow(state: &AppState) -> Vec<String> {
    let subscribed = DOCKER_KINDS.iter().any(|kind| {
        state
            .capstan
            .subscribers(*kind)
            .is_ok_and(|plugins| !plugins.is_empty())
    });
    if !subscribed {
        return Vec::new();
    }
    let mut hosts = vec!["local".to_string()];
    match state.capstan.hosts() {
        Ok(inventory) => hosts.extend(
            inventory
                .into_iter()
                .filter(|h| h.docker_socket().is_some() && h.name != "local")
                .map(|h| h.name),
        ),
        Err(e) => tracing::error!("reading the inventory for Docker engines failed: {e}"),
    }
    hosts
}

/// Follows `host`'s engine, again after each loss, announcing its changes.
async fn follow(state: AppState, host: String) {
    let mut pause = Duration::from_secs(1);
    loop {
        let ended = match state.capstan.docker_engine(&host).await {
            Ok(engine) => {
                let (state, on) = (state.clone(), host.clone());
                LiveEngine::follow(engine, move |view, change| {
                    announce(&state, &on, view, change);
                    true
                })
                .await
                .map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        match ended {
            Ok(()) => tracing::info!(%host, "the Docker event stream ended; following it again"),
            Err(e) => tracing::warn!(%host, "following the Docker engine failed: {e}"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RETRY_AT_MOST);
    }
}

/// Publishes one change of the view, when it is of a kind events carry.
fn announce(state: &AppState, host: &str, view: &LiveEngine, change: &ViewChange) {
    let Some((kind, row)) = changed_row(view, change) else {
        return;
    };
    let data = json!({
        "host": host,
        "id": change.id,
        "action": change.action,
        "row": row,
    });
    if let Err(e) = state.events.publish(kind, Some(host.to_string()), data) {
        tracing::error!(%kind, "announcing a Docker change failed: {e}");
    }
}

/// The event kind of `change` and its object's row now (null once gone).
fn changed_row(view: &LiveEngine, change: &ViewChange) -> Option<(EventKind, Value)> {
    if change.id.is_empty() {
        // The first listing, and the services' re-reads that name no object.
        return None;
    }
    // Events name objects by a short id, rows by theirs: one is the
    // other's start.
    let same =
        |id: &str| !id.is_empty() && (id.starts_with(&change.id) || change.id.starts_with(id));
    fn row_of<T: serde::Serialize>(
        rows: Vec<T>,
        id: impl Fn(&T) -> &str,
        same: impl Fn(&str) -> bool,
    ) -> Value {
        rows.into_iter()
            .find(|row| same(id(row)))
            .and_then(|row| serde_json::to_value(row).ok())
            .unwrap_or(Value::Null)
    }
    Some(match change.kind.as_str() {
        "container" => (
            EventKind::ContainerChanged,
            row_of(view.containers(), |c| &c.id, same),
        ),
        "service" => (
            EventKind::ServiceChanged,
            row_of(view.services(), |s| &s.id, same),
        ),
        "node" => (
            EventKind::NodeChanged,
            row_of(view.nodes(), |n| &n.id, same),
        ),
        _ => return None,
    })
}
