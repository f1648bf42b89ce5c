//! The Swarm page on this machine's engine made a swarm manager for the
//! test: a service's replicas, scaled from the page (a docker plugin job)
//! and followed live from the engine's events, its tasks, the node. The
//! swarm is left at the end; its node carries the label the engine's swarm
//! test knows, so either test may clean up after the other.

use std::time::Duration;

use serde_json::json;

use crate::containers::{docker, webapp_image};

/// The node label the engine's swarm test also uses for swarms it may
/// tear down.
const TEST_LABEL: &str = "capstan-test-swarm";

/// How long the page may take to show replicas the engine starts.
const REPLICAS_PATIENCE: Duration = Duration::from_secs(120);

/// Leaves the swarm whatever happens.
struct Swarm;

impl Drop for Swarm {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["swarm", "leave", "--force"])
            .output();
    }
}

fn swarm_state() -> String {
    let out = std::process::Command::new("docker")
        .args(["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .output()
        .expect("docker");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_service_is_scaled_from_the_swarm_page_and_its_replicas_follow_live() {
    assert_ne!(
        swarm_state(),
        "active",
        "this machine's Docker engine is in a swarm already: the test needs one outside any swarm"
    );
    let home = tempfile::tempdir().unwrap();
    let _leave = Swarm;
    let service = format!("capstan-window-web-{}", std::process::id());
    let (build, image) = webapp_image();
    docker(
        home.path(),
        vec![
            build,
            (
                "swarm",
                json!({ "state": "present", "advertise_addr": "127.0.0.1" }),
            ),
        ],
    );
    let node = std::process::Command::new("docker")
        .args(["info", "--format", "{{.Swarm.NodeID}}"])
        .output()
        .unwrap();
    let node = String::from_utf8_lossy(&node.stdout).trim().to_string();
    docker(
        home.path(),
        vec![
            (
                "node",
                json!({ "hostname": node, "labels": { TEST_LABEL: "1" } }),
            ),
            (
                "service",
                json!({ "name": service, "image": image, "replicas": 1, "endpoint_mode": "dnsrr" }),
            ),
        ],
    );

    let mut window = crate::open(home.path(), "swarm");
    window.click("#nav-swarm");
    let row = format!("tr[data-service='{service}']");
    // Replicas start at the engine's pace: on two busy cores (the other
    // container tests beside this one) the first took over 30 s once.
    window.wait_text_within(&row, REPLICAS_PATIENCE, |t| t.contains("1 / 1"));
    window.wait_text(".nodes-table", |t| {
        t.contains("manager") && t.contains("ready")
    });

    window.type_into(&format!("{row} input[type=number]"), "3");
    window.click(&format!("{row} form.scale button"));
    window.wait_text(".recent-actions", |t| {
        t.contains(&format!("scale {service} to 3")) && t.contains("changed")
    });
    window.wait_text_within(&row, REPLICAS_PATIENCE, |t| t.contains("3 / 3"));
    window.click(&format!("{row} button.linklike"));
    let tasks = window.wait_text_within("table.tasks", REPLICAS_PATIENCE, |t| {
        t.matches("running").count() >= 6
    });
    assert!(tasks.contains("Slot"), "{tasks}");
    window.screenshot("scaled");

    // A replica count out of range is named at the field and starts nothing.
    window.type_into(&format!("{row} input[type=number]"), "5000");
    window.click(&format!("{row} form.scale button"));
    window.wait_text(&format!("{row} .field-error"), |t| t.contains("0 to 1000"));
    let actions = window.text(".recent-actions");
    assert!(!actions.contains("to 5000"), "{actions}");
    window.wait_text(&row, |t| t.contains("3 / 3"));
}
