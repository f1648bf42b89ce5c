//! What a call to a Docker engine can fail with, in words a user acts on.

use std::io;

/// Why a Docker engine call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerError {
    /// The engine could not be reached: no socket, refused, SSH down.
    #[error("{0}")]
    Unreachable(String),
    /// The engine's socket refused this user.
    #[error("{0}")]
    PermissionDenied(String),
    /// The object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The object clashes with another: a name in use, a port taken.
    #[error("{0}")]
    Conflict(String),
    /// The request itself was wrong (a bad spec, a bad name).
    #[error("{0}")]
    Invalid(String),
    /// The engine answered with an error of another kind.
    #[error("{0}")]
    Engine(String),
    /// The answer grew past the limit; reading stopped there.
    #[error("{0}")]
    TooLarge(String),
}

impl DockerError {
    /// Classifies a bollard error for the engine at `endpoint` (a socket
    /// path or `host:socket`).
    pub fn from_bollard(endpoint: &str, error: bollard::errors::Error) -> DockerError {
        use bollard::errors::Error as B;
        match error {
            B::DockerResponseServerError {
                status_code,
                message,
            } => {
                let message = message.trim().to_string();
                match status_code {
                    404 => DockerError::NotFound(message),
                    409 => DockerError::Conflict(message),
                    400 => DockerError::Invalid(message),
                    _ if message.contains("port is already allocated")
                        || message.contains("address already in use") =>
                    {
                        DockerError::Conflict(message)
                    }
                    _ => DockerError::Engine(format!("engine error {status_code}: {message}")),
                }
            }
            B::SocketNotFoundError(_) => DockerError::Unreachable(format!(
                "no Docker engine at {endpoint}: the socket does not exist (is Docker installed \
                 and running?)"
            )),
            B::RequestTimeoutError => DockerError::Unreachable(format!(
                "the Docker engine at {endpoint} did not answer in time"
            )),
            other => match io_kind(&other) {
                Some(io::ErrorKind::PermissionDenied) => DockerError::PermissionDenied(format!(
                    "permission denied on the Docker socket {endpoint}: add the login to the \
                     `docker` group or run with become"
                )),
                Some(io::ErrorKind::NotFound) => DockerError::Unreachable(format!(
                    "no Docker engine at {endpoint}: the socket does not exist (is Docker \
                     installed and running?)"
                )),
                Some(io::ErrorKind::ConnectionRefused) => DockerError::Unreachable(format!(
                    "the Docker engine at {endpoint} refused the connection (is dockerd running?)"
                )),
                Some(_) | None if is_connection_error(&other) => DockerError::Unreachable(format!(
                    "the Docker engine at {endpoint} could not be reached: {other}"
                )),
                _ => DockerError::Engine(format!("Docker engine at {endpoint}: {other}")),
            },
        }
    }
}

fn io_kind(error: &bollard::errors::Error) -> Option<io::ErrorKind> {
    // `IOError` is transparent: its `source()` skips the io error itself.
    if let bollard::errors::Error::IOError { err } = error {
        return Some(err.kind());
    }
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        current = e.source();
    }
    None
}

fn is_connection_error(error: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as B;
    matches!(
        error,
        B::IOError { .. } | B::SocketNotFoundError(_) | B::HyperResponseError { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: io::ErrorKind) -> bollard::errors::Error {
        bollard::errors::Error::IOError {
            err: io::Error::new(kind, "boom"),
        }
    }

    #[test]
    fn socket_failures_say_what_to_do() {
        let denied =
            DockerError::from_bollard("/var/run/docker.sock", io(io::ErrorKind::PermissionDenied));
        assert!(
            matches!(&denied, DockerError::PermissionDenied(m) if m.contains("`docker` group")),
            "{denied:?}"
        );
        let missing = DockerError::from_bollard("/x.sock", io(io::ErrorKind::NotFound));
        assert!(matches!(&missing, DockerError::Unreachable(m) if m.contains("does not exist")));
        let refused = DockerError::from_bollard("/x.sock", io(io::ErrorKind::ConnectionRefused));
        assert!(matches!(&refused, DockerError::Unreachable(m) if m.contains("dockerd running")));
    }

    #[test]
    fn engine_answers_are_classified_by_status_and_message() {
        let answer =
            |status_code, message: &str| bollard::errors::Error::DockerResponseServerError {
                status_code,
                message: message.into(),
            };
        assert!(matches!(
            DockerError::from_bollard("e", answer(404, "no such")),
            DockerError::NotFound(_)
        ));
        assert!(matches!(
            DockerError::from_bollard("e", answer(409, "name in use")),
            DockerError::Conflict(_)
        ));
        let port = DockerError::from_bollard(
            "e",
            answer(500, "Bind for 0.0.0.0:80 failed: port is already allocated"),
        );
        assert!(matches!(port, DockerError::Conflict(_)));
    }
}
