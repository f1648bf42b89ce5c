//! The inventory, plugins, Docker and the SMTP settings through the API,
//! as a team's client uses them: each change recorded as made by the
//! token that made it, and every refusal in the error shape.

use super::*;

/// The audit entries about `subject`, as (actor, action).
fn audited(capstan: &Capstan, subject: &str) -> Vec<(String, String)> {
    capstan
        .audit_log(200)
        .unwrap()
        .into_iter()
        .filter(|e| e.subject == subject)
        .map(|e| (e.actor, e.action))
        .collect()
}

/// A request with a raw body (a component upload) over TCP.
async fn upload(service: &Service, path: &str, token: &str, bytes: Vec<u8>) -> (u16, Value) {
    let stream = tokio::net::TcpStream::connect(service.address)
        .await
        .unwrap();
    send(stream, "POST", path, Some(token), Some(bytes)).await
}

#[tokio::test]
async fn hosts_are_added_edited_imported_checked_and_removed_by_a_named_token() {
    let service = Service::start().await;
    let admin = service.token("ops", Scope::Admin);
    let reader = service.token("viewer", Scope::Read);
    let form = |name: &str, auth: &str| {
        json!({ "name": name, "address": "127.0.0.1", "port": "1", "user": "deploy",
                "auth": auth, "auth_value": "", "environment": "dev", "groups": "web" })
    };

    let (status, host) = service
        .tcp(
            "POST",
            "/api/v1/hosts",
            Some(&admin),
            Some(form("web1", "agent")),
        )
        .await;
    assert_eq!(status, 201, "{host}");
    assert_eq!(host["port"], 1);
    let (status, again) = service
        .tcp(
            "POST",
            "/api/v1/hosts",
            Some(&admin),
            Some(form("web1", "agent")),
        )
        .await;
    assert_eq!(status, 400, "adding never replaces: {again}");
    let (status, refused) = service
        .tcp(
            "POST",
            "/api/v1/hosts",
            Some(&admin),
            Some(form("web9", "password-env")),
        )
        .await;
    assert_eq!(
        (status, refused["field"].as_str()),
        (400, Some("auth")),
        "{refused}"
    );

    let (status, renamed) = service
        .tcp(
            "PUT",
            "/api/v1/hosts/web1",
            Some(&admin),
            Some(form("web2", "agent")),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("web2")),
        "{renamed}"
    );
    let (status, _) = service
        .tcp("GET", "/api/v1/hosts/web1", Some(&reader), None)
        .await;
    assert_eq!(status, 404);
    let (status, shown) = service
        .tcp("GET", "/api/v1/hosts/web2", Some(&reader), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["host"]["groups"], json!(["web"]));

    // A login that fails is a check that says why, not an API failure.
    let (status, check) = service
        .tcp("POST", "/api/v1/hosts/web2/check", Some(&admin), None)
        .await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["reachable"], false, "{check}");
    let (_, listed) = service
        .tcp("GET", "/api/v1/hosts", Some(&reader), None)
        .await;
    assert_eq!(listed[0]["check"]["reachable"], false, "{listed}");

    // An import is checked whole: one bad line saves nothing.
    let inventory =
        "[db]\ndb1 ansible_host=10.0.0.5 ansible_port=2222\ndb2 ansible_host=10.0.0.6\n";
    let bad = format!("{inventory}db3 ansible_port=notaport\n");
    let (status, error) = service
        .tcp(
            "POST",
            "/api/v1/inventory",
            Some(&admin),
            Some(json!({ "text": bad })),
        )
        .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (400, Some("text")),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("db3"),
        "{error}"
    );
    assert_eq!(
        service.capstan.hosts().unwrap().len(),
        1,
        "nothing was saved"
    );
    let (status, imported) = service
        .tcp(
            "POST",
            "/api/v1/inventory",
            Some(&admin),
            Some(json!({ "text": inventory })),
        )
        .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported.as_array().unwrap().len(), 2);
    let db1 = service
        .capstan
        .hosts()
        .unwrap()
        .into_iter()
        .find(|h| h.name == "db1")
        .unwrap();
    assert_eq!((db1.address.as_str(), db1.port), ("10.0.0.5", 2222));

    let (status, _) = service
        .tcp("DELETE", "/api/v1/hosts/web2", Some(&admin), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = service
        .tcp("DELETE", "/api/v1/hosts/web2", Some(&admin), None)
        .await;
    assert_eq!(status, 404);

    assert_eq!(
        audited(&service.capstan, "host:web1"),
        [
            ("token:ops".to_string(), "edit".to_string()),
            ("token:ops".into(), "add".into())
        ]
    );
    assert_eq!(
        audited(&service.capstan, "host:web2"),
        [("token:ops".to_string(), "remove".to_string())]
    );
    assert_eq!(
        audited(&service.capstan, "host:db1"),
        [("token:ops".to_string(), "import".to_string())]
    );
}

