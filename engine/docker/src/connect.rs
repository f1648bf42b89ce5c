//! Reaching a target's Docker engine: its local socket, or the socket of a
//! remote host through that host's SSH connection (an OpenSSH
//! `direct-streamlocal` channel per request: no TCP port, no second login).
//! Both go through one HTTP/1 exchange in `raw.rs`, which bollard drives
//! as a custom transport.

use bollard::{API_DEFAULT_VERSION, BollardRequest, Docker};

use super::raw::Socket;
use super::{DockerError, Engine};
use capstan_remote::RemoteError;

/// Where engines listen when nothing else is said: a unix socket, or on
/// Windows Docker Desktop's named pipe (this machine's engine only; remote
/// hosts are reached over SSH to their unix socket).
#[cfg(not(windows))]
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Where engines listen when nothing else is said: a unix socket, or on
/// Windows Docker Desktop's named pipe (this machine's engine only; remote
/// hosts are reached over SSH to their unix socket).
#[cfg(windows)]
pub const DEFAULT_SOCKET: &str = r"\\.\pipe\docker_engine";

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

/// Connects to the engine behind `socket`, settling on the highest API
/// version both sides speak (engines refuse a client newer than they are).
pub async fn connect(socket: Socket, endpoint: String) -> Result<Engine, DockerError> {
    if let Socket::Ssh(ssh, _) = &socket {
        // Fail now, in the SSH layer's words, when the host is unreachable.
        ssh.connect().await.map_err(|e| match e {
            RemoteError::Unreachable(m) => DockerError::Unreachable(m),
            other => DockerError::Unreachable(other.to_string()),
        })?;
    } else if let Socket::Local(path) = &socket
        && cfg!(unix)
        && !std::path::Path::new(path).exists()
    {
        return Err(DockerError::Unreachable(format!(
            "no Docker engine at {path}: the socket does not exist (is Docker installed and running?)"
        )));
    }
    let transport_socket = socket.clone();
    let transport = move |request: BollardRequest| {
        let socket = transport_socket.clone();
        async move {
            socket
                .send(request)
                .await
                .map_err(|err| bollard::errors::Error::IOError { err })
        }
    };
    let docker = Docker::connect_with_custom_transport(
        transport,
        Some("http://docker"),
        REQUEST_TIMEOUT_SECS,
        API_DEFAULT_VERSION,
    )
    .map_err(|e| DockerError::from_bollard(&endpoint, e))?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| DockerError::from_bollard(&endpoint, e))?;
    Ok(Engine::new(docker, socket, endpoint))
}
