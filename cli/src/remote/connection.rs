//! Talking to a `capstan serve`: where it is (`unix:///path`,
//! `https://host:port`, or `http://` on loopback), the token, TLS, and
//! one HTTP/1.1 request per connection. An API error is read into a
//! [`RemoteError`] (the service's code, message and field) and handed on
//! as the CLI's bad input when the request was at fault, so it exits 3
//! as the same mistake made locally does.

#[cfg(unix)]
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use capstan_wire::{ApiError, ErrorCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::exit::BadInput;

/// Anything a connection can run over.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Where the service listens.
enum Endpoint {
    /// Its Unix socket: the OS user is who connects, no token needed.
    #[cfg(unix)]
    Unix(PathBuf),
    /// TCP, with TLS unless on loopback.
    Tcp {
        host: String,
        port: u16,
        tls: Option<(
            tokio_rustls::TlsConnector,
            rustls::pki_types::ServerName<'static>,
        )>,
    },
}

/// A `capstan serve` to send requests to.
pub struct Server {
    url: String,
    endpoint: Endpoint,
    token: Option<String>,
}

/// An answer the service gave that is not a success.
#[derive(Debug)]
pub struct RemoteError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The service's error.
    pub error: ApiError,
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the service answered {}: {}",
            self.status, self.error.message
        )?;
        if let Some(field) = &self.error.field {
            write!(f, " (field `{field}`)")?;
        }
        if self.error.code == ErrorCode::Unauthorized {
            write!(
                f,
                "; give a token in CAPSTAN_TOKEN or a file (--token-file), made with `capstan tokens create` on the service's machine"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for RemoteError {}

impl RemoteError {
    /// Whether the caller's request was at fault (bad input, refused),
    /// rather than the service.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self.error.code, ErrorCode::Failed)
    }

    /// The error the CLI ends with: the caller's mistakes become
    /// [`BadInput`] (exit 3); the service's failures stay errors of their
    /// own (exit 1).
    pub fn into_error(self) -> anyhow::Error {
        if self.is_bad_input() {
            BadInput(self.to_string()).into()
        } else {
            anyhow::Error::new(self)
        }
    }
}

impl Server {
    /// The service at `url`, with a token from `token_file` or the
    /// environment (`CAPSTAN_TOKEN`), trusting `ca_cert` besides the
    /// system's roots for https.
    pub fn new(
        url: &str,
        token_file: Option<&std::path::Path>,
        ca_cert: Option<&std::path::Path>,
    ) -> anyhow::Result<Server> {
        let token = match token_file {
            Some(file) => Some(
                std::fs::read_to_string(file)
                    .map_err(|e| BadInput(format!("--token-file {}: {e}", file.display())))?
                    .trim()
                    .to_string(),
            ),
            None => std::env::var("CAPSTAN_TOKEN")
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
        };
        let endpoint = endpoint(url, ca_cert)?;
        Ok(Server {
            url: url.trim_end_matches('/').to_string(),
            endpoint,
            token,
        })
    }

    /// The URL it was given, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends a request and returns the answer's status and body as it
    /// comes (for a stream).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        last_event_id: Option<u64>,
    ) -> anyhow::Result<Response<Incoming>> {
        let io = self.connect().await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .with_context(|| format!("HTTP with {} failed", self.url))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let host = match &self.endpoint {
            #[cfg(unix)]
            Endpoint::Unix(_) => "localhost".to_string(),
            Endpoint::Tcp { host, port, .. } => format!("{host}:{port}"),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, host)
            .header(hyper::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(seen) = last_event_id {
            request = request.header("last-event-id", seen.to_string());
        }
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        sender
            .send_request(request)
            .await
            .with_context(|| format!("the request to {} failed", self.url))
    }

    /// Sends a request with an optional JSON body and reads a JSON answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> anyhow::Result<T> {
        let body = body.map(serde_json::to_vec).transpose()?;
        let response = self.send(method, path, body, None).await?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .with_context(|| format!("reading the answer from {} failed", self.url))?
            .to_bytes();
        if !status.is_success() {
            return Err(answer_error(status, &bytes).into_error());
        }
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the service's answer to {path} is not what this capstan expects (is it the same version?)"
            )
        })
    }

    /// Sends a DELETE that answers no body.
    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        let response = self.send(Method::DELETE, path, None, None).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let bytes = response.into_body().collect().await?.to_bytes();
        Err(answer_error(status, &bytes).into_error())
    }

    async fn connect(&self) -> anyhow::Result<Box<dyn Io>> {
        let unreachable = |e: std::io::Error| {
            anyhow::anyhow!(
                "cannot reach the Capstan service at {}: {e} (is `capstan serve` running there?)",
                self.url
            )
        };
        match &self.endpoint {
            #[cfg(unix)]
            Endpoint::Unix(path) => Ok(Box::new(
                tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(unreachable)?,
            )),
            Endpoint::Tcp { host, port, tls } => {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(unreachable)?;
                let _ = tcp.set_nodelay(true);
                match tls {
                    None => Ok(Box::new(tcp)),
                    Some((connector, name)) => {
                        let stream = connector.connect(name.clone(), tcp).await.map_err(|e| {
                            anyhow::anyhow!(
                                "TLS with {} failed: {e}{}",
                                self.url,
                                if e.to_string().contains("certificate") {
                                    " (a self-signed service: pass its certificate with --ca-cert FILE)"
                                } else {
                                    ""
                                }
                            )
                        })?;
                        Ok(Box::new(stream))
                    }
                }
            }
        }
    }
}