#[tokio::test]
async fn a_plugin_is_inspected_uploaded_granted_revoked_and_removed_by_a_named_token() {
    let service = Service::start().await;
    let admin = service.token("ops", Scope::Admin);
    let wasm = std::fs::read(capstan_test_fixtures::PROBE).unwrap();

    let (status, inspection) =
        upload(&service, "/api/v1/plugin-inspection", &admin, wasm.clone()).await;
    assert_eq!(status, 200, "{inspection}");
    assert_eq!(inspection["name"], "probe");
    let sha256 = inspection["sha256"].as_str().unwrap().to_string();
    assert!(
        service
            .capstan
            .plugins()
            .unwrap()
            .iter()
            .all(|p| p.manifest.name != "probe")
    );

    let (status, error) = upload(
        &service,
        &format!("/api/v1/plugins?grants=kv&sha256={}", "0".repeat(64)),
        &admin,
        wasm.clone(),
    )
    .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (400, Some("sha256")),
        "{error}"
    );
    let (status, error) = upload(
        &service,
        "/api/v1/plugins?grants=docker",
        &admin,
        wasm.clone(),
    )
    .await;
    assert_eq!(status, 400, "a grant it did not ask for: {error}");
    let (status, error) = upload(&service, "/api/v1/plugins", &admin, b"\0asm junk".to_vec()).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not a Capstan plugin"),
        "{error}"
    );

    let (status, installed) = upload(
        &service,
        &format!("/api/v1/plugins?grants=kv,local&sha256={sha256}"),
        &admin,
        wasm.clone(),
    )
    .await;
    assert_eq!(status, 201, "{installed}");
    let granted = |view: &Value| -> Vec<String> {
        view["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["granted"] == true)
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(granted(&installed), ["kv", "local"]);
    let (status, _) = upload(&service, "/api/v1/plugins?grants=kv", &admin, wasm.clone()).await;
    assert_eq!(status, 400, "replacing must be asked for");
    let (status, replaced) = upload(
        &service,
        "/api/v1/plugins?grants=kv&replace=true",
        &admin,
        wasm.clone(),
    )
    .await;
    assert_eq!(status, 201, "{replaced}");
    assert_eq!(granted(&replaced), ["kv"]);

    let (status, view) = service
        .tcp(
            "PUT",
            "/api/v1/plugins/probe/grants/remote.exec",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(granted(&view), ["kv", "remote.exec"]);
    let (status, error) = service
        .tcp(
            "PUT",
            "/api/v1/plugins/probe/grants/teleport",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (400, Some("grant")),
        "{error}"
    );
    let (status, view) = service
        .tcp(
            "DELETE",
            "/api/v1/plugins/probe/grants/kv",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(granted(&view), ["remote.exec"]);
    let record = service.capstan.plugin("probe").await.unwrap();
    assert_eq!(
        record
            .grants
            .iter()
            .map(|g| g.to_string())
            .collect::<Vec<_>>(),
        ["remote.exec"]
    );

    let (status, _) = service
        .tcp("DELETE", "/api/v1/plugins/probe", Some(&admin), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = service
        .tcp("GET", "/api/v1/plugins/probe", Some(&admin), None)
        .await;
    assert_eq!(status, 404);

    let actions: Vec<(String, String)> = audited(&service.capstan, "plugin:probe");
    assert_eq!(
        actions
            .iter()
            .map(|(who, what)| format!("{who} {what}"))
            .collect::<Vec<_>>(),
        [
            "token:ops remove",
            "token:ops revoke",
            "token:ops grant",
            "token:ops replace",
            "token:ops install"
        ]
    );

    // An upload has its own limit, answered in the error shape.
    let huge = vec![0u8; capstan_server::routes::plugins::PLUGIN_BODY_LIMIT + 1];
    let (status, error) = upload(&service, "/api/v1/plugins", &admin, huge).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (413, Some("too_large")),
        "{error}"
    );
}

#[tokio::test]
async fn the_smtp_server_is_set_and_read_through_the_api() {
    let service = Service::start().await;
    let admin = service.token("ops", Scope::Admin);
    let (status, _) = service
        .tcp("GET", "/api/v1/notifications/smtp", Some(&admin), None)
        .await;
    assert_eq!(status, 404);
    let settings = json!({ "host": "127.0.0.1", "port": 2525, "security": "starttls",
                           "from": "capstan@example.test" });
    let (status, set) = service
        .tcp(
            "PUT",
            "/api/v1/notifications/smtp",
            Some(&admin),
            Some(settings.clone()),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    let (status, shown) = service
        .tcp("GET", "/api/v1/notifications/smtp", Some(&admin), None)
        .await;
    assert_eq!((status, &shown), (200, &settings));
    let bad = json!({ "host": "127.0.0.1", "port": 2525, "security": "starttls",
                      "from": "capstan@example.test", "user": "me" });
    let (status, error) = service
        .tcp("PUT", "/api/v1/notifications/smtp", Some(&admin), Some(bad))
        .await;
    assert_eq!(status, 400, "a user without its password's secret: {error}");
    assert_eq!(
        audited(&service.capstan, "setting:smtp"),
        [("token:ops".to_string(), "set".to_string())]
    );
}

/// Runs `request` through the API and waits for its job to end; the job.
async fn run_to_end(service: &Service, token: &str, request: Value) -> Value {
    let (status, started) = service
        .tcp("POST", "/api/v1/runs", Some(token), Some(request))
        .await;
    assert_eq!(status, 202, "{started}");
    let id = started["job_id"].as_i64().unwrap();
    for _ in 0..1200 {
        let (_, job) = service
            .tcp("GET", &format!("/api/v1/jobs/{id}"), Some(token), None)
            .await;
        if job["job"]["state"] != "running" {
            return job["job"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("job {id} did not end within a minute");
}

#[tokio::test]
async fn a_container_started_through_the_api_is_read_back_with_its_output_and_announced() {
    let service = Service::start().await;
    install_reactive_probe(&service.capstan).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let _stop_following = stop.clone().drop_guard();
    tokio::spawn(capstan_server::docker_events::run(
        service.state.clone(),
        stop,
    ));
    let admin = service.token("ops", Scope::Admin);
    let reader = service.token("viewer", Scope::Read);
    let image = capstan_test_fixtures::webapp_image("v1");
    let context =
        capstan_test_fixtures::webapp_context(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    let args: serde_json::Map<String, Value> = capstan_test_fixtures::webapp_build_args("v1")
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let built = run_to_end(
        &service,
        &admin,
        json!({ "plugin": "docker", "action": "image", "targets": ["local"],
                "params": { "name": image, "build": { "path": context.display().to_string(), "args": args } } }),
    )
    .await;
    assert_eq!(built["state"], "finished", "{built}");
    let name = format!("capstan-api-{}", std::process::id());
    let started = run_to_end(
        &service,
        &admin,
        json!({ "plugin": "docker", "action": "container", "targets": ["local"],
                "params": { "name": name, "image": image, "state": "started" } }),
    )
    .await;
    assert_eq!(started["state"], "finished", "{started}");

    // The probe subscribes to container changes: it is told of the start,
    // with the container's row as it is now.
    let started_event = probe_event(&service.capstan, |event| {
        event["kind"] == "container-changed"
            && event["data"]["action"] == "start"
            && event["data"]["row"]["name"] == name.as_str()
    })
    .await;
    assert_eq!(started_event["target"], "local", "{started_event}");
    assert_eq!(
        started_event["data"]["row"]["state"], "running",
        "{started_event}"
    );

    let (status, snapshot) = service
        .tcp("GET", "/api/v1/docker/local", Some(&reader), None)
        .await;
    assert_eq!(status, 200, "{snapshot}");
    let row = snapshot["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name.as_str())
        .cloned();
    assert_eq!(
        row.as_ref().map(|r| r["state"].clone()),
        Some(json!("running")),
        "{snapshot}"
    );
    assert!(
        snapshot["images"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == image.as_str())),
        "{snapshot}"
    );

    let path = format!("/api/v1/docker/local/containers/{name}/logs?tail=20");
    let mut text = String::new();
    for _ in 0..100 {
        let (status, logs) = service.tcp("GET", &path, Some(&reader), None).await;
        assert_eq!(status, 200, "{logs}");
        text = logs["text"].as_str().unwrap().to_string();
        if text.contains("serving v1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(text.contains("serving v1"), "{text}");

    let removed = run_to_end(
        &service,
        &admin,
        json!({ "plugin": "docker", "action": "container", "targets": ["local"],
                "params": { "name": name, "state": "absent" } }),
    )
    .await;
    assert_eq!(removed["state"], "finished", "{removed}");
    let container_id = started_event["data"]["id"].as_str().unwrap().to_string();
    let gone = probe_event(&service.capstan, |event| {
        event["data"]["action"] == "destroy" && event["data"]["id"] == container_id.as_str()
    })
    .await;
    assert_eq!(
        gone["data"]["row"],
        Value::Null,
        "a removed container has no row: {gone}"
    );
    let (status, error) = service.tcp("GET", &path, Some(&reader), None).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("not_found")),
        "{error}"
    );
    let (status, error) = service
        .tcp(
            "GET",
            "/api/v1/docker/local/services/nothing-here/tasks",
            Some(&reader),
            None,
        )
        .await;
    assert!(matches!(status, 400 | 404), "{status} {error}");
    let (status, error) = service
        .tcp("GET", "/api/v1/docker/no-such-host", Some(&reader), None)
        .await;
    assert!(matches!(status, 400 | 404), "{status} {error}");
    // A host that cannot be reached is the host's failure, not the API's.
    let far = json!({ "name": "far", "address": "nowhere.invalid", "port": "22", "user": "x",
                      "auth": "agent", "auth_value": "", "environment": "", "groups": "" });
    let (status, _) = service
        .tcp("POST", "/api/v1/hosts", Some(&admin), Some(far))
        .await;
    assert_eq!(status, 201);
    let (status, error) = service
        .tcp("GET", "/api/v1/docker/far", Some(&reader), None)
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (424, Some("unreachable")),
        "{error}"
    );
}

/// A GET over TCP with no token: status, content type, security policy and body.
async fn fetch_raw(service: &Service, path: &str) -> (u16, String, String, String) {
    let stream = tokio::net::TcpStream::connect(service.address)
        .await
        .unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header("host", "capstan")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (kind, policy) = (header("content-type"), header("content-security-policy"));
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        kind,
        policy,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn the_docs_page_is_served_from_its_own_assets_and_renders_every_operation() {
    let service = Service::start().await;
    let (status, kind, policy, page) = fetch_raw(&service, "/api/v1/docs").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(
        policy.contains("script-src 'self'") && policy.contains("default-src 'none'"),
        "{policy}"
    );
    assert!(page.contains("/api/v1/docs/docs.js") && page.contains("/api/v1/docs/docs.css"));
    for asset in [
        "/api/v1/docs",
        "/api/v1/docs/docs.js",
        "/api/v1/docs/docs.css",
    ] {
        let (status, _, _, text) = fetch_raw(&service, asset).await;
        assert_eq!(status, 200, "{asset}");
        assert!(
            !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
            "{asset} names another site: it must need nothing but this service"
        );
    }

    // The renderer, run by Node over the real document, shows every
    // operation with its scope.
    let (_, _, _, document) = fetch_raw(&service, "/api/v1/openapi.json").await;
    let mut node = std::process::Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/render-docs.js"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node runs the docs page's renderer (./dev setup installs it)");
    use std::io::Write;
    node.stdin
        .take()
        .unwrap()
        .write_all(document.as_bytes())
        .unwrap();
    let output = node.wait_with_output().unwrap();
    assert!(output.status.success());
    let rendered: Value = serde_json::from_slice(&output.stdout).unwrap();
    let main = rendered["main"].as_str().unwrap();
    let document: Value = serde_json::from_str(&document).unwrap();
    let operations = operations(&document);
    assert!(operations.len() > 50, "{}", operations.len());
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(
                main.contains(&format!("id=\"{id}\"")),
                "{id} is not on the page"
            );
        }
    }
    assert!(rendered["nav"].as_str().unwrap().contains("#tag-plugins"));
    assert_eq!(
        main.matches("<span class=\"scope\">admin</span>").count(),
        operations
            .iter()
            .filter(|(_, _, s)| *s == Some(Scope::Admin))
            .count()
    );
    assert!(!main.contains("<script"), "descriptions are escaped");
}

/// The first event the probe recorded that `wanted` picks, waited for up
/// to 30 s.
async fn probe_event(capstan: &Capstan, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let keys = capstan.store().kv_keys("probe", "event-").unwrap();
        let found = keys.iter().find_map(|key| {
            let bytes = capstan.store().kv_get("probe", key).unwrap()?;
            let event: Value = serde_json::from_slice(&bytes).ok()?;
            wanted(&event).then_some(event)
        });
        if let Some(event) = found {
            return event;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the probe never handled such an event"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
