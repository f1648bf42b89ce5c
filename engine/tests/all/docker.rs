//! The docker plugin's container, image, network and volume actions
//! against this machine's real Docker engine.

use std::collections::HashMap;
use std::time::Duration;

use capstan_engine::docker::ObjectKind;
use capstan_engine::jobs::{FailureKind, ResultStatus, RunRequest};
use serde_json::json;

use crate::dockerhost::{
    build_images, converges, docker, free_port, get, image, local_engine, wait_for,
};
use crate::support;

fn unique(name: &str) -> String {
    format!("capstan-t-{name}-{}", std::process::id())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_is_created_kept_recreated_on_change_stopped_and_removed() {
    let (_home, capstan) = support::engine();
    build_images(&capstan).await;
    let name = unique("web");
    let port = free_port();
    let spec = |version: &str| {
        json!({
            "name": name,
            "image": image("v1"),
            "published_ports": [format!("127.0.0.1:{port}:8080")],
            "env": { "VERSION": version },
            "labels": { "team": "web" },
            "restart_policy": "unless-stopped",
            "stop_timeout": 1,
        })
    };

    // Check mode says what it would do and does nothing.
    let mut check = RunRequest::new("docker", "container", spec("a"), ["local"]);
    check.check = true;
    let report = support::execute(&capstan, check).await;
    assert_eq!(support::only(&report).status, ResultStatus::Changed);
    let engine = local_engine().await;
    assert!(
        engine
            .inspect(ObjectKind::Container, &name)
            .await
            .unwrap()
            .is_none()
    );

    let created = docker(&capstan, "container", spec("a")).await;
    assert_eq!(created.status, ResultStatus::Changed, "{created:?}");
    let body = wait_for(
        "the container to answer",
        Duration::from_secs(10),
        || async { get(port) },
    )
    .await;
    assert!(body.starts_with("a "), "{body}");

    let again = docker(&capstan, "container", spec("a")).await;
    assert_eq!(
        again.status,
        ResultStatus::Ok,
        "a second run changes nothing: {again:?}"
    );

    let mut diff_run = RunRequest::new("docker", "container", spec("b"), ["local"]);
    diff_run.diff = true;
    let recreated = support::execute(&capstan, diff_run).await;
    let recreated = support::only(&recreated);
    assert_eq!(recreated.status, ResultStatus::Changed);
    assert!(
        recreated.summary.contains("recreate"),
        "{}",
        recreated.summary
    );
    let diff = recreated.diff.as_deref().unwrap_or_default();
    assert!(
        diff.contains("-      \"VERSION=a\"") && diff.contains("+      \"VERSION=b\""),
        "{diff}"
    );
    let body = wait_for(
        "the new container to answer",
        Duration::from_secs(10),
        || async { get(port).filter(|b| b.starts_with("b ")) },
    )
    .await;
    assert!(body.starts_with("b "));

    let mut stopped = spec("b");
    stopped["state"] = json!("stopped");
    converges(&capstan, "container", stopped).await;
    let inspected = engine
        .inspect(ObjectKind::Container, &name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inspected["State"]["Running"], false);

    let absent = json!({ "name": name, "state": "absent" });
    converges(&capstan, "container", absent).await;
    assert!(
        engine
            .inspect(ObjectKind::Container, &name)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn networks_and_volumes_are_idempotent_and_recreated_when_options_change() {
    let (_home, capstan) = support::engine();
    let net = unique("net");
    let vol = unique("vol");
    let network =
        |internal: bool| json!({ "name": net, "internal": internal, "labels": { "app": "t" } });
    converges(&capstan, "network", network(false)).await;
    let changed = docker(&capstan, "network", network(true)).await;
    assert!(changed.summary.contains("recreate network"), "{changed:?}");
    let engine = local_engine().await;
    let inspected = engine
        .inspect(ObjectKind::Network, &net)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inspected["Internal"], true);

    let volume = json!({ "name": vol, "labels": { "app": "t" } });
    converges(&capstan, "volume", volume).await;

    for (action, name) in [("network", &net), ("volume", &vol)] {
        let gone = json!({ "name": name, "state": "absent" });
        converges(&capstan, action, gone).await;
    }
    assert!(
        engine
            .inspect(ObjectKind::Network, &net)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_named_and_nothing_half_made_is_left() {
    let (_home, capstan) = support::engine();
    build_images(&capstan).await;
    let engine = local_engine().await;

    // A missing image: named, with what to do.
    let missing = docker(
        &capstan,
        "container",
        json!({ "name": unique("m"), "image": "nope:1" }),
    )
    .await;
    assert_eq!(missing.status, ResultStatus::Failed);
    assert!(
        missing.summary.contains("image `nope:1` is not on local")
            && missing.summary.contains("docker_image"),
        "{}",
        missing.summary
    );

    // A port already taken: the container that could not start is removed again.
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let name = unique("busy");
    let busy = docker(
        &capstan,
        "container",
        json!({
            "name": name, "image": image("v1"), "published_ports": [format!("{port}:8080")]
        }),
    )
    .await;
    assert_eq!(busy.status, ResultStatus::Failed);
    assert!(
        busy.summary.contains("did not start") && busy.summary.contains("removed again"),
        "{}",
        busy.summary
    );
    assert!(
        engine
            .inspect(ObjectKind::Container, &name)
            .await
            .unwrap()
            .is_none(),
        "nothing left behind"
    );

    // Bad parameters never reach the engine.
    let bad_port = docker(
        &capstan,
        "container",
        json!({ "name": unique("p"), "image": image("v1"), "published_ports": ["http:80"] }),
    )
    .await;
    assert!(
        bad_port.summary.contains("`http:80` is not"),
        "{}",
        bad_port.summary
    );
    let bad_name = docker(
        &capstan,
        "container",
        json!({ "name": "../etc", "image": image("v1") }),
    )
    .await;
    assert!(
        bad_name.summary.contains("container name `../etc`"),
        "{}",
        bad_name.summary
    );

    // An engine that is not there: the target is unreachable, and says where it looked.
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        format!(
            "ghost ansible_connection=local docker_host=unix://{}/docker.sock\n",
            dir.path().display()
        ),
    )
    .unwrap();
    for host in
        capstan_engine::inventory::load_file(&inventory, "root", None, &Default::default()).unwrap()
    {
        capstan.add_host(&host).unwrap();
    }
    let report = support::execute(
        &capstan,
        RunRequest::new(
            "docker",
            "container",
            json!({ "name": "x", "state": "absent" }),
            ["ghost"],
        ),
    )
    .await;
    let ghost = support::only(&report);
    assert_eq!(ghost.status, ResultStatus::Unreachable, "{ghost:?}");
    assert_eq!(ghost.failure, Some(FailureKind::Unreachable));
    assert!(
        ghost.summary.contains("docker.sock") && ghost.summary.contains("does not exist"),
        "{}",
        ghost.summary
    );

    // Filters and specs a plugin sends are checked by the host.
    let listed = engine
        .list(
            ObjectKind::Container,
            HashMap::from([("name".to_string(), vec![name.clone()])]),
        )
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compose_file_with_an_unsupported_key_is_refused_with_its_line() {
    let (_home, capstan) = support::engine();
    let dir = tempfile::tempdir().unwrap();
    let compose = dir.path().join("stack.yml");
    std::fs::write(
        &compose,
        "version: \"3.8\"\nservices:\n  web:\n    image: web:1\n    build: .\n",
    )
    .unwrap();
    let result = docker(
        &capstan,
        "stack",
        json!({ "name": "t", "compose": [compose.display().to_string()] }),
    )
    .await;
    assert_eq!(result.status, ResultStatus::Failed);
    let expected = format!("{}:5: `services.web.build`", compose.display());
    assert!(result.summary.contains(&expected), "{}", result.summary);
    assert!(
        result.summary.contains("docker_image"),
        "{}",
        result.summary
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_engine_is_reached_through_the_hosts_ssh_connection() {
    let sshd = crate::fleet::Sshd::start();
    let (_home, capstan) = support::engine();
    capstan.add_host(&sshd.host("box")).unwrap();
    let mut missing = sshd.host("nosocket");
    missing.vars.insert(
        "docker_host".into(),
        json!("unix:///run/no-such-docker.sock"),
    );
    capstan.add_host(&missing).unwrap();
    let net = unique("ssh-net");

    let mut request = RunRequest::new("docker", "network", json!({ "name": net }), ["box"]);
    request.trust_new_hosts = true;
    let report = support::execute(&capstan, request).await;
    assert_eq!(
        support::only(&report).status,
        ResultStatus::Changed,
        "{report:?}"
    );
    // The same engine, seen locally: the network was made over SSH.
    let engine = local_engine().await;
    assert!(
        engine
            .inspect(ObjectKind::Network, &net)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        sshd.logins(),
        1,
        "the Docker calls rode the host's one SSH connection"
    );

    let gone = RunRequest::new(
        "docker",
        "network",
        json!({ "name": net, "state": "absent" }),
        ["box"],
    );
    let report = support::execute(&capstan, gone).await;
    assert_eq!(
        support::only(&report).status,
        ResultStatus::Changed,
        "{report:?}"
    );

    let mut request = RunRequest::new("docker", "network", json!({ "name": net }), ["nosocket"]);
    request.trust_new_hosts = true;
    let report = support::execute(&capstan, request).await;
    let result = support::only(&report);
    assert_eq!(result.status, ResultStatus::Unreachable, "{result:?}");
    assert!(
        result.summary.contains("/run/no-such-docker.sock"),
        "{}",
        result.summary
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_live_view_follows_containers_and_networks_from_events() {
    use capstan_engine::docker::LiveEngine;
    let (_home, capstan) = support::engine();
    build_images(&capstan).await;
    let name = unique("live");
    let net = unique("live-net");
    let (view_tx, view_rx) = tokio::sync::oneshot::channel();
    let view_tx = std::sync::Mutex::new(Some(view_tx));
    let changes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = changes.clone();
    let engine = local_engine().await;
    let follower = tokio::spawn(LiveEngine::follow(engine, move |view, change| {
        if let Some(tx) = view_tx.lock().unwrap().take() {
            let _ = tx.send(view.clone());
        }
        seen.lock()
            .unwrap()
            .push(format!("{} {}", change.kind, change.action));
        true
    }));
    let view = view_rx.await.unwrap();
    let row = |name: &str| view.containers().into_iter().find(|r| r.name == name);

    let spec = json!({ "name": name, "image": image("v1") });
    assert_eq!(
        docker(&capstan, "container", spec).await.status,
        ResultStatus::Changed
    );
    let running = wait_for(
        "the view to show it running",
        Duration::from_secs(10),
        || async { row(&name).filter(|r| r.state.name() == "running") },
    )
    .await;
    assert_eq!(running.image, image("v1"));
    assert_eq!(
        docker(&capstan, "network", json!({ "name": net }))
            .await
            .status,
        ResultStatus::Changed
    );
    wait_for(
        "the view to show the network",
        Duration::from_secs(10),
        || async { view.networks().into_iter().find(|n| n.name == net) },
    )
    .await;

    docker(
        &capstan,
        "container",
        json!({ "name": name, "state": "absent" }),
    )
    .await;
    docker(
        &capstan,
        "network",
        json!({ "name": net, "state": "absent" }),
    )
    .await;
    wait_for("the view to drop both", Duration::from_secs(10), || async {
        (row(&name).is_none() && !view.networks().iter().any(|n| n.name == net)).then_some(())
    })
    .await;
    let kinds = changes.lock().unwrap().clone();
    assert!(
        kinds.iter().any(|k| k == "container start")
            && kinds.iter().any(|k| k == "network destroy"),
        "{kinds:?}"
    );
    follower.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_that_stops_half_way_lists_what_it_made() {
    let (_home, capstan) = support::engine();
    let stack = format!("half{}", std::process::id());
    let compose = json!({
        "services": { "web": { "image": "web:1", "networks": ["front", "outside"] } },
        "networks": { "front": { "driver": "bridge" }, "outside": { "external": true } }
    });
    let result = docker(
        &capstan,
        "stack",
        json!({ "name": stack, "compose": [compose] }),
    )
    .await;
    assert_eq!(result.status, ResultStatus::Failed);
    assert!(
        result
            .summary
            .contains("network outside is external to the stack and does not exist"),
        "{}",
        result.summary
    );
    let made = format!("before this, the stack created network {stack}_front");
    assert!(result.summary.contains(&made), "{}", result.summary);
    let engine = local_engine().await;
    assert!(
        engine
            .inspect(ObjectKind::Network, &format!("{stack}_front"))
            .await
            .unwrap()
            .is_some()
    );
    engine
        .remove(ObjectKind::Network, &format!("{stack}_front"), false)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_containers_output_is_followed_live() {
    use futures_util::StreamExt;
    let (_home, capstan) = support::engine();
    build_images(&capstan).await;
    let name = unique("logs");
    let created = docker(
        &capstan,
        "container",
        json!({ "name": name, "image": image("v2") }),
    )
    .await;
    assert_eq!(created.status, ResultStatus::Changed);
    let engine = local_engine().await;
    let mut stream = std::pin::pin!(engine.follow_logs(&name, 10));
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.contains("serving v2 on :8080"), "{first}");
    // Reads stop at their limit instead of holding the whole answer.
    let small = engine.clone().with_answer_limit(8);
    match small.logs(&name, 100).await {
        Err(capstan_engine::docker::DockerError::TooLarge(m)) => {
            assert!(m.contains("passed 8 bytes"), "{m}")
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    match small.info().await {
        Err(capstan_engine::docker::DockerError::TooLarge(m)) => {
            assert!(m.contains("more than 8 bytes"), "{m}")
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(
        engine.info().await.is_ok(),
        "the default limit holds a real answer"
    );
    // Stopping the container ends the stream.
    engine
        .container(&name, capstan_engine::docker::ContainerOp::Kill, None)
        .await
        .unwrap();
    let rest = tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>()).await;
    assert!(rest.is_ok(), "the log stream ends when the container stops");
    docker(
        &capstan,
        "container",
        json!({ "name": name, "state": "absent" }),
    )
    .await;
}

/// An image tar is streamed to the engine as it is read: a `docker save`
/// tar loads; a FIFO (which would never end), garbage and a build context
/// that cannot be packed are each refused by name.
#[tokio::test(flavor = "multi_thread")]
async fn image_tars_and_build_contexts_stream_and_bad_ones_are_named() {
    let (home, capstan) = support::engine();
    build_images(&capstan).await;
    let dir = home.path().join("..").join(unique("tars"));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    let tar = dir.join("v1.tar");
    let tag = format!("{}:v1", unique("loaded"));
    let sh = |args: &[&str]| {
        let status = std::process::Command::new("docker")
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "docker {args:?}");
    };
    sh(&["tag", &image("v1"), &tag]);
    sh(&["save", "-o", tar.to_str().unwrap(), &tag]);
    sh(&["rmi", &tag]);
    let loaded = docker(
        &capstan,
        "image",
        json!({ "name": tag, "source": "load", "load_path": tar.to_str().unwrap() }),
    )
    .await;
    assert_eq!(loaded.status, ResultStatus::Changed, "{loaded:?}");
    sh(&["rmi", &tag]);

    let fifo = dir.join("fifo.tar");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let garbage = dir.join("garbage.tar");
    std::fs::write(&garbage, vec![0x5a; 100_000]).unwrap();
    for (path, says) in [
        (&fifo, "not a regular file"),
        (&garbage, "invalid tar header"),
    ] {
        let result = docker(
            &capstan,
            "image",
            json!({ "name": tag, "source": "load", "load_path": path.to_str().unwrap() }),
        )
        .await;
        assert_eq!(result.status, ResultStatus::Failed, "{result:?}");
        assert!(
            result.summary.contains(says),
            "`{}` should say `{says}`",
            result.summary
        );
    }

    let result = docker(
        &capstan,
        "image",
        json!({ "name": tag, "build": { "path": dir.join("no-such-context").to_str().unwrap() } }),
    )
    .await;
    assert_eq!(result.status, ResultStatus::Failed, "{result:?}");
    assert!(
        result.summary.contains("could not be packed"),
        "{}",
        result.summary
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
