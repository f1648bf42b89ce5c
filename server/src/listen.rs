//! Where the service listens: a Unix socket in the data folder, made
//! private to its owner, and TCP when asked: plain on loopback, TLS
//! anywhere (and required beyond loopback). Both stop accepting when
//! `shutdown` completes and let requests under way finish.

use std::future::Future;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

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
        "{0} is not a loopback address: listening beyond this machine needs TLS \
         (--tls-cert FILE --tls-key FILE, or --self-signed to try it)"
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
/// With `tls`, every connection is TLS; without, only a loopback address
/// is accepted.
pub async fn on_tcp(
    address: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ListenError> {
    if tls.is_none() && !address.ip().is_loopback() {
        return Err(ListenError::NeedsTls(address));
    }
    let bind = |source| ListenError::Bind {
        what: address.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(address).await.map_err(bind)?;
    tracing::info!(%address, tls = tls.is_some(), "listening");
    let state = AppState {
        socket_user: None,
        ..state
    };
    let app = crate::routes::router(state).into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        Some(config) => {
            // Wrapped by a tap that does nothing: axum gives the peer's
            // address (`ConnectInfo`, which the failure limiter counts by)
            // for its own TCP listener and for a tapped one, not for others.
            let listener = axum::serve::ListenerExt::tap_io(
                crate::tls::TlsListener::new(listener, config).map_err(bind)?,
                |_| {},
            );
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(bind)
        }
        None => axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(bind),
    }
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
