//! A swarm of more than one node: Docker engines of the tests' own, each
//! in a container on a private network (the host's `/usr` mounted
//! read-only for the binaries; `vfs` storage; no iptables), driven by a
//! playbook from bare engines to a service spread over the workers, then
//! a worker drained.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use capstan_engine::docker::{Engine, ObjectKind};
use capstan_engine::jobs::ResultStatus;
use capstan_engine::playbook::PlaybookOptions;
use capstan_engine::target::Target;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::dockerhost::{build_images, docker, image, local_engine, wait_for};
use crate::support;

const NODES: [&str; 3] = ["mgr", "w1", "w2"];

/// Removes the node containers and their network however the test ends.
struct Cleanup {
    prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for node in NODES {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", "-v", &format!("{}-{node}", self.prefix)])
                .output();
        }
        let _ = std::process::Command::new("docker")
            .args(["network", "rm", &self.prefix])
            .output();
    }
}

/// The engine image: an almost empty root whose `/usr` comes from the host.
fn engine_context(dir: &Path) -> PathBuf {
    let context = dir.join("engine-image");
    let root = context.join("rootfs");
    for sub in ["usr", "etc", "var/lib", "var/run", "tmp", "run", "sock"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    for (link, to) in [
        ("bin", "usr/bin"),
        ("sbin", "usr/sbin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
    ] {
        std::os::unix::fs::symlink(to, root.join(link)).unwrap();
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/group"), "root:x:0:\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/sbin:/usr/bin:/sbin:/bin\n\
         ENTRYPOINT [\"dockerd\", \"--storage-driver=vfs\", \"--iptables=false\", \"--host\", \"unix:///sock/docker.sock\"]\n",
    )
    .unwrap();
    context
}

async fn tasks_by_node(engine: &Engine, service: &str) -> HashMap<String, usize> {
    let filters = HashMap::from([
        ("service".to_string(), vec![service.to_string()]),
        ("desired-state".to_string(), vec!["running".to_string()]),
    ]);
    let nodes = engine.node_rows().await.unwrap();
    let tasks = engine.list(ObjectKind::Task, filters).await.unwrap();
    let mut by_node = HashMap::new();
    for task in tasks.as_array().unwrap() {
        if task["Status"]["State"] == "running" {
            let id: String = task["NodeID"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(12)
                .collect();
            let host = nodes
                .iter()
                .find(|n| n.id == id)
                .map(|n| n.hostname.clone())
                .unwrap_or(id);
            *by_node.entry(host).or_insert(0) += 1;
        }
    }
    by_node
}

const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: load the app image (there is no registry)
      community.docker.docker_image:
        name: "{{ app_image }}"
        source: load
        load_path: "{{ image_tar }}"
    - name: start the swarm on the manager
      community.docker.docker_swarm:
        state: present
        advertise_addr: "{{ manager_address }}"
      when: inventory_hostname == 'mgr'
    - name: join the workers
      community.docker.docker_swarm:
        state: join
        manager: mgr
        role: worker
      when: inventory_hostname in groups['workers']
    - name: run the app on the workers
      community.docker.docker_swarm_service:
        name: app
        image: "{{ app_image }}"
        replicas: 4
        endpoint_mode: dnsrr
        placement:
          constraints: ["node.role == worker"]
      when: inventory_hostname == 'mgr'
"#;

#[tokio::test(flavor = "multi_thread")]
async fn engines_in_containers_form_a_swarm_and_a_drained_worker_hands_its_tasks_over() {
    let (_home, capstan) = support::engine();
    let prefix = format!("capstan-t-nodes-{}", std::process::id());
    let _cleanup = Cleanup {
        prefix: prefix.clone(),
    };
    build_images(&capstan).await;
    // Plugins never reach Capstan's data folder: the files live beside it.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("nodes");
    std::fs::create_dir_all(&dir).unwrap();

    // The engine image and the nodes, made with the docker plugin itself.
    let engine_image = "capstan-test-engine:1";
    let built = docker(
        &capstan,
        "image",
        json!({
            "name": engine_image, "build": { "path": engine_context(&dir).display().to_string() }
        }),
    )
    .await;
    assert_ne!(built.status, ResultStatus::Failed, "{built:?}");
    let net = docker(&capstan, "network", json!({ "name": prefix })).await;
    assert_eq!(net.status, ResultStatus::Changed, "{net:?}");
    let mut inventory = String::from("[managers]\n");
    for node in NODES {
        let sock_dir = dir.join(node);
        std::fs::create_dir_all(&sock_dir).unwrap();
        let started = docker(&capstan, "container", json!({
            "name": format!("{prefix}-{node}"),
            "image": engine_image,
            "hostname": node,
            "command": [format!("--cgroup-parent=/{prefix}-{node}")],
            "capabilities": ["SYS_ADMIN", "NET_ADMIN"],
            "security_opts": ["seccomp=unconfined", "apparmor=unconfined"],
            "volumes": ["/usr:/usr:ro", "/sys/fs/cgroup:/sys/fs/cgroup:rw", format!("{}:/sock", sock_dir.display())],
            "networks": [prefix],
        }))
        .await;
        assert_eq!(started.status, ResultStatus::Changed, "{started:?}");
        let line = format!(
            "{node} ansible_connection=local docker_host=unix://{}/docker.sock\n",
            sock_dir.display()
        );
        if node == "mgr" {
            inventory.push_str(&line);
            inventory.push_str("[workers]\n");
        } else {
            inventory.push_str(&line);
        }
    }
    let inventory_path = dir.join("hosts.ini");
    std::fs::write(&inventory_path, &inventory).unwrap();
    let node_engine = |node: &str| {
        let socket = dir.join(node).join("docker.sock").display().to_string();
        async move {
            let target = Target::local_named("node").with_docker_socket(socket);
            target.docker().await.ok()
        }
    };
    for node in NODES {
        wait_for(
            &format!("the engine of {node}"),
            Duration::from_secs(60),
            || node_engine(node),
        )
        .await;
    }

    // The app image goes to the nodes as a `docker save` tar.
    let tar = dir.join("app.tar");
    let local = local_engine().await;
    let mut saved = Vec::new();
    let mut stream = local.client().export_image(&image("v1"));
    while let Some(chunk) = stream.next().await {
        saved.extend_from_slice(&chunk.unwrap());
    }
    std::fs::write(&tar, saved).unwrap();
    let mgr_container = local
        .inspect(ObjectKind::Container, &format!("{prefix}-mgr"))
        .await
        .unwrap()
        .unwrap();
    let address = mgr_container["NetworkSettings"]["Networks"][&prefix]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();

    let playbook = dir.join("swarm.yml");
    std::fs::write(&playbook, PLAYBOOK).unwrap();
    let mut extra = serde_json::Map::new();
    extra.insert("app_image".into(), json!(image("v1")));
    extra.insert("image_tar".into(), json!(tar.display().to_string()));
    extra.insert("manager_address".into(), json!(address));
    let options = PlaybookOptions {
        playbook,
        inventory: Some(inventory_path),
        extra_vars: extra,
        ..PlaybookOptions::default()
    };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let events = std::sync::Arc::new(move |e: &capstan_engine::playbook::PlaybookEvent| {
        sink.lock().unwrap().push(format!("{e:?}"));
    });
    let report = capstan.run_playbook(options.clone(), events).await.unwrap();
    let failures: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.contains("Failed"))
        .cloned()
        .collect();
    for recap in &report.recap {
        assert_eq!(
            recap.failed + recap.unreachable,
            0,
            "{:?}\n{failures:#?}",
            report.recap
        );
    }
    let mgr = node_engine("mgr").await.unwrap();
    // A node that has just joined is listed before its description and
    // state arrive (hostname "", state "unknown"): wait for them to settle.
    let mut roles: Vec<(String, String, String)> = Vec::new();
    for _ in 0..100 {
        roles = mgr
            .node_rows()
            .await
            .unwrap()
            .iter()
            .map(|n| (n.hostname.clone(), n.role.to_string(), n.state.to_string()))
            .collect();
        if roles
            .iter()
            .all(|(host, _, state)| !host.is_empty() && state != "unknown")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        roles,
        [
            ("mgr", "manager", "ready"),
            ("w1", "worker", "ready"),
            ("w2", "worker", "ready")
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    let spread = wait_for(
        "4 tasks over both workers",
        Duration::from_secs(90),
        || async {
            let now = tasks_by_node(&mgr, "app").await;
            (now.values().sum::<usize>() == 4 && now.len() == 2 && !now.contains_key("mgr"))
                .then_some(now)
        },
    )
    .await;
    println!("tasks by node: {spread:?}");

    // A second run changes nothing.
    let again = capstan
        .run_playbook(options, std::sync::Arc::new(|_| {}))
        .await
        .unwrap();
    assert!(
        again.recap.iter().all(|r| r.changed == 0 && r.failed == 0),
        "{:?}",
        again.recap
    );

    // Drain w1 (from the manager, as the stored inventory knows it): its
    // tasks move to w2.
    for host in capstan_engine::inventory::load_file(
        &dir.join("hosts.ini"),
        "root",
        None,
        &Default::default(),
    )
    .unwrap()
    {
        capstan.add_host(&host).unwrap();
    }
    let report = support::execute(
        &capstan,
        capstan_engine::jobs::RunRequest::new(
            "docker",
            "node",
            json!({ "hostname": "w1", "availability": "drain" }),
            ["mgr"],
        ),
    )
    .await;
    assert_eq!(
        support::only(&report).status,
        ResultStatus::Changed,
        "{report:?}"
    );
    wait_for("all tasks on w2", Duration::from_secs(90), || async {
        let now = tasks_by_node(&mgr, "app").await;
        (now.get("w2") == Some(&4) && now.len() == 1).then_some(())
    })
    .await;
    let rows: Vec<Value> = mgr
        .node_rows()
        .await
        .unwrap()
        .iter()
        .map(|n| json!([n.hostname, n.availability]))
        .collect();
    assert!(rows.contains(&json!(["w1", "drain"])), "{rows:?}");
}
