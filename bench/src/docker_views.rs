//! Docker view figures on this machine's engine:
//!
//! 1. 1,000 containers listed and summarised into render-ready rows
//!    (`Engine::container_rows`), end to end through the socket, against
//!    the engine's bare `/containers/json` answer and `docker ps -a`
//!    measured in the same run.
//! 2. The time from a Docker event (its `timeNano`) to the live view
//!    holding the new state, over 200 create/destroy events.
//!
//! Usage: `docker-views [COUNT]` (default 1000). It creates COUNT stopped
//! containers labelled `capstan-bench`, and removes them at the end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use capstan_engine::docker::{Engine, LiveEngine, ObjectKind};
use capstan_engine::target::Target;
use serde_json::json;

const LABEL: &str = "capstan-bench";

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let engine = Target::local()
        .docker()
        .await
        .expect("the local Docker engine");
    let image = ensure_image(&engine).await;
    cleanup(&engine).await;

    let started = Instant::now();
    create_many(&engine, &image, count).await;
    println!(
        "created {count} stopped containers in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    list_figures(&engine, count).await;
    event_figures(&engine, &image).await;
    cleanup(&engine).await;
}

/// A tiny image: `docker import` of an empty root file system, no registry.
async fn ensure_image(engine: &Engine) -> String {
    let name = "capstan-bench-empty:1".to_string();
    if engine
        .inspect(ObjectKind::Image, &name)
        .await
        .unwrap()
        .is_none()
    {
        let status = std::process::Command::new("sh")
            .args(["-c", "tar cf - --files-from /dev/null | docker import - capstan-bench-empty:1 >/dev/null"])
            .status()
            .expect("docker import");
        assert!(status.success(), "docker import failed");
    }
    name
}

async fn create_many(engine: &Engine, image: &str, count: usize) {
    let mut next = 0;
    while next < count {
        let batch: Vec<usize> = (next..count.min(next + 16)).collect();
        next += batch.len();
        let creates = batch.iter().map(|i| {
            let spec = json!({ "Image": image, "Cmd": ["/none"], "Labels": { LABEL: "1" } });
            let name = format!("capstan-bench-{i}");
            async move { engine.create(ObjectKind::Container, &name, spec).await }
        });
        for result in futures_util::future::join_all(creates).await {
            result.expect("create a container");
        }
    }
}

async fn cleanup(engine: &Engine) {
    let filters = HashMap::from([("label".to_string(), vec![LABEL.to_string()])]);
    let list = engine.list(ObjectKind::Container, filters).await.unwrap();
    let ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["Id"].as_str().map(String::from))
        .collect();
    for chunk in ids.chunks(16) {
        let removes = chunk
            .iter()
            .map(|id| engine.remove(ObjectKind::Container, id, true));
        for result in futures_util::future::join_all(removes).await {
            result.expect("remove a bench container");
        }
    }
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[at]
}

async fn list_figures(engine: &Engine, count: usize) {
    const RUNS: usize = 30;
    let mut rows_ms = Vec::new();
    let mut raw_ms = Vec::new();
    let mut cli_ms = Vec::new();
    let mut seen = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let raw = engine
            .list(ObjectKind::Container, HashMap::new())
            .await
            .unwrap();
        raw_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(raw.as_array().unwrap().len() >= count);

        let t = Instant::now();
        let rows = engine.container_rows().await.unwrap();
        rows_ms.push(t.elapsed().as_secs_f64() * 1e3);
        seen = rows.len();

        let t = Instant::now();
        let out = std::process::Command::new("docker")
            .args(["ps", "-a", "--no-trunc"])
            .output()
            .unwrap();
        cli_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(out.status.success());
    }
    let (rows50, rows95) = (
        percentile(&mut rows_ms, 0.5),
        percentile(&mut rows_ms, 0.95),
    );
    let raw50 = percentile(&mut raw_ms, 0.5);
    let cli50 = percentile(&mut cli_ms, 0.5);
    println!("\nlist and summarise {seen} containers ({RUNS} runs):");
    println!(
        "  capstan rows (socket + JSON + rows): p50 {rows50:.1} ms, p95 {rows95:.1} ms   (target < 100 ms)"
    );
    println!(
        "  baseline: the engine's /containers/json alone: p50 {raw50:.1} ms  → rows cost {:.2}× the bare answer",
        rows50 / raw50
    );
    println!(
        "  baseline: `docker ps -a` as a process: p50 {cli50:.1} ms  → capstan is {:.1}× faster",
        cli50 / rows50
    );
}

async fn event_figures(engine: &Engine, image: &str) {
    const EVENTS: usize = 200;
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let ready_tx = Mutex::new(Some(ready_tx));
    let record = latencies.clone();
    let follower = engine.clone();
    let watch = tokio::spawn(async move {
        LiveEngine::follow(follower, move |_, change| {
            if change.kind == "listed" {
                if let Some(tx) = ready_tx.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                return true;
            }
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as i64;
            let mut seen = record.lock().unwrap();
            seen.push((now - change.event_time_nanos) as f64 / 1e6);
            seen.len() < EVENTS
        })
        .await
    });
    ready_rx.await.expect("the live view listed");
    for i in 0..EVENTS / 2 {
        let name = format!("capstan-bench-event-{i}");
        let spec = json!({ "Image": image, "Cmd": ["/none"], "Labels": { LABEL: "1" } });
        engine
            .create(ObjectKind::Container, &name, spec)
            .await
            .unwrap();
        engine
            .remove(ObjectKind::Container, &name, true)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::timeout(Duration::from_secs(60), watch)
        .await
        .expect("all events seen")
        .unwrap()
        .unwrap();
    let mut samples = latencies.lock().unwrap().clone();
    let n = samples.len();
    let (p50, p95, max) = (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.95),
        percentile(&mut samples, 1.0),
    );
    println!(
        "\nevent → live view ({n} create/destroy events, with 1,000 other containers on the engine):"
    );
    println!("  p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms   (target p95 < 50 ms)");
}