/// The error an answer carries, or one made from its status.
pub fn answer_error(status: StatusCode, body: &[u8]) -> RemoteError {
    let error = serde_json::from_slice::<ApiError>(body).unwrap_or_else(|_| ApiError {
        code: ErrorCode::Failed,
        message: String::from_utf8_lossy(body).chars().take(500).collect(),
        field: None,
    });
    RemoteError { status, error }
}

/// Parses `unix:///path`, `https://host[:port]` or `http://loopback[:port]`.
fn endpoint(url: &str, ca_cert: Option<&std::path::Path>) -> anyhow::Result<Endpoint> {
    let bad = |why: &str| BadInput(format!("--server {url}: {why}"));
    if let Some(path) = url.strip_prefix("unix://") {
        #[cfg(unix)]
        {
            if !path.starts_with('/') {
                return Err(
                    bad("a socket's path is absolute: unix:///path/to/capstan.sock").into(),
                );
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            return Err(bad("Unix sockets are not available on this system").into());
        }
    }
    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(
            bad("expected unix:///path, https://host:port or http://127.0.0.1:port").into(),
        );
    };
    let authority = rest.split('/').next().unwrap_or("");
    let (host, port) = split_host_port(authority, if tls { 443 } else { 80 })
        .ok_or_else(|| bad("expected host:port"))?;
    if !tls {
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(bad("http:// would send the token in the clear: use https:// (the service needs --tls-cert or --self-signed)").into());
        }
        return Ok(Endpoint::Tcp {
            host,
            port,
            tls: None,
        });
    }
    let name = rustls::pki_types::ServerName::try_from(host.clone())
        .map_err(|e| bad(&format!("`{host}` is not a host name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(client_config(ca_cert)?);
    Ok(Endpoint::Tcp {
        host,
        port,
        tls: Some((connector, name)),
    })
}

/// `host:port`, `[v6]:port` or a bare host with the default port.
fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => Some((host.to_string(), port.parse().ok()?)),
        Some(_) => None,
        None if !authority.is_empty() => Some((authority.to_string(), default_port)),
        None => None,
    }
}

/// TLS to the service: the system's roots, and `ca_cert` when given.
fn client_config(ca_cert: Option<&std::path::Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_cert {
        let certs = capstan_server::tls::read_certs(path)
            .map_err(|e| BadInput(format!("--ca-cert: {e}")))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| BadInput(format!("--ca-cert {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_forms() {
        assert_eq!(
            split_host_port("a.example:8470", 443),
            Some(("a.example".into(), 8470))
        );
        assert_eq!(
            split_host_port("a.example", 443),
            Some(("a.example".into(), 443))
        );
        assert_eq!(split_host_port("[::1]:9", 443), Some(("::1".into(), 9)));
        assert_eq!(split_host_port("[::1]", 443), Some(("::1".into(), 443)));
        assert_eq!(split_host_port(":9", 443), None);
        assert_eq!(split_host_port("a:b", 443), None);
    }

    #[test]
    fn urls_are_checked() {
        let refused = |url: &str| {
            endpoint(url, None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(refused("ftp://x").contains("expected unix:///path"));
        assert!(refused("http://10.0.0.5:8470").contains("in the clear"));
        assert!(refused("unix://relative.sock").contains("absolute"));
        assert!(endpoint("http://127.0.0.1:8470", None).is_ok());
        assert!(endpoint("unix:///tmp/capstan.sock", None).is_ok());
    }
}
