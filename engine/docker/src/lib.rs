//! Docker engines: reaching a target's engine (local socket, or through the
//! target's SSH connection), the operations plugins and views use, and the
//! live views of a host's containers, services and nodes.

mod connect;
mod engine;
mod error;
mod raw;
mod views;

pub use connect::{DEFAULT_SOCKET, socket_from_docker_host};
pub use engine::{
    BuildRequest, ByteStream, ContainerOp, Engine, NodeRole, ObjectKind, redact_tokens,
};
pub use error::DockerError;
pub use views::{
    ContainerRow, ImageRow, LiveEngine, NetworkRow, NodeRow, ServiceRow, TaskRow, ViewChange,
    VolumeRow, container_rows, image_rows, network_rows, node_rows, service_rows, task_rows,
    volume_rows,
};

use tokio::sync::OnceCell;

use capstan_remote::Transport;

/// A target's engine, connected on first use and shared by every call of
/// a run on that target.
#[derive(Debug, Default)]
pub struct EngineCell {
    socket: Option<String>,
    engine: OnceCell<Engine>,
}

impl EngineCell {
    /// An engine on `socket` (the default socket when `None`).
    pub fn new(socket: Option<String>) -> Self {
        EngineCell {
            socket,
            engine: OnceCell::new(),
        }
    }

    /// The socket path this target's engine listens on.
    pub fn socket(&self) -> &str {
        self.socket.as_deref().unwrap_or(DEFAULT_SOCKET)
    }

    /// The engine behind `transport` (of the target called `name`),
    /// connecting on first use.
    pub async fn engine(&self, transport: &Transport, name: &str) -> Result<Engine, DockerError> {
        self.engine
            .get_or_try_init(|| async {
                let socket = self.socket();
                let (raw_socket, endpoint) = match transport {
                    Transport::Local(_) => {
                        let from_env = std::env::var("DOCKER_HOST").ok();
                        let path = match (&self.socket, from_env) {
                            (None, Some(value)) => socket_from_docker_host(&value)
                                .map_err(|e| DockerError::Invalid(format!("DOCKER_HOST: {e}")))?,
                            _ => socket.to_string(),
                        };
                        (raw::Socket::Local(path.clone()), path)
                    }
                    Transport::Ssh(ssh) => (
                        raw::Socket::Ssh(ssh.clone(), socket.to_string()),
                        format!("{name}:{socket}"),
                    ),
                };
                connect::connect(raw_socket, endpoint).await
            })
            .await
            .cloned()
    }
}
