//! Swarm on this machine's real engine, driven by a playbook: init, a
//! stack from a Compose file, scaling, a rolling update under load with no
//! failed request, a broken update that rolls back by itself, draining the
//! node, and removing the stack without leaving anything behind.
//!
//! The kernel here has no IPVS, so Swarm's ingress routing mesh cannot
//! run: the stack publishes a front door (`webapp proxy`, host-mode port)
//! that resolves the `dnsrr` web service's tasks per request, as Traefik
//! or nginx in front of a swarm do.

use std::collections::HashMap;
use std::time::Duration;

use capstan_engine::docker::{Engine, ObjectKind};
use capstan_engine::jobs::ResultStatus;
use capstan_engine::playbook::PlaybookOptions;
use serde_json::{Value, json};

use crate::dockerhost::{
    Client, build_images, docker, free_port, get, image, local_engine, wait_for,
};
use crate::support;

/// The node label marking a swarm these tests made (and may tear down).
const TEST_LABEL: &str = "capstan-test-swarm";

const PLAYBOOK: &str = r#"
- hosts: manager
  gather_facts: false
  tasks:
    - name: be a swarm manager
      community.docker.docker_swarm:
        state: present
        advertise_addr: 127.0.0.1
    - name: deploy the stack
      community.docker.docker_stack:
        name: "{{ stack }}"
        compose:
          - "{{ compose }}"
"#;

fn compose(web_image: &str, front_image: &str, port: u16) -> String {
    format!(
        r#"version: "3.8"
services:
  web:
    image: {web_image}
    stop_grace_period: 3s
    healthcheck:
      test: ["CMD", "/webapp", "--check"]
      interval: 1s
      timeout: 2s
      retries: 2
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      update_config:
        parallelism: 1
        delay: 1s
        order: start-first
        failure_action: rollback
        monitor: 5s
      rollback_config:
        parallelism: 1
        order: start-first
  front:
    image: {front_image}
    command: ["proxy"]
    environment:
      UPSTREAM: web
    ports:
      - target: 8080
        published: {port}
        mode: host
"#
    )
}

