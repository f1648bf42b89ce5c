//! `http:HOST`: outbound HTTP requests, to the hosts granted and nowhere
//! else. The host parses the URL, checks the grant for its host and port,
//! connects itself (TLS with the system's roots for `https`), never follows
//! a redirect, and bounds the body sent, the body read and the time taken.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{HostError, HttpHost, SharedGrants};

/// The largest body a plugin may send.
pub const MAX_REQUEST_BODY: usize = 1 << 20;
/// The longest a request may take, whatever the plugin asks.
pub const MAX_REQUEST_TIME: Duration = Duration::from_secs(30);
/// Headers the host writes itself.
const RESERVED_HEADERS: &[&str] = &["host", "content-length", "transfer-encoding", "connection"];

/// A request method a plugin may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl HttpMethod {
    fn as_hyper(self) -> hyper::Method {
        match self {
            HttpMethod::Get => hyper::Method::GET,
            HttpMethod::Head => hyper::Method::HEAD,
            HttpMethod::Post => hyper::Method::POST,
            HttpMethod::Put => hyper::Method::PUT,
            HttpMethod::Patch => hyper::Method::PATCH,
            HttpMethod::Delete => hyper::Method::DELETE,
        }
    }
}

/// A request as a plugin asked for it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Its method.
    pub method: HttpMethod,
    /// An absolute `http://` or `https://` URL.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body; empty for none.
    pub body: Vec<u8>,
    /// How long the plugin is willing to wait, in milliseconds.
    pub timeout_ms: Option<u32>,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// The `http` capability of one call.
pub struct HttpCapability {
    grants: SharedGrants,
    output_limit: u64,
}

/// Where a checked request goes.
struct Destination {
    https: bool,
    host: String,
    port: u16,
    uri: hyper::Uri,
}

impl HttpCapability {
    /// Requests within `grants`, answers capped at `output_limit` bytes.
    pub fn new(grants: SharedGrants, output_limit: u64) -> Self {
        HttpCapability {
            grants,
            output_limit,
        }
    }

    /// Sends `request` if its host is granted, waiting at most the lesser
    /// of the plugin's timeout and [`MAX_REQUEST_TIME`] (the call's own wall
    /// time limit still applies around it).
    pub async fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, HostError> {
        let destination = parse_url(&request.url)?;
        let scheme = if destination.https { "https" } else { "http" };
        self.grants
            .check_http(scheme, &destination.host, destination.port)?;
        if request.body.len() > MAX_REQUEST_BODY {
            return Err(HostError::Limit(format!(
                "the request body is {} bytes, over the {MAX_REQUEST_BODY} allowed",
                request.body.len()
            )));
        }
        let outgoing = build_request(&request, &destination)?;
        let wait = request
            .timeout_ms
            .map_or(MAX_REQUEST_TIME, |ms| Duration::from_millis(ms.into()))
            .min(MAX_REQUEST_TIME);
        let exchange = exchange(&destination, outgoing, self.output_limit);
        match tokio::time::timeout(wait, exchange).await {
            Ok(result) => result,
            Err(_) => Err(HostError::Unavailable(format!(
                "{}:{} did not answer within {} ms",
                destination.host,
                destination.port,
                wait.as_millis()
            ))),
        }
    }
}

/// The grant a request to `url` needs (`http:HOST`, with the port when it
/// is not the scheme's default), or why `url` could never be sent.
pub fn grant_for_url(url: &str) -> Result<HttpHost, String> {
    let destination = parse_url(url).map_err(|e| e.to_string())?;
    let default = if destination.https { 443 } else { 80 };
    Ok(HttpHost {
        host: destination.host,
        port: (destination.port != default).then_some(destination.port),
    })
}

/// Reads the URL: a scheme of `http` or `https`, a host, no user name.
fn parse_url(url: &str) -> Result<Destination, HostError> {
    let invalid = |why: &str| {
        HostError::Invalid(format!(
            "url `{}`: {why}",
            url.chars().take(200).collect::<String>().escape_debug()
        ))
    };
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| invalid(&format!("not a URL ({e})")))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        Some(other) => return Err(invalid(&format!("scheme `{other}` is not http or https"))),
        None => return Err(invalid("it must be absolute (http://... or https://...)")),
    };
    let authority = uri.authority().ok_or_else(|| invalid("it has no host"))?;
    if authority.as_str().contains('@') {
        return Err(invalid("it may not carry a user name or password"));
    }
    let host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return Err(invalid("it has no host"));
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    Ok(Destination {
        https,
        host,
        port,
        uri,
    })
}

