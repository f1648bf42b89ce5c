//! Reaching a target's Docker engine: its local socket, or the socket of a
//! remote host through that host's SSH connection (an OpenSSH
//! `direct-streamlocal` channel per request: no TCP port, no second login).

use std::sync::Arc;

use bollard::{API_DEFAULT_VERSION, BollardRequest, Docker};
use hyper_util::rt::TokioIo;

use super::DockerError;
use crate::remote::{RemoteError, SshTransport};

/// Where engines listen when nothing else is said.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Seconds a single engine request may take (an image build can be long).
const REQUEST_TIMEOUT_SECS: u64 = 600;

/// The socket path named by a `docker_host` value (`unix:///path` or a
/// bare absolute path), or why it cannot be used.
pub fn socket_from_docker_host(value: &str) -> Result<String, String> {
    let path = value.strip_prefix("unix://").unwrap_or(value);
    if !path.starts_with('/') || path.contains('\0') {
        return Err(format!(
            "docker_host `{}` is not a unix socket: write it as unix:///path/to/docker.sock \
             (TCP engines are reached through the host's SSH connection instead)",
            value.escape_debug()
        ));
    }
    Ok(path.to_string())
}

/// Connects to the engine listening on `socket` on this machine.
pub async fn local(socket: &str) -> Result<Docker, DockerError> {
    let docker = Docker::connect_with_unix(socket, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        .map_err(|e| DockerError::from_bollard(socket, e))?;
    negotiate(docker, socket).await
}

/// Connects to the engine listening on `socket` on the host behind `ssh`.
pub async fn over_ssh(ssh: Arc<SshTransport>, socket: &str) -> Result<Docker, DockerError> {
    let endpoint = format!("{}:{socket}", ssh.name());
    // Fail now, with the SSH layer's words, if the host is not reachable.
    ssh.connect().await.map_err(|e| match e {
        RemoteError::Unreachable(m) => DockerError::Unreachable(m),
        other => DockerError::Unreachable(other.to_string()),
    })?;
    let socket_path = socket.to_string();
    let transport = move |request: BollardRequest| {
        let ssh = ssh.clone();
        let socket_path = socket_path.clone();
        async move {
            let handle = ssh.connect().await.map_err(io_error)?;
            let channel = handle
                .channel_open_direct_streamlocal(socket_path.clone())
                .await
                .map_err(|e| {
                    io_error(format!(
                        "the host refused a stream to {socket_path} ({e}): is Docker running \
                         there, and may this login use its socket?"
                    ))
                })?;
            let io = TokioIo::new(channel.into_stream());
            let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| io_error(e.to_string()))?;
            tokio::spawn(async move {
                // The connection ends when the response body is read.
                let _ = connection.await;
            });
            sender
                .send_request(request)
                .await
                .map_err(|e| io_error(e.to_string()))
        }
    };
    let docker = Docker::connect_with_custom_transport(
        transport,
        Some("http://docker"),
        REQUEST_TIMEOUT_SECS,
        API_DEFAULT_VERSION,
    )
    .map_err(|e| DockerError::from_bollard(&endpoint, e))?;
    negotiate(docker, &endpoint).await
}

/// Settles on the highest API version both sides speak (engines refuse a
/// client that is newer than they are).
async fn negotiate(docker: Docker, endpoint: &str) -> Result<Docker, DockerError> {
    docker
        .negotiate_version()
        .await
        .map_err(|e| DockerError::from_bollard(endpoint, e))
}

fn io_error(message: impl ToString) -> bollard::errors::Error {
    bollard::errors::Error::IOError {
        err: std::io::Error::new(std::io::ErrorKind::ConnectionAborted, message.to_string()),
    }
}
