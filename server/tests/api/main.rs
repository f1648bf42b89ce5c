//! The HTTP API as a client sees it, over real sockets: every route
//! walked with each scope, the Unix socket's owner, tokens refused at
//! once when revoked, failed logins limited, bodies bounded, and errors in
//! one shape.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use capstan_engine::{BundledPlugin, Capstan, Home};
use capstan_server::AppState;
use capstan_wire::Actor;
use capstan_wire::tokens::Scope;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

mod resources;

/// A service on a fresh home: its TCP address, its socket and the engine.
struct Service {
    _home: tempfile::TempDir,
    address: SocketAddr,
    socket: std::path::PathBuf,
    capstan: Arc<Capstan>,
    state: AppState,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Service {
    async fn start() -> Service {
        let home = tempfile::tempdir().unwrap();
        let bundled = capstan_bundled::PLUGINS.iter().map(|p| BundledPlugin {
            name: p.name,
            sha256: p.sha256,
            wasm: p.wasm,
        });
        let capstan = Arc::new(
            Capstan::open(Home::at(home.path()).unwrap())
                .unwrap()
                .with_bundled(bundled),
        );
        let state = AppState::new(
            capstan.clone(),
            Some(Actor::User("owner".into())),
            capstan_server::auth::MAX_FAILURES,
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            }
        };
        let address: SocketAddr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        tokio::spawn(capstan_server::listen::on_tcp(
            address,
            None,
            state.clone(),
            until(),
        ));
        let socket = home.path().join("capstan.sock");
        let path = socket.clone();
        let served = state.clone();
        tokio::spawn(
            async move { capstan_server::listen::on_socket(&path, served, until()).await },
        );
        for _ in 0..200 {
            if socket.exists() && std::net::TcpStream::connect(address).is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Service {
            _home: home,
            address,
            socket,
            capstan,
            state,
            stop,
        }
    }

    fn token(&self, name: &str, scope: Scope) -> String {
        self.capstan
            .create_token(name, scope, None, &Actor::User("owner".into()))
            .unwrap()
            .secret
    }

    /// A request over TCP: the status and the body as JSON (or a string).
    async fn tcp(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let stream = tokio::net::TcpStream::connect(self.address).await.unwrap();
        send(
            stream,
            method,
            path,
            token,
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
    }

    /// A request over the Unix socket.
    async fn unix(&self, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
        let stream = tokio::net::UnixStream::connect(&self.socket).await.unwrap();
        send(stream, method, path, token, None).await
    }

    /// A POST with a JSON body over the Unix socket, as its owner.
    async fn unix_post(&self, path: &str, body: Value) -> (u16, Value) {
        let stream = tokio::net::UnixStream::connect(&self.socket).await.unwrap();
        send(
            stream,
            "POST",
            path,
            None,
            Some(body.to_string().into_bytes()),
        )
        .await
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn send<S>(
    stream: S,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> (u16, Value)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    send_with(stream, method, path, token, body, &[]).await
}

/// [`send`] with extra headers.
async fn send_with<S>(
    stream: S,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> (u16, Value)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "capstan");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

/// Every operation of the OpenAPI document: method, path with its
/// parameters filled, and the scope its security names (`None`: open).
fn operations(document: &Value) -> Vec<(String, String, Option<Scope>)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let scope = operation["security"]
                .as_array()
                .and_then(|s| s.first())
                .and_then(|s| s["token"][0].as_str())
                .map(|name| Scope::from_name(name).expect("a known scope"));
            let filled = fill_parameters(path);
            found.push((method.to_uppercase(), filled, scope));
        }
    }
    found
}

/// `path` with `{id}` as 1 and every other parameter as `nobody`.
fn fill_parameters(path: &str) -> String {
    let mut filled = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').expect("a closed parameter");
        filled.push_str(&rest[..open]);
        filled.push_str(if &rest[open..=close] == "{id}" {
            "1"
        } else {
            "nobody"
        });
        rest = &rest[close + 1..];
    }
    filled + rest
}

