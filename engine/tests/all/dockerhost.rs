//! Shared set-up for the tests against this machine's Docker engine: the
//! test web app's images (built through the docker plugin, no registry),
//! polling, and an HTTP client that counts failures while it runs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capstan_engine::Capstan;
use capstan_engine::docker::Engine;
use capstan_engine::jobs::{ResultStatus, RunRequest, TargetResult};
use capstan_engine::target::Target;
use serde_json::{Value, json};

use crate::support;

pub use capstan_test_fixtures::webapp_image as image;

/// Builds the web app's images v1, v2 and the broken v3 on the local
/// engine with the docker plugin's `image` action (a no-op when present).
pub async fn build_images(capstan: &Capstan) {
    let context =
        capstan_test_fixtures::webapp_context(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    for version in ["v1", "v2", "v3"] {
        let args: serde_json::Map<String, Value> =
            capstan_test_fixtures::webapp_build_args(version)
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
        let result = docker(
            capstan,
            "image",
            json!({ "name": image(version), "build": { "path": context.display().to_string(), "args": args } }),
        )
        .await;
        assert_ne!(result.status, ResultStatus::Failed, "{result:?}");
    }
}

/// Runs one docker plugin action on `local`.
pub async fn docker(capstan: &Capstan, action: &str, params: Value) -> TargetResult {
    let report = support::execute(
        capstan,
        RunRequest::new("docker", action, params, ["local"]),
    )
    .await;
    support::only(&report).clone()
}

/// Runs an action twice: the first run changes something, the second
/// finds nothing to do.
pub async fn converges(capstan: &Capstan, action: &str, params: Value) {
    let first = docker(capstan, action, params.clone()).await;
    assert_eq!(
        first.status,
        ResultStatus::Changed,
        "{action} {params}: {first:?}"
    );
    let second = docker(capstan, action, params.clone()).await;
    assert_eq!(
        second.status,
        ResultStatus::Ok,
        "{action} {params}, again: {second:?}"
    );
}

/// The local engine, straight (for checking what the plugin did).
pub async fn local_engine() -> Engine {
    Target::local()
        .docker()
        .await
        .expect("the local Docker engine")
}

/// Polls `check` every 250 ms until it returns `Some`, or panics naming
/// `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub use crate::fleet::free_port;

/// One `GET /` to `127.0.0.1:port`: the body when it answered 200.
pub fn get(port: u16) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

/// Sends `GET /` back to back from a thread until stopped.
pub struct Client {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Tally>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What a client saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Requests answered 200.
    pub ok: u64,
    /// Requests refused, cut or answered otherwise.
    pub failed: u64,
    /// Versions that answered (first word of the body), in order of appearance.
    pub versions: Vec<String>,
}

impl Client {
    /// Starts hammering `127.0.0.1:port`.
    pub fn start(port: u16) -> Client {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Tally::default()));
        let (stop2, seen2) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let answer = get(port);
                let mut tally = seen2.lock().unwrap();
                match answer {
                    Some(body) => {
                        tally.ok += 1;
                        let version = body.split_whitespace().next().unwrap_or("").to_string();
                        if !tally.versions.contains(&version) {
                            tally.versions.push(version);
                        }
                    }
                    None => tally.failed += 1,
                }
            }
        });
        Client {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// Stops and returns the tally.
    pub fn finish(mut self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        self.seen.lock().unwrap().clone()
    }
}
