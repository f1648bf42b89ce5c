//! Events a running Capstan announces to the plugins that subscribed to
//! them (contract 0.2's `handler`), and what a producer learns back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

named_enum! {
    /// What happened; a plugin's manifest subscribes with these names.
    pub enum EventKind {
        /// A job ended, whatever its outcome.
        JobFinished = "job-finished",
        /// A schedule fired and started a job.
        ScheduleFired = "schedule-fired",
        /// A webhook delivery was accepted and started a job.
        WebhookReceived = "webhook-received",
        /// A container on a target's Docker engine changed state.
        ContainerChanged = "container-changed",
        /// A swarm service was created, updated or removed.
        ServiceChanged = "service-changed",
        /// A swarm node joined, changed or left.
        NodeChanged = "node-changed",
        /// Something is about to happen and its producer waits for
        /// subscribers to acknowledge (a task about to stop).
        Announcement = "announcement",
    }
}

named_from_str!(EventKind, "event kind");

/// One event, as handlers receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Increasing; a redelivery, also by a restarted service, carries the
    /// same id.
    pub id: u64,
    /// What happened.
    pub kind: EventKind,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The target it concerns, when it concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Its details, a JSON object whose fields depend on the kind.
    pub data: Value,
}

/// What a producer that waited for acknowledgements learns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Acknowledgements {
    /// The event's id.
    pub event: u64,
    /// Subscribers that handled it in time.
    pub acknowledged: Vec<String>,
    /// Subscribers that had not handled it when the wait ended.
    pub pending: Vec<String>,
    /// Subscribers that gave up on it (every attempt failed, or their
    /// backlog was full), with why.
    pub failed: Vec<GaveUp>,
}

/// A subscriber that gave up on an event, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GaveUp {
    /// The plugin.
    pub plugin: String,
    /// Why it never handled the event.
    pub reason: String,
}

impl Acknowledgements {
    /// True when every subscriber handled the event.
    pub fn complete(&self) -> bool {
        self.pending.is_empty() && self.failed.is_empty()
    }
}

/// How one subscribed plugin is doing, since the service started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriberStatus {
    /// The plugin.
    pub plugin: String,
    /// Events it acknowledged.
    pub delivered: u64,
    /// Attempts it refused or failed (each retried, up to the limit).
    pub retried: u64,
    /// Events it never got: out of attempts, backlog full, or not
    /// granted `events`.
    pub dropped: u64,
    /// Events waiting for it now.
    pub backlog: u64,
    /// The last reason an attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}
