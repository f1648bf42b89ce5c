//! Reads straight from the Engine API, JSON in, JSON out. bollard's typed
//! models are used to write (they check a spec's shape), but reading
//! through them loses what the models spell differently from the engine
//! (a service's `Healthcheck`, fields newer or older than the stubs): the
//! views and plugins get the engine's own documents instead.

use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::DockerError;
use capstan_remote::SshTransport;

/// Where the engine's socket is reached from.
#[derive(Debug, Clone)]
pub enum Socket {
    /// A unix socket on this machine.
    Local(String),
    /// A unix socket on an SSH host, through `direct-streamlocal` channels.
    Ssh(Arc<SshTransport>, String),
}

impl Socket {
    /// Opens one HTTP/1 connection to the engine and sends `request` on it.
    pub async fn send<B>(
        &self,
        mut request: hyper::Request<B>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, std::io::Error>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // HTTP/1.1 needs a Host; the engine ignores its value. The request
        // line carries only the path.
        if !request.headers().contains_key(hyper::header::HOST) {
            request.headers_mut().insert(
                hyper::header::HOST,
                hyper::header::HeaderValue::from_static("docker"),
            );
        }
        if let Some(path) = request.uri().path_and_query().cloned() {
            *request.uri_mut() = hyper::Uri::from(path);
        }
        match self {
            Socket::Local(path) => {
                #[cfg(unix)]
                let stream = tokio::net::UnixStream::connect(path).await?;
                #[cfg(windows)]
                let stream = tokio::net::windows::named_pipe::ClientOptions::new().open(path)?;
                exchange(TokioIo::new(stream), request).await
            }
            Socket::Ssh(ssh, path) => {
                let handle = ssh.connect().await.map_err(|e| io_error(e.to_string()))?;
                let channel = handle
                    .channel_open_direct_streamlocal(path.clone())
                    .await
                    .map_err(|e| {
                        io_error(format!(
                            "the host refused a stream to {path} ({e}): is Docker running \
                             there, and may this login use its socket?"
                        ))
                    })?;
                exchange(TokioIo::new(channel.into_stream()), request).await
            }
        }
    }

    /// GETs `path` (with its query) and parses the JSON answer, reading
    /// no more than `limit` bytes of it; `Ok(None)` on 404.
    pub async fn get_json(
        &self,
        endpoint: &str,
        path: &str,
        limit: u64,
    ) -> Result<Option<Value>, DockerError> {
        let request = hyper::Request::get(path)
            .body(Empty::<Bytes>::new())
            .map_err(|e| DockerError::Invalid(format!("bad request path {path}: {e}")))?;
        let response = self.send(request).await.map_err(|e| {
            DockerError::from_bollard(endpoint, bollard::errors::Error::IOError { err: e })
        })?;
        let status = response.status();
        let mut incoming = response.into_body();
        let mut body = Vec::new();
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| {
                DockerError::Unreachable(format!("{endpoint}: the answer was cut: {e}"))
            })?;
            if let Some(data) = frame.data_ref() {
                if body.len() as u64 + data.len() as u64 > limit {
                    return Err(DockerError::TooLarge(format!(
                        "{endpoint} answered {path} with more than {limit} bytes; reading stopped there"
                    )));
                }
                body.extend_from_slice(data);
            }
        }
        if status == hyper::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            DockerError::Engine(format!(
                "{endpoint} answered {path} with something not JSON: {e}"
            ))
        })?;
        if !status.is_success() {
            let message = value["message"].as_str().unwrap_or("").to_string();
            return Err(DockerError::from_bollard(
                endpoint,
                bollard::errors::Error::DockerResponseServerError {
                    status_code: status.as_u16(),
                    message,
                },
            ));
        }
        Ok(Some(value))
    }
}

async fn exchange<IO, B>(
    io: IO,
    request: hyper::Request<B>,
) -> Result<hyper::Response<hyper::body::Incoming>, std::io::Error>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| io_error(e.to_string()))?;
    tokio::spawn(async move {
        // Ends when the response body has been read.
        let _ = connection.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| io_error(e.to_string()))
}

fn io_error(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionAborted, message)
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