/// Leaves a swarm an earlier run of these tests left; refuses to touch one
/// it did not make.
async fn start_outside_any_swarm(engine: &Engine) {
    let info = engine.info().await.unwrap();
    if info["Swarm"]["LocalNodeState"] != "active" {
        return;
    }
    let node_id = info["Swarm"]["NodeID"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let node = engine
        .inspect(ObjectKind::Node, &node_id)
        .await
        .ok()
        .flatten();
    let ours = node.is_some_and(|n| n["Spec"]["Labels"][TEST_LABEL].is_string());
    assert!(
        ours,
        "this machine's engine is in a swarm these tests did not make: they need an engine outside any swarm"
    );
    engine.swarm_leave(true).await.unwrap();
}

/// Running tasks of a service, by image.
async fn running(engine: &Engine, service: &str) -> HashMap<String, usize> {
    let filters = HashMap::from([
        ("service".to_string(), vec![service.to_string()]),
        ("desired-state".to_string(), vec!["running".to_string()]),
    ]);
    let tasks = engine.list(ObjectKind::Task, filters).await.unwrap();
    let mut by_image = HashMap::new();
    for task in tasks.as_array().unwrap() {
        if task["Status"]["State"] == "running" {
            let image = task["Spec"]["ContainerSpec"]["Image"]
                .as_str()
                .unwrap_or("")
                .to_string();
            *by_image.entry(image).or_insert(0) += 1;
        }
    }
    by_image
}

async fn wait_running(engine: &Engine, service: &str, image: &str, count: usize) {
    wait_for(
        &format!("{count} running tasks of {service} on {image}"),
        Duration::from_secs(90),
        || async {
            let now = running(engine, service).await;
            (now.get(image) == Some(&count) && now.len() == 1).then_some(())
        },
    )
    .await;
}

async fn update_state(engine: &Engine, service: &str) -> (String, Value) {
    let inspected = engine
        .inspect(ObjectKind::Service, service)
        .await
        .unwrap()
        .unwrap();
    (
        inspected["UpdateStatus"]["State"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        inspected["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_scales_updates_with_no_failed_request_rolls_back_drains_and_goes_away() {
    let (_home, capstan) = support::engine();
    let engine = local_engine().await;
    start_outside_any_swarm(&engine).await;
    build_images(&capstan).await;

    // Plugins never reach Capstan's data folder: the files live beside it.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("swarm");
    std::fs::create_dir_all(&dir).unwrap();
    let playbook = dir.join("swarm.yml");
    std::fs::write(&playbook, PLAYBOOK).unwrap();
    let inventory = dir.join("hosts.ini");
    std::fs::write(&inventory, "manager ansible_connection=local\n").unwrap();
    let port = free_port();
    let stack = format!("t{}", std::process::id());
    let web = format!("{stack}_web");
    let deploy = |version: &str| {
        let compose_path = dir.join(format!("stack-{version}.yml"));
        std::fs::write(&compose_path, compose(&image(version), &image("v1"), port)).unwrap();
        let mut extra = serde_json::Map::new();
        extra.insert("stack".into(), json!(stack));
        extra.insert("compose".into(), json!(compose_path.display().to_string()));
        PlaybookOptions {
            playbook: playbook.clone(),
            inventory: Some(inventory.clone()),
            extra_vars: extra,
            ..PlaybookOptions::default()
        }
    };
    let play = |options: PlaybookOptions| {
        let capstan = &capstan;
        async move {
            let report = capstan
                .run_playbook(options, std::sync::Arc::new(|_| {}))
                .await
                .unwrap();
            report.recap.into_iter().next().unwrap()
        }
    };

    // From a bare engine to a swarm with the stack.
    let recap = play(deploy("v1")).await;
    assert_eq!((recap.changed, recap.failed), (2, 0), "{recap:?}");
    let node_id = engine.info().await.unwrap()["Swarm"]["NodeID"]
        .as_str()
        .unwrap()
        .to_string();
    let labelled = docker(
        &capstan,
        "node",
        json!({ "hostname": node_id, "labels": { TEST_LABEL: "1" } }),
    )
    .await;
    assert_eq!(labelled.status, ResultStatus::Changed, "{labelled:?}");
    wait_running(&engine, &web, &image("v1"), 3).await;
    let body = wait_for(
        "the front door to answer",
        Duration::from_secs(60),
        || async { get(port) },
    )
    .await;
    assert!(body.starts_with("v1 "), "{body}");

    // A second run changes nothing.
    let recap = play(deploy("v1")).await;
    assert_eq!((recap.ok, recap.changed), (2, 0), "{recap:?}");

    // Scale 1 → 10 → 2, watched by the live view too (fed by events).
    let (view_tx, view_rx) = tokio::sync::oneshot::channel();
    let view_tx = std::sync::Mutex::new(Some(view_tx));
    let follower = tokio::spawn(capstan_engine::docker::LiveEngine::follow(
        engine.clone(),
        move |view, _| {
            if let Some(tx) = view_tx.lock().unwrap().take() {
                let _ = tx.send(view.clone());
            }
            true
        },
    ));
    let view = view_rx.await.unwrap();
    for replicas in [1, 10, 2] {
        let scaled = docker(
            &capstan,
            "scale",
            json!({ "name": web, "replicas": replicas }),
        )
        .await;
        assert_eq!(scaled.status, ResultStatus::Changed, "{scaled:?}");
        wait_running(&engine, &web, &image("v1"), replicas).await;
        wait_for(
            &format!("the live view to count {replicas} running"),
            Duration::from_secs(30),
            || async {
                let row = view.services().into_iter().find(|r| r.name == web)?;
                (row.running == replicas as u64 && row.desired == replicas as u64).then_some(())
            },
        )
        .await;
    }
    follower.abort();

    // A rolling update while a client sends requests: none fails.
    let client = Client::start(port);
    let recap = play(deploy("v2")).await;
    assert_eq!(recap.changed, 1, "{recap:?}");
    wait_for(
        "the update to complete",
        Duration::from_secs(120),
        || async { (update_state(&engine, &web).await.0 == "completed").then_some(()) },
    )
    .await;
    wait_running(&engine, &web, &image("v2"), 3).await;
    std::thread::sleep(Duration::from_secs(1));
    let tally = client.finish();
    assert_eq!(
        tally.failed, 0,
        "requests failed during the rolling update: {tally:?}"
    );
    assert!(tally.ok > 50, "{tally:?}");
    assert_eq!(tally.versions, ["v1", "v2"], "{tally:?}");
    println!(
        "rolling update: {} requests answered, {} failed",
        tally.ok, tally.failed
    );

    // An update to an image that crashes rolls back by itself.
    let client = Client::start(port);
    let recap = play(deploy("v3")).await;
    assert_eq!(recap.changed, 1, "{recap:?}");
    let (state, image_now) = wait_for("the rollback", Duration::from_secs(120), || async {
        let (state, image_now) = update_state(&engine, &web).await;
        (state == "rollback_completed").then_some((state, image_now))
    })
    .await;
    assert_eq!(
        (state.as_str(), image_now),
        ("rollback_completed", json!(image("v2")))
    );
    wait_running(&engine, &web, &image("v2"), 3).await;
    let tally = client.finish();
    assert_eq!(
        tally.failed, 0,
        "requests failed during the rollback: {tally:?}"
    );
    assert_eq!(tally.versions, ["v2"], "{tally:?}");
    let tasks = engine.task_rows(&web).await.unwrap();
    assert!(
        tasks.iter().any(|t| t.image == image("v3")
            && t.desired.name() == "shutdown"
            && t.state.name() != "running"),
        "the crashed v3 task is in the service's history: {tasks:?}"
    );
    println!(
        "rollback: {} requests answered, {} failed",
        tally.ok, tally.failed
    );

    // Draining the node stops its tasks; making it active brings them back.
    let drained = docker(
        &capstan,
        "node",
        json!({ "hostname": node_id, "availability": "drain" }),
    )
    .await;
    assert_eq!(drained.status, ResultStatus::Changed, "{drained:?}");
    wait_for(
        "the drained node to run nothing",
        Duration::from_secs(60),
        || async { running(&engine, &web).await.is_empty().then_some(()) },
    )
    .await;
    let active = docker(
        &capstan,
        "node",
        json!({ "hostname": node_id, "availability": "active" }),
    )
    .await;
    assert_eq!(active.status, ResultStatus::Changed);
    wait_running(&engine, &web, &image("v2"), 3).await;

    // Removing the stack leaves no service, network or container of it.
    let removed = docker(
        &capstan,
        "stack",
        json!({ "name": stack, "state": "absent" }),
    )
    .await;
    assert_eq!(removed.status, ResultStatus::Changed, "{removed:?}");
    assert!(
        removed
            .summary
            .contains(&format!("network {stack}_default")),
        "{}",
        removed.summary
    );
    let label = HashMap::from([(
        "label".to_string(),
        vec![format!("com.docker.stack.namespace={stack}")],
    )]);
    assert_eq!(
        engine
            .list(ObjectKind::Service, label.clone())
            .await
            .unwrap(),
        json!([])
    );
    // The managers drop a removed network and the stopped tasks' containers
    // a moment after the call returns.
    for kind in [ObjectKind::Network, ObjectKind::Container] {
        wait_for(
            &format!("the stack's {kind:?}s to go"),
            Duration::from_secs(60),
            || async {
                let left = engine.list(kind, label.clone()).await.unwrap();
                (left == json!([])).then_some(())
            },
        )
        .await;
    }
    let again = docker(
        &capstan,
        "stack",
        json!({ "name": stack, "state": "absent" }),
    )
    .await;
    assert_eq!(again.status, ResultStatus::Ok);

    let left = docker(
        &capstan,
        "swarm",
        json!({ "state": "absent", "force": true }),
    )
    .await;
    assert_eq!(left.status, ResultStatus::Changed, "{left:?}");
}