/// The request hyper sends: the plugin's method, path and headers, and the
/// host's own `host` header.
fn build_request(
    request: &HttpRequest,
    destination: &Destination,
) -> Result<hyper::Request<Full<Bytes>>, HostError> {
    let path = destination
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut outgoing = hyper::Request::builder()
        .method(request.method.as_hyper())
        .uri(path)
        .body(Full::new(Bytes::from(request.body.clone())))
        .map_err(|e| HostError::Invalid(format!("the request could not be built: {e}")))?;
    let headers = outgoing.headers_mut();
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            return Err(HostError::Invalid(format!(
                "header `{lower}` is set by the host, not the plugin"
            )));
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            HostError::Invalid(format!(
                "`{}` is not a header name",
                name.chars().take(100).collect::<String>().escape_debug()
            ))
        })?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            HostError::Invalid(format!(
                "the value of header `{name}` holds characters a header may not"
            ))
        })?;
        headers.append(name, value);
    }
    let host_header = match (destination.https, destination.port) {
        (true, 443) | (false, 80) => destination.host.clone(),
        (_, port) => format!("{}:{port}", destination.host),
    };
    headers.insert(
        hyper::header::HOST,
        HeaderValue::from_str(&host_header).map_err(|_| {
            HostError::Invalid(format!("host `{}` cannot be sent", destination.host))
        })?,
    );
    Ok(outgoing)
}

/// Anything a request can go over.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Connects, sends, and reads the answer within `limit` bytes.
async fn exchange(
    destination: &Destination,
    request: hyper::Request<Full<Bytes>>,
    limit: u64,
) -> Result<HttpResponse, HostError> {
    let where_ = format!("{}:{}", destination.host, destination.port);
    let unavailable = |what: String| HostError::Unavailable(format!("{where_}: {what}"));
    // An IPv6 literal keeps its brackets in a URL, not in a socket address.
    let connect_host = destination
        .host
        .trim_start_matches('[')
        .trim_end_matches(']');
    let tcp = tokio::net::TcpStream::connect((connect_host, destination.port))
        .await
        .map_err(|e| unavailable(format!("could not connect: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = if destination.https {
        let name = rustls::pki_types::ServerName::try_from(connect_host.to_string())
            .map_err(|e| unavailable(format!("not a name TLS can check: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(client_config())
            .connect(name, tcp)
            .await
            .map_err(|e| unavailable(format!("TLS failed: {e}")))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| unavailable(format!("HTTP failed: {e}")))?;
    let connection = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unavailable(format!("no answer: {e}")))?;
    let status = response.status().as_u16();
    let announced = response
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = announced.filter(|length| *length > limit) {
        return Err(HostError::Limit(format!(
            "{where_} answered with a body of {length} bytes, over {limit} bytes"
        )));
    }
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = Limited::new(response.into_body(), limit as usize)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                HostError::Limit(format!("{where_} answered with a body over {limit} bytes"))
            } else {
                unavailable(format!("the answer broke off: {e}"))
            }
        })?
        .to_bytes()
        .to_vec();
    connection.abort();
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// TLS for `https`: the system's roots, loaded once.
fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_strictly() {
        let d = parse_url("https://Hooks.Example.com/services/x?y=1").unwrap();
        assert!(d.https);
        assert_eq!((d.host.as_str(), d.port), ("hooks.example.com", 443));
        let d = parse_url("http://127.0.0.1:8080/").unwrap();
        assert_eq!((d.host.as_str(), d.port), ("127.0.0.1", 8080));
        for (url, why) in [
            ("ftp://x.example/", "scheme `ftp`"),
            ("/relative", "absolute"),
            ("https://user:pw@x.example/", "user name"),
            ("not a url", "not a URL"),
        ] {
            let err = parse_url(url).err().unwrap().to_string();
            assert!(err.contains(why), "{url}: {err}");
        }
    }

    #[test]
    fn reserved_and_malformed_headers_are_refused() {
        let destination = parse_url("http://x.example/").unwrap();
        let request = |name: &str, value: &str| HttpRequest {
            method: HttpMethod::Post,
            url: "http://x.example/".into(),
            headers: vec![(name.into(), value.into())],
            body: Vec::new(),
            timeout_ms: None,
        };
        let err = build_request(&request("Host", "evil"), &destination).unwrap_err();
        assert!(err.to_string().contains("set by the host"), "{err}");
        let err = build_request(&request("bad name", "v"), &destination).unwrap_err();
        assert!(err.to_string().contains("not a header name"), "{err}");
        let err = build_request(&request("x-a", "line\nbreak"), &destination).unwrap_err();
        assert!(err.to_string().contains("characters"), "{err}");
        let ok = build_request(&request("X-Signature", "abc"), &destination).unwrap();
        assert_eq!(ok.headers()["host"], "x.example");
        assert_eq!(ok.uri(), "/");
    }
}
