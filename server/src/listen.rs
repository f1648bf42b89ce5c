//! Where the service listens: a Unix socket in the data folder, made
//! private to its owner, and TCP when asked (loopback only until TLS
//! lands). Both stop accepting when `shutdown` completes and let requests
//! under way finish.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::AppState;

/// Why the service could not listen.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The socket or port could not be bound.
    #[error("cannot listen on {what}: {source}")]
    Bind {
        /// The socket path or address.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another service answers on the socket already.
    #[error("{0} is in use by a running `capstan serve`; stop it first")]
    InUse(PathBuf),
    /// TCP beyond loopback without TLS.
    #[error(
        "{0} is not a loopback address: listening beyond this machine needs TLS, which this build does not have yet"
    )]
    NeedsTls(SocketAddr),
}

/// Serves the API on the Unix socket `path` (made 0600) until `shutdown`.
#[cfg(unix)]
pub async fn on_socket(
    path: &Path,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ListenError> {
    use std::os::unix::fs::PermissionsExt;
    let bind = |source| ListenError::Bind {
        what: path.display().to_string(),
        source,
    };
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ListenError::InUse(path.to_path_buf()));
        }
        // Left by a service that was killed.
        std::fs::remove_file(path).map_err(bind)?;
    }
    // Made private before anyone can connect: bound under a umask that
    // leaves the owner alone, then set to 0600 explicitly.
    let listener = {
        let _private = PrivateUmask::set();
        tokio::net::UnixListener::bind(path).map_err(bind)?
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(bind)?;
    tracing::info!(socket = %path.display(), "listening");
    let app = crate::routes::router(state);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = std::fs::remove_file(path);
    served.map_err(bind)
}

/// Serves the API on TCP `address` until `shutdown`; tokens required.
pub async fn on_tcp(
    address: SocketAddr,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ListenError> {
    if !address.ip().is_loopback() {
        return Err(ListenError::NeedsTls(address));
    }
    let bind = |source| ListenError::Bind {
        what: address.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(address).await.map_err(bind)?;
    tracing::info!(%address, "listening");
    let state = AppState {
        socket_user: None,
        ..state
    };
    let app = crate::routes::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(bind)
}

/// A umask of 077 while it lives (the process's, so only while binding).
#[cfg(unix)]
struct PrivateUmask(libc::mode_t);

#[cfg(unix)]
impl PrivateUmask {
    fn set() -> Self {
        // SAFETY: umask only swaps the process's file-creation mask.
        #[allow(unsafe_code)]
        PrivateUmask(unsafe { libc::umask(0o077) })
    }
}

#[cfg(unix)]
impl Drop for PrivateUmask {
    fn drop(&mut self) {
        // SAFETY: as above, restoring the mask it found.
        #[allow(unsafe_code)]
        unsafe {
            libc::umask(self.0);
        }
    }
}
