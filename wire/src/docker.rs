//! Docker: render-ready rows of a host's engine (what a table in the
//! window or the CLI shows of each object), the live view the window
//! follows, and a followed container's output.

use serde::{Deserialize, Serialize};

named_enum! {
    /// Where a container is in its life, in the Engine API's words.
    pub enum ContainerState {
        /// Made, never started.
        Created = "created",
        /// Its main process runs.
        Running = "running",
        /// Frozen by `docker pause`.
        Paused = "paused",
        /// Being restarted by its restart policy.
        Restarting = "restarting",
        /// Being removed.
        Removing = "removing",
        /// Stopped.
        Exited = "exited",
        /// Could not be stopped or removed cleanly.
        Dead = "dead",
        /// A state this version of Capstan does not know.
        Unknown = "unknown",
    }
}

named_enum! {
    /// How a swarm service places its tasks.
    pub enum ServiceMode {
        /// A fixed number of replicas.
        Replicated = "replicated",
        /// One task on every node.
        Global = "global",
    }
}

named_enum! {
    /// Where a service's last rolling update is.
    pub enum UpdateState {
        /// Rolling out.
        Updating = "updating",
        /// Stopped by a failure, waiting for a person.
        Paused = "paused",
        /// Done.
        Completed = "completed",
        /// Rolling back.
        RollbackStarted = "rollback_started",
        /// A rollback stopped by a failure.
        RollbackPaused = "rollback_paused",
        /// Rolled back.
        RollbackCompleted = "rollback_completed",
        /// A state this version of Capstan does not know.
        Unknown = "unknown",
    }
}

named_enum! {
    /// A swarm node's part.
    pub enum NodeRole {
        /// Holds the swarm's state and schedules.
        Manager = "manager",
        /// Only runs tasks.
        Worker = "worker",
        /// A role this version of Capstan does not know.
        Unknown = "unknown",
    }
}

named_enum! {
    /// Whether a swarm node takes tasks.
    pub enum NodeAvailability {
        /// Takes new tasks.
        Active = "active",
        /// Keeps its tasks, takes no new ones.
        Pause = "pause",
        /// Its tasks move elsewhere.
        Drain = "drain",
        /// An availability this version of Capstan does not know.
        Unknown = "unknown",
    }
}

named_enum! {
    /// A swarm node's health as the managers see it.
    pub enum NodeState {
        /// Up and talking to the managers.
        Ready = "ready",
        /// Gone.
        Down = "down",
        /// Lost contact.
        Disconnected = "disconnected",
        /// Not known yet.
        Unknown = "unknown",
    }
}

named_enum! {
    /// Where a swarm task is (or where Swarm wants it).
    pub enum TaskState {
        /// Just created.
        New = "new",
        /// Resources allocated.
        Allocated = "allocated",
        /// Waiting for a node.
        Pending = "pending",
        /// Given to a node.
        Assigned = "assigned",
        /// Taken by the node.
        Accepted = "accepted",
        /// Pulling its image, preparing.
        Preparing = "preparing",
        /// Ready to start.
        Ready = "ready",
        /// Its container is being started.
        Starting = "starting",
        /// Its container runs.
        Running = "running",
        /// Exited successfully.
        Complete = "complete",
        /// Stopped on purpose.
        Shutdown = "shutdown",
        /// Exited with an error.
        Failed = "failed",
        /// Refused by its node.
        Rejected = "rejected",
        /// Being removed.
        Remove = "remove",
        /// Its node is gone.
        Orphaned = "orphaned",
        /// A state this version of Capstan does not know.
        Unknown = "unknown",
    }
}

/// One container as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerRow {
    /// Short id (12 characters).
    pub id: String,
    /// Name, without the leading `/`.
    pub name: String,
    /// Image as the container was created with it.
    pub image: String,
    /// Running, exited…
    pub state: ContainerState,
    /// The engine's human status (`Up 3 minutes (healthy)`).
    pub status: String,
    /// Published ports, `127.0.0.1:8080→80/tcp, …`.
    pub ports: String,
    /// The swarm service it is a task of, if any.
    pub service: Option<String>,
}