#[tokio::test]
async fn every_route_checks_its_scope() {
    let service = Service::start().await;
    let tokens = [
        (Scope::Read, service.token("reader", Scope::Read)),
        (Scope::Run, service.token("runner", Scope::Run)),
        (Scope::Admin, service.token("admin", Scope::Admin)),
    ];
    let (status, document) = service.tcp("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(document["openapi"], "3.1.0");
    let operations = operations(&document);
    assert!(operations.len() >= 9, "{operations:?}");
    let open: Vec<&str> = operations
        .iter()
        .filter(|(_, _, scope)| scope.is_none())
        .map(|(_, path, _)| path.as_str())
        .collect();
    assert_eq!(
        open,
        ["/api/v1/hooks/nobody", "/api/v1/openapi.json", "/healthz"],
        "only these answer without a token"
    );

    for (method, path, needed) in &operations {
        let Some(needed) = needed else { continue };
        let body = (method == "POST").then(|| json!({}));
        let (status, error) = service.tcp(method, path, None, body.clone()).await;
        assert_eq!(status, 401, "{method} {path} without a token: {error}");
        assert_eq!(error["code"], "unauthorized", "{error}");
        for (scope, secret) in &tokens {
            let (status, answer) = service.tcp(method, path, Some(secret), body.clone()).await;
            if scope.allows(*needed) {
                assert!(
                    status != 401 && status != 403 && status < 500,
                    "{method} {path} with scope {scope}: {status} {answer}"
                );
            } else {
                assert_eq!(status, 403, "{method} {path} with scope {scope}: {answer}");
                assert_eq!(answer["code"], "forbidden");
                assert!(
                    answer["message"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("needs `{needed}`"))
                );
            }
        }
    }
}

#[tokio::test]
async fn the_socket_is_its_owner_s_and_needs_no_token() {
    let service = Service::start().await;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&service.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only its owner can connect");
    let (status, jobs) = service.unix("GET", "/api/v1/jobs?limit=5", None).await;
    assert_eq!(status, 200, "{jobs}");
    assert_eq!(jobs, json!([]));
    let (status, made) = service.unix("GET", "/api/v1/tokens", None).await;
    assert_eq!((status, made), (200, json!([])), "the owner is admin");
    let (status, error) = service.unix("POST", "/api/v1/jobs/42/cancel", None).await;
    assert_eq!(status, 404);
    assert_eq!(error["code"], "not_found");
    // A token presented on the socket is still checked.
    let (status, _) = service
        .unix("GET", "/api/v1/jobs", Some("capstan_nonsense"))
        .await;
    assert_eq!(status, 401);
    // Over TCP the same request needs a token.
    let (status, _) = service.tcp("GET", "/api/v1/jobs", None, None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_token_made_through_the_api_works_until_revoked_and_is_refused_at_once() {
    let service = Service::start().await;
    let admin = service.token("admin", Scope::Admin);
    let (status, made) = service
        .tcp(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({ "name": "ci", "scope": "read" })),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let secret = made["secret"].as_str().unwrap().to_string();
    assert_eq!(made["token"]["created_by"], "token:admin");
    let (status, _) = service
        .tcp("GET", "/api/v1/jobs", Some(&secret), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = service
        .tcp("DELETE", "/api/v1/tokens/ci", Some(&admin), None)
        .await;
    assert_eq!(status, 204);
    let (status, error) = service
        .tcp("GET", "/api/v1/jobs", Some(&secret), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(error["message"], "token `ci` was revoked");
    let audit = service.capstan.audit_log(5).unwrap();
    assert_eq!(audit[0].actor, "token:admin");
    assert_eq!(
        (audit[0].action.as_str(), audit[0].subject.as_str()),
        ("revoke", "token:ci")
    );
}

#[tokio::test]
async fn bad_bodies_and_queries_get_the_error_shape() {
    let service = Service::start().await;
    let admin = service.token("admin", Scope::Admin);
    let huge = json!({ "name": "x".repeat(capstan_server::BODY_LIMIT + 1), "scope": "read" });
    let (status, error) = service
        .tcp("POST", "/api/v1/tokens", Some(&admin), Some(huge))
        .await;
    assert_eq!(status, 413, "{error}");
    assert_eq!(error["code"], "too_large");
    let (status, error) = service
        .tcp(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({ "name": "x", "scope": "root" })),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["code"], "bad_input");
    assert!(
        error["message"].as_str().unwrap().contains("scope"),
        "{error}"
    );
    let (status, error) = service
        .tcp("GET", "/api/v1/jobs?limit=0", Some(&admin), None)
        .await;
    assert_eq!((status, error["field"].as_str()), (400, Some("limit")));
    let (status, error) = service
        .tcp("GET", "/api/v1/jobs?state=paused", Some(&admin), None)
        .await;
    assert_eq!((status, error["code"].as_str()), (400, Some("bad_input")));
    let (status, error) = service
        .tcp("GET", "/api/v1/jobs/abc", Some(&admin), None)
        .await;
    assert_eq!((status, error["code"].as_str()), (400, Some("bad_input")));
    let (status, error) = service
        .tcp("GET", "/api/v1/nothing", Some(&admin), None)
        .await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn failed_authentications_are_limited_per_source() {
    let service = Service::start().await;
    let good = service.token("good", Scope::Read);
    for _ in 0..capstan_server::auth::MAX_FAILURES {
        let (status, _) = service
            .tcp("GET", "/api/v1/jobs", Some("capstan_guess"), None)
            .await;
        assert_eq!(status, 401);
    }
    let (status, error) = service
        .tcp("GET", "/api/v1/jobs", Some("capstan_guess"), None)
        .await;
    assert_eq!(status, 429, "{error}");
    let (status, _) = service.tcp("GET", "/api/v1/jobs", Some(&good), None).await;
    assert_eq!(status, 429, "the source waits, whatever it presents");
    // The socket's owner is another source.
    let (status, _) = service.unix("GET", "/api/v1/jobs", None).await;
    assert_eq!(status, 200);
}

#[test]
fn the_document_names_a_scope_for_every_operation_but_three() {
    let document: Value = serde_json::from_str(&capstan_server::routes::document_json()).unwrap();
    assert!(document["components"]["securitySchemes"]["token"]["scheme"] == "bearer");
    let mut open: Vec<String> = operations(&document)
        .into_iter()
        .filter(|o| o.2.is_none())
        .map(|o| format!("{} {}", o.0, o.1))
        .collect();
    open.sort();
    assert_eq!(
        open,
        [
            "GET /api/v1/openapi.json",
            "GET /healthz",
            "POST /api/v1/hooks/nobody",
        ],
        "only these answer without a token (a delivery proves its signature instead)"
    );
    let _ = Path::new("");
}

/// The events of an SSE body: (event, id, data).
fn sse_events(body: &str) -> Vec<(String, Option<String>, Value)> {
    body.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .filter_map(|block| {
            let (mut event, mut id, mut data) = (String::new(), None, String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            (!event.is_empty()).then(|| {
                (
                    event,
                    id,
                    serde_json::from_str(&data).unwrap_or(Value::Null),
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn a_run_started_through_the_api_is_followed_to_its_end_and_run_again() {
    let service = Service::start().await;
    let runner = service.token("runner", Scope::Run);
    let request = json!({
        "plugin": "debug", "action": "msg", "params": { "msg": "hello from the API" },
        "targets": ["local"]
    });
    let (status, started) = service
        .tcp("POST", "/api/v1/runs", Some(&runner), Some(request))
        .await;
    assert_eq!(status, 202, "{started}");
    let id = started["job_id"].as_i64().unwrap();

    let (status, body) = service
        .tcp(
            "GET",
            &format!("/api/v1/jobs/{id}/log"),
            Some(&runner),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let events = sse_events(body.as_str().unwrap());
    let (last, lines) = events.split_last().unwrap();
    assert_eq!(last.0, "end", "{events:?}");
    assert_eq!(last.2["state"], "finished");
    assert_eq!(last.2["launched_by"], "token:runner");
    assert!(
        lines
            .iter()
            .any(|(e, _, line)| e == "line" && line["message"] == "hello from the API"),
        "{events:?}"
    );
    // Reconnecting after the last line seen gives only the end.
    let last_id = lines.last().unwrap().1.clone().unwrap();
    let stream = tokio::net::TcpStream::connect(service.address)
        .await
        .unwrap();
    let path = format!("/api/v1/jobs/{id}/log");
    let headers = [("last-event-id", last_id.as_str())];
    let (_, again) = send_with(stream, "GET", &path, Some(&runner), None, &headers).await;
    let again = sse_events(again.as_str().unwrap());
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].0, "end");

    // The service ran it: its updates, as the engine made them, then the end.
    let (status, body) = service
        .tcp(
            "GET",
            &format!("/api/v1/jobs/{id}/updates"),
            Some(&runner),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let updates = sse_events(body.as_str().unwrap());
    let kinds: Vec<&str> = updates
        .iter()
        .map(|(event, _, data)| match event.as_str() {
            "update" => data["kind"].as_str().unwrap(),
            other => other,
        })
        .collect();
    assert_eq!(
        kinds,
        ["started", "log", "target-done", "finished", "end"],
        "{updates:?}"
    );
    assert_eq!(updates[1].1.as_deref(), Some("2"), "ids count the updates");
    let stream = tokio::net::TcpStream::connect(service.address)
        .await
        .unwrap();
    let path = format!("/api/v1/jobs/{id}/updates");
    let (_, rest) = send_with(
        stream,
        "GET",
        &path,
        Some(&runner),
        None,
        &[("last-event-id", "3")],
    )
    .await;
    let rest = sse_events(rest.as_str().unwrap());
    assert_eq!(rest.len(), 2, "only what came after: {rest:?}");
    // A job run by another process has no updates here: its log has.
    let beside = service
        .capstan
        .run(
            capstan_wire::jobs::RunRequest::new(
                "debug",
                "msg",
                json!({"msg": "beside"}),
                ["local"],
            ),
            std::sync::Arc::new(|_: &capstan_engine::jobs::JobEvent| {}),
        )
        .await
        .unwrap();
    let (status, error) = service
        .tcp(
            "GET",
            &format!("/api/v1/jobs/{}/updates", beside.job_id),
            Some(&runner),
            None,
        )
        .await;
    assert_eq!(status, 404, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("/log"),
        "{error}"
    );

    let (status, rerun) = service
        .tcp(
            "POST",
            &format!("/api/v1/jobs/{id}/rerun"),
            Some(&runner),
            None,
        )
        .await;
    assert_eq!(status, 202, "{rerun}");
    assert!(rerun["job_id"].as_i64().unwrap() > id);

    let bad = json!({ "plugin": "nosuch", "action": "x", "params": {}, "targets": ["local"] });
    let (status, error) = service
        .tcp("POST", "/api/v1/runs", Some(&runner), Some(bad))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("not_found")),
        "{error}"
    );
    let trusting = json!({ "plugin": "debug", "action": "msg", "params": {}, "targets": ["local"], "trust_new_hosts": true });
    let (status, error) = service
        .tcp("POST", "/api/v1/runs", Some(&runner), Some(trusting))
        .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (403, Some("trust_new_hosts")),
        "{error}"
    );
}

#[tokio::test]
async fn stopping_the_service_cancels_its_jobs_after_the_grace_period() {
    let service = Service::start().await;
    let request = json!({
        "plugin": "command", "action": "exec", "params": { "argv": ["sleep", "31408"] },
        "targets": ["local"]
    });
    let (status, started) = service.unix_post("/api/v1/runs", request).await;
    assert_eq!(status, 202, "{started}");
    let id = started["job_id"].as_i64().unwrap();
    let state = service.state.clone();
    let running = state
        .finish_jobs(std::time::Duration::from_millis(300))
        .await;
    assert_eq!(running, 1);
    let job = service.capstan.job(id).unwrap();
    assert_eq!(job.state, capstan_wire::status::JobState::Cancelled);
    assert_eq!(job.launched_by, Actor::User("owner".into()));
    let still = std::process::Command::new("pgrep")
        .args(["-f", "sleep 31408"])
        .status()
        .unwrap();
    assert!(!still.success(), "the command was stopped");
}

#[test]
fn operation_ids_are_unique() {
    let document: Value = serde_json::from_str(&capstan_server::routes::document_json()).unwrap();
    let mut ids: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|operation| {
            operation["operationId"]
                .as_str()
                .expect("every operation has an id")
        })
        .collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "{ids:?}");
}

#[tokio::test]
async fn tls_serves_with_a_self_signed_certificate_and_plain_tcp_stays_on_loopback() {
    use capstan_server::tls;
    let dir = tempfile::tempdir().unwrap();
    let names = ["localhost".to_string(), "127.0.0.1".to_string()];
    let files = tls::self_signed(&dir.path().join("tls"), &names).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&files.key).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the key is its owner's only");
    let again = tls::self_signed(&dir.path().join("tls"), &names).unwrap();
    assert_eq!(
        again.fingerprint().unwrap(),
        files.fingerprint().unwrap(),
        "made once, then reused"
    );

    let home = tempfile::tempdir().unwrap();
    let capstan = Arc::new(Capstan::open(Home::at(home.path()).unwrap()).unwrap());
    let state = AppState::new(capstan, None, capstan_server::auth::MAX_FAILURES);
    let address: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let config = files.server_config().unwrap();
    tokio::spawn(capstan_server::listen::on_tcp(
        address,
        Some(config),
        state.clone(),
        std::future::pending(),
    ));
    while tokio::net::TcpStream::connect(address).await.is_err() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // A client that trusts the certificate gets answers over TLS.
    let mut roots = rustls::RootCertStore::empty();
    for cert in tls::read_certs(&files.cert).unwrap() {
        roots.add(cert).unwrap();
    }
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let connect = || async {
        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        connector.connect(name, tcp).await
    };
    let (status, _) = send(connect().await.unwrap(), "GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    let (status, body) = send(connect().await.unwrap(), "GET", "/api/v1/jobs", None, None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));

    // Plain HTTP to the TLS port gets no answer; a silent client does not
    // hold up others.
    let mut silent = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut plain = tokio::net::TcpStream::connect(address).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut plain, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::io::AsyncReadExt::read_to_end(&mut plain, &mut answer),
    )
    .await;
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
    let (status, _) = send(connect().await.unwrap(), "GET", "/healthz", None, None).await;
    assert_eq!(status, 200, "answered while a client says nothing");
    tokio::io::AsyncWriteExt::shutdown(&mut silent)
        .await
        .unwrap();

    // Without TLS, only loopback.
    let beyond: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let refused = capstan_server::listen::on_tcp(beyond, None, state, std::future::pending())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("--tls-cert"), "{refused}");

    // Files that are not a certificate and key are named.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not pem").unwrap();
    let error = tls::TlsFiles {
        cert: junk.clone(),
        key: files.key.clone(),
    }
    .server_config()
    .unwrap_err();
    assert!(error.to_string().contains("junk.pem"), "{error}");
    let error = tls::TlsFiles {
        cert: files.cert.clone(),
        key: junk,
    }
    .server_config()
    .unwrap_err();
    assert!(error.to_string().contains("junk.pem"), "{error}");
}

#[tokio::test]
async fn the_scheduler_fires_a_second_schedule_as_jobs_launched_by_it() {
    let service = Service::start().await;
    let spec = json!({
        "name": "tick", "cron": "* * * * * *",
        "job": { "kind": "action", "request": {
            "plugin": "debug", "action": "msg", "params": { "msg": "tick" }, "targets": ["local"] } }
    });
    let (status, body) = service.unix_post("/api/v1/schedules", spec).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["next_runs_ms"].as_array().unwrap().len(), 3, "{body}");
    let stop = tokio_util::sync::CancellationToken::new();
    let scheduler = tokio::spawn(capstan_server::scheduler::run(
        service.state.clone(),
        stop.clone(),
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while service.capstan.schedule("tick").unwrap().fired < 2 {
        assert!(std::time::Instant::now() < deadline, "it never fired twice");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.cancel();
    scheduler.await.unwrap();
    service
        .state
        .finish_jobs(std::time::Duration::from_secs(10))
        .await;
    let schedule = service.capstan.schedule("tick").unwrap();
    let jobs = service
        .capstan
        .find_jobs(&capstan_engine::JobFilter {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(jobs.len() as u64, schedule.fired, "one job per firing");
    assert!(
        jobs.iter()
            .all(|j| j.launched_by == Actor::Schedule("tick".into())),
        "{jobs:?}"
    );
    assert_eq!(schedule.last_job_id, Some(jobs[0].id));
    let (status, _) = service.unix("GET", "/api/v1/schedules/tick", None).await;
    assert_eq!(status, 200);
    let (status, body) = service
        .unix_post("/api/v1/schedules/tick/pause", json!({}))
        .await;
    assert_eq!(
        (status, body["paused"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
}

#[tokio::test]
async fn a_signed_delivery_starts_the_hooks_job_once_with_its_payload_as_data() {
    let service = Service::start().await;
    let owner = Actor::User("owner".into());
    service
        .capstan
        .set_secret("hook_key", "k3y-for-hooks", &owner)
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("inv.ini"),
        "box ansible_connection=local\n",
    )
    .unwrap();
    std::fs::write(
        work.path().join("deploy.yml"),
        "- hosts: box\n  gather_facts: no\n  tasks:\n    - debug: msg=\"{{ webhook.event }} {{ webhook.payload.ref }} {{ webhook.payload.evil }}\"\n",
    )
    .unwrap();
    let hook = json!({
        "name": "deploy", "auth": "hmac", "secret": "hook_key",
        "job": { "kind": "playbook", "playbook": {
            "playbook": work.path().join("deploy.yml"),
            "inventory": work.path().join("inv.ini") } }
    });
    let (status, body) = service.unix_post("/api/v1/webhooks", hook).await;
    assert_eq!(status, 201, "{body}");

    let payload = br#"{"ref":"refs/heads/main","evil":"{{ 7 * 6 }}"}"#.to_vec();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"k3y-for-hooks");
    let signature = format!(
        "sha256={}",
        ring::hmac::sign(&key, &payload)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let deliver = |payload: Vec<u8>, headers: Vec<(&'static str, String)>| {
        let address = service.address;
        async move {
            let stream = tokio::net::TcpStream::connect(address).await.unwrap();
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send_with(
                stream,
                "POST",
                "/api/v1/hooks/deploy",
                None,
                Some(payload),
                &headers,
            )
            .await
        }
    };
    let signed = vec![
        ("x-hub-signature-256", signature.clone()),
        ("x-github-delivery", "d-1".to_string()),
        ("x-github-event", "push".to_string()),
    ];
    let (status, body) = deliver(payload.clone(), signed.clone()).await;
    assert_eq!(status, 202, "{body}");
    let id = body["job_id"].as_i64().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while service.capstan.job(id).unwrap().state == capstan_wire::status::JobState::Running {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let job = service.capstan.job_detail(id, false).unwrap();
    assert_eq!(job.job.launched_by, Actor::Webhook("deploy".into()));
    assert_eq!(
        job.tasks[0].summary, "push refs/heads/main {{ 7 * 6 }}",
        "the payload is data: its template is never rendered"
    );

    // The same delivery again: nothing runs.
    let (status, body) = deliver(payload.clone(), signed).await;
    assert_eq!(
        (status, body["repeat"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    // A wrong signature, or none: 401.
    let forged = vec![
        ("x-hub-signature-256", signature.replace('a', "b")),
        ("x-github-delivery", "d-2".to_string()),
    ];
    let (status, body) = deliver(payload.clone(), forged).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (status, _) = deliver(b"{}".to_vec(), vec![]).await;
    assert_eq!(status, 401);
    let listed = service.capstan.webhook("deploy").unwrap();
    assert_eq!((listed.deliveries, listed.last_job_id), (1, Some(id)));
    // An unknown hook.
    let stream = tokio::net::TcpStream::connect(service.address)
        .await
        .unwrap();
    let (status, _) = send(
        stream,
        "POST",
        "/api/v1/hooks/ghost",
        None,
        Some(b"{}".to_vec()),
    )
    .await;
    assert_eq!(status, 404);

    // A shared-token hook: the token and a fresh timestamp.
    let ping = json!({
        "name": "ping", "auth": "token", "secret": "hook_key",
        "job": { "kind": "action", "request": {
            "plugin": "debug", "action": "msg", "params": { "msg": "pong" }, "targets": ["local"] } }
    });
    let (status, body) = service.unix_post("/api/v1/webhooks", ping).await;
    assert_eq!(status, 201, "{body}");
    let now = (capstan_engine::clock::now_ms() / 1000).to_string();
    let stale = (capstan_engine::clock::now_ms() / 1000 - 600).to_string();
    for (timestamp, token, expected) in [
        (now.as_str(), "k3y-for-hooks", 202),
        (stale.as_str(), "k3y-for-hooks", 401),
        (now.as_str(), "wrong", 401),
    ] {
        let stream = tokio::net::TcpStream::connect(service.address)
            .await
            .unwrap();
        let headers = [
            ("x-capstan-token", token),
            ("x-capstan-timestamp", timestamp),
        ];
        let (status, body) = send_with(
            stream,
            "POST",
            "/api/v1/hooks/ping",
            None,
            Some(format!("{{\"at\": {timestamp}}}").into_bytes()),
            &headers,
        )
        .await;
        assert_eq!(status, expected, "{timestamp} {token}: {body}");
    }
}

/// Installs the probe test plugin (contract 0.2: it records the events it
/// handles) with `kv`, `http` and `events`.
async fn install_reactive_probe(capstan: &Capstan) {
    let inspected = capstan
        .inspect_file(capstan_test_fixtures::PROBE.as_ref())
        .await
        .unwrap();
    use capstan_engine::capability::{Capability, GrantSet};
    capstan
        .install(
            &inspected,
            GrantSet::new([Capability::Kv, Capability::Http, Capability::Events]),
        )
        .unwrap();
}

#[tokio::test]
async fn a_job_run_beside_the_service_reaches_a_subscribed_plugin_and_announcements_are_acknowledged()
 {
    let service = Service::start().await;
    install_reactive_probe(&service.capstan).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = tokio::spawn(capstan_server::watch::job_ends(
        service.state.clone(),
        stop.clone(),
    ));
    // Another process's job, as far as the service knows: it only reads
    // the store.
    let beside = service
        .capstan
        .run(
            capstan_wire::jobs::RunRequest::new(
                "debug",
                "msg",
                json!({"msg": "never-in-an-event"}),
                ["local"],
            ),
            std::sync::Arc::new(|_: &capstan_engine::jobs::JobEvent| {}),
        )
        .await;
    let job_id = beside.unwrap().job_id;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let event = loop {
        let keys = service.capstan.store().kv_keys("probe", "event-").unwrap();
        let found = keys.iter().find_map(|key| {
            let bytes = service.capstan.store().kv_get("probe", key).unwrap()?;
            let event: Value = serde_json::from_slice(&bytes).ok()?;
            (event["data"]["job"] == job_id).then_some(event)
        });
        if let Some(event) = found {
            break event;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the probe never handled job {job_id}'s end"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(event["kind"], "job-finished");
    assert_eq!(event["data"]["name"], "debug.msg");
    assert_eq!(
        event["data"]["launched_by"],
        service.capstan.actor().to_string()
    );
    assert!(
        !event.to_string().contains("never-in-an-event"),
        "an event never carries a job's params: {event}"
    );

    let runner = service.token("deployer", Scope::Run);
    let reader = service.token("viewer", Scope::Read);
    let announcement =
        json!({ "topic": "task-stopping", "data": { "task": "web.1" }, "wait_ms": 20000 });
    let (status, _) = service
        .tcp(
            "POST",
            "/api/v1/events/announcements",
            Some(&reader),
            Some(announcement.clone()),
        )
        .await;
    assert_eq!(status, 403, "read scope cannot announce");
    let (status, acks) = service
        .tcp(
            "POST",
            "/api/v1/events/announcements",
            Some(&runner),
            Some(announcement),
        )
        .await;
    assert_eq!(status, 200, "{acks}");
    assert_eq!(acks["acknowledged"], json!(["probe"]), "{acks}");
    assert_eq!(acks["pending"], json!([]), "{acks}");
    let (status, error) = service
        .tcp(
            "POST",
            "/api/v1/events/announcements",
            Some(&runner),
            Some(json!({ "topic": "x", "wait_ms": 999999 })),
        )
        .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (400, Some("wait_ms")),
        "{error}"
    );
    let (status, subscribers) = service
        .tcp("GET", "/api/v1/events/subscribers", Some(&reader), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(subscribers[0]["plugin"], "probe", "{subscribers}");
    assert!(
        subscribers[0]["delivered"].as_u64().unwrap() >= 2,
        "{subscribers}"
    );
    stop.cancel();
    watcher.await.unwrap();
}

/// A real HTTP receiver on 127.0.0.1 answering 200 to everything; sends
/// each request's body on the channel.
async fn http_receiver() -> (u16, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (bodies, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let bodies = bodies.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buffer.len() >= end + 4 + length {
                        let _ = bodies.send(buffer[end + 4..end + 4 + length].to_vec());
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                }
            });
        }
    });
    (port, received)
}

#[tokio::test]
async fn a_rule_added_through_the_api_notifies_a_webhook_of_a_job_run_beside_the_service() {
    let service = Service::start().await;
    let (port, mut received) = http_receiver().await;
    let admin = service.token("ops", Scope::Admin);
    let reader = service.token("viewer", Scope::Read);
    let channel =
        json!({ "name": "audit", "kind": "webhook", "url": format!("http://127.0.0.1:{port}/in") });
    let (status, _) = service
        .tcp(
            "POST",
            "/api/v1/notifications/channels",
            Some(&reader),
            Some(channel.clone()),
        )
        .await;
    assert_eq!(status, 403, "read scope cannot add a channel");
    let (status, added) = service
        .tcp(
            "POST",
            "/api/v1/notifications/channels",
            Some(&admin),
            Some(channel),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["host"], format!("127.0.0.1:{port}"));
    let rule = json!({ "name": "all", "on": "finished", "channel": "audit", "plugin": "debug" });
    let (status, body) = service
        .tcp(
            "POST",
            "/api/v1/notifications/rules",
            Some(&admin),
            Some(rule),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = tokio::spawn(capstan_server::watch::job_ends(
        service.state.clone(),
        stop.clone(),
    ));
    let notifier = tokio::spawn(capstan_server::notifier::run(
        service.state.clone(),
        stop.clone(),
    ));
    let job = service
        .capstan
        .run(
            capstan_wire::jobs::RunRequest::new("debug", "msg", json!({"msg": "hi"}), ["local"]),
            std::sync::Arc::new(|_: &capstan_engine::jobs::JobEvent| {}),
        )
        .await
        .unwrap();
    let body = tokio::time::timeout(std::time::Duration::from_secs(30), received.recv())
        .await
        .expect("the webhook was never called")
        .unwrap();
    let sent: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(sent["job"]["job"], job.job_id, "{sent}");
    assert_eq!(sent["rule"], "all");
    // The delivery is recorded as sent once the attempt is written.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, deliveries) = service
            .tcp(
                "GET",
                "/api/v1/notifications/deliveries?limit=5",
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(status, 200);
        if deliveries[0]["state"] == "sent" {
            assert_eq!(deliveries[0]["job_id"], job.job_id);
            assert_eq!(deliveries[0]["history"][0]["ok"], true, "{deliveries}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{deliveries}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, error) = service
        .tcp(
            "DELETE",
            "/api/v1/notifications/channels/audit",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("bad_input")),
        "a rule still uses it: {error}"
    );
    stop.cancel();
    watcher.await.unwrap();
    notifier.await.unwrap();
}

#[tokio::test]
async fn a_job_that_ended_while_no_service_watched_is_announced_when_one_starts() {
    let service = Service::start().await;
    install_reactive_probe(&service.capstan).await;
    // A service announced up to a minute ago, then stopped.
    let a_minute_ago = capstan_engine::clock::now_ms() - 60_000;
    service
        .capstan
        .store()
        .set_setting(
            "watch.last_end",
            &a_minute_ago.to_string(),
            &Actor::User("capstan serve".into()),
            a_minute_ago,
        )
        .unwrap();
    let job = service
        .capstan
        .run(
            capstan_wire::jobs::RunRequest::new(
                "debug",
                "msg",
                json!({"msg": "meanwhile"}),
                ["local"],
            ),
            std::sync::Arc::new(|_: &capstan_engine::jobs::JobEvent| {}),
        )
        .await
        .unwrap();
    // Past the watcher's own look back (5 s): only the kept cursor finds it.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = tokio::spawn(capstan_server::watch::job_ends(
        service.state.clone(),
        stop.clone(),
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !service
        .capstan
        .store()
        .kv_keys("probe", "event-")
        .unwrap()
        .iter()
        .any(|key| {
            let bytes = service
                .capstan
                .store()
                .kv_get("probe", key)
                .unwrap()
                .unwrap_or_default();
            serde_json::from_slice::<Value>(&bytes).is_ok_and(|e| e["data"]["job"] == job.job_id)
        })
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the end was never announced"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.cancel();
    watcher.await.unwrap();
    let cursor: i64 = service
        .capstan
        .store()
        .setting("watch.last_end")
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cursor > a_minute_ago, "the last end announced is kept");
}
