//! The Containers page on this machine's real Docker engine: a container
//! appears running, is stopped from the window (a docker plugin job) and
//! the list follows the engine's events; its output is followed; it is
//! removed. The Swarm page says when the engine is no swarm manager.
//! (`.config/nextest.toml` keeps the engine's swarm test from running
//! beside the window's tests.)

use std::sync::Arc;

use capstan_engine::jobs::{ResultStatus, RunRequest};
use serde_json::{Value, json};

/// Removes the test's container whatever happens.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &self.0])
            .output();
    }
}

/// Runs docker plugin actions on `local` through the engine, in order;
/// each must not fail. Returns their results' data.
pub fn docker(home: &std::path::Path, steps: Vec<(&str, Value)>) -> Vec<Option<Value>> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let capstan = crate::engine(home);
        let mut data = Vec::new();
        for (action, params) in steps {
            let report = capstan
                .run(
                    RunRequest::new("docker", action, params, ["local"]),
                    Arc::new(|_| {}),
                )
                .await
                .unwrap();
            let result = &report.results[0];
            assert_ne!(result.status, ResultStatus::Failed, "{action}: {result:?}");
            data.push(result.data.clone());
        }
        data
    })
}

/// The step that builds the test web app's v1 image (a no-op when it is
/// there), and the image's name.
pub fn webapp_image() -> ((&'static str, Value), String) {
    let context =
        capstan_test_fixtures::webapp_context(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    let args: serde_json::Map<String, Value> = capstan_test_fixtures::webapp_build_args("v1")
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let image = capstan_test_fixtures::webapp_image("v1");
    let step = (
        "image",
        json!({ "name": image, "build": { "path": context.display().to_string(), "args": args } }),
    );
    (step, image)
}

#[test]
fn a_container_is_listed_live_stopped_followed_and_removed_from_the_window() {
    let home = tempfile::tempdir().unwrap();
    let name = format!("capstan-window-{}", std::process::id());
    let _cleanup = Container(name.clone());
    let (build, image) = webapp_image();
    docker(
        home.path(),
        vec![
            build,
            ("container", json!({ "name": name, "image": image })),
        ],
    );

    let mut window = crate::open(home.path(), "containers");
    window.click("#nav-containers");
    let row = format!("[data-container='{name}']");
    window.wait_text(&row, |t| t.contains("running"));
    window.screenshot("running");

    // Output, followed. The list re-renders on every engine event (other
    // tests' containers come and go), so a click can land on a row being
    // replaced: it is made again until the panel opens.
    let logs_button = format!("{row} button:nth-of-type(3)");
    let panel_open = || {
        window.script(
            "return document.querySelector('.log-panel') !== null;",
            json!([]),
        ) == json!(true)
    };
    for _ in 0..5 {
        window.click(&logs_button);
        if (0..20).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            panel_open()
        }) {
            break;
        }
    }
    window.wait_text(".container-log", |t| t.contains("serving v1"));

    // Stop: a docker plugin job, and the row follows the engine's events.
    window.click(&format!("{row} button.stop"));
    window.wait_text(&row, |t| t.contains("exited"));
    let action = window.wait_text(".recent-actions", |t| t.contains("changed"));
    assert!(action.contains(&format!("stop {name}")), "{action}");
    window.wait_text(".log-panel .panel-head", |t| t.contains("stopped"));
    window.screenshot("stopped");

    window.click(&format!("{row} button.danger"));
    window.click(".confirm-remove");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while window.exists(&row) {
        assert!(
            std::time::Instant::now() < deadline,
            "{name} is still listed"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    window.screenshot("removed");

    // Outside a swarm, the Swarm page says so and how to start one.
    window.click("#nav-swarm");
    window.wait_text("main .empty", |t| t.contains("not a swarm manager"));
}