/// One swarm service as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceRow {
    /// Short id (12 characters, as `docker` prints it).
    pub id: String,
    /// Its name, unique on the engine.
    pub name: String,
    /// Replicated or global.
    pub mode: ServiceMode,
    /// Tasks running now.
    pub running: u64,
    /// Tasks wanted (replicas, or nodes for a global service).
    pub desired: u64,
    /// Image, without a digest.
    pub image: String,
    /// Published ports.
    pub ports: String,
    /// The last rolling update's state, if it was ever updated.
    pub update: Option<UpdateState>,
    /// The stack it belongs to, if any.
    pub stack: Option<String>,
}

/// One swarm node as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeRow {
    /// Short id (12 characters, as `docker` prints it).
    pub id: String,
    /// The node's hostname, as the swarm knows it.
    pub hostname: String,
    /// Manager or worker.
    pub role: NodeRole,
    /// Active, pause or drain.
    pub availability: NodeAvailability,
    /// Ready, down…
    pub state: NodeState,
    /// `Leader`, `reachable`… for managers (empty for workers).
    pub manager_status: String,
    /// Docker version.
    pub engine: String,
    /// Labels as `k=v`, sorted.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// One image as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageRow {
    /// Short id (without `sha256:`).
    pub id: String,
    /// `name:tag` references; empty for a dangling image.
    pub tags: Vec<String>,
    /// Size in bytes.
    pub size: u64,
    /// Creation time, seconds since the epoch.
    pub created: i64,
}

/// One network as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkRow {
    /// Short id (12 characters, as `docker` prints it).
    pub id: String,
    /// Its name, unique on the engine.
    pub name: String,
    /// `bridge`, `overlay`, `host`, `null`… (a driver is a plugin's name).
    pub driver: String,
    /// `local` or `swarm`.
    pub scope: String,
    /// Joinable by plain containers.
    pub attachable: bool,
    /// The stack it belongs to, if any.
    pub stack: Option<String>,
}

/// One volume as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VolumeRow {
    /// Its name, unique on the engine.
    pub name: String,
    /// The volume driver that keeps it (`local` unless a plugin does).
    pub driver: String,
    /// Where its data is on the host.
    pub mountpoint: String,
    /// The stack it belongs to, if any.
    pub stack: Option<String>,
}

/// One task (a replica of a service) as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskRow {
    /// Short id.
    pub id: String,
    /// Slot number of a replicated service (0 for a global one).
    pub slot: u64,
    /// The node it is on (hostname when known, else the node id).
    pub node: String,
    /// What Swarm wants of it: running, shutdown…
    pub desired: TaskState,
    /// Where it is: running, starting, failed, rejected…
    pub state: TaskState,
    /// Why it failed, when it did.
    pub error: String,
    /// Its image, without a digest.
    #[serde(default)]
    pub image: String,
}

/// A host's engine as the pages show it, pushed as it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DockerView {
    /// The stream that sent it.
    pub stream: u64,
    /// The host whose engine it shows, by its inventory name.
    pub host: String,
    /// Its containers, by name.
    pub containers: Vec<ContainerRow>,
    /// Its swarm services (a manager's), by name.
    pub services: Vec<ServiceRow>,
    /// Its swarm's nodes (a manager's).
    pub nodes: Vec<NodeRow>,
    /// Why the view stopped or could not start, if it did.
    pub error: Option<String>,
}

/// A piece of a followed container's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogChunk {
    /// The stream that sent it.
    pub stream: u64,
    /// The text (empty when `ended`).
    pub text: String,
    /// The container stopped, or the stream failed (`error` says why).
    pub ended: bool,
    /// Why it ended early.
    pub error: Option<String>,
}

/// A host's engine read once: every kind of object as rows (what the API
/// answers; the window follows a [`DockerView`] instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DockerSnapshot {
    /// The host whose engine it shows, by its inventory name.
    pub host: String,
    /// Its containers, in every state.
    pub containers: Vec<ContainerRow>,
    /// Its swarm services (empty outside a swarm manager).
    pub services: Vec<ServiceRow>,
    /// Its swarm's nodes (empty outside a swarm manager).
    pub nodes: Vec<NodeRow>,
    /// Its images.
    pub images: Vec<ImageRow>,
    /// Its networks.
    pub networks: Vec<NetworkRow>,
    /// Its volumes.
    pub volumes: Vec<VolumeRow>,
}

/// A container's latest output, read once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerLogs {
    /// The container, as it was named.
    pub container: String,
    /// Its last lines, stdout and stderr interleaved.
    pub text: String,
}
