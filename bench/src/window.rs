//! `bench/window.sh`: the desktop window's figures, each beside an empty
//! Tauri window measured in the same run, on one Xvfb display:
//!
//! 1. start to first interactive paint (the Overview painted with its
//!    data; the empty window's first painted frame);
//! 2. memory of the whole app, its process and WebKit's, summed as PSS,
//!    idle with 100 hosts and 1,000 jobs in the store;
//! 3. a live job log of 10,000 lines: how long lines take from arriving
//!    in the webview to the frame that shows them, and the gaps between
//!    frames while they stream, against the gaps when idle.
//!
//! Usage: `window CAPSTAN_APP EMPTY_WINDOW [RUNS]`.

#[allow(dead_code)]
#[path = "../../src-tauri/tests/window/driver.rs"]
mod driver;
#[path = "../../src-tauri/tests/window/engine.rs"]
mod engine;
#[allow(dead_code)]
#[path = "../../engine/tests/all/fleet.rs"]
mod fleet;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_engine::inventory::{Host, HostAuth};
use capstan_engine::jobs::RunRequest;
use serde_json::{Value, json};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: window CAPSTAN_APP EMPTY_WINDOW [RUNS]");
        std::process::exit(2);
    }
    let app = PathBuf::from(&args[1]);
    let empty = PathBuf::from(&args[2]);
    let runs: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(5);

    let seeded = tempfile::tempdir().unwrap();
    let started = Instant::now();
    seed(seeded.path(), 100, 1_000);
    println!(
        "store: 100 hosts and 1,000 jobs, seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let blank = tempfile::tempdir().unwrap();
    let display = Display::start();

    println!("\n1. start to first interactive paint ({runs} runs each, alternating)");
    println!("2. memory, PSS of the app and its WebKit processes, 5 s after that paint");
    let mut capstan_runs = Vec::new();
    let mut empty_runs = Vec::new();
    for _ in 0..runs {
        capstan_runs.push(start_once(
            &app,
            seeded.path(),
            &display.name,
            "interactive",
        ));
        empty_runs.push(start_once(
            &empty,
            blank.path(),
            &display.name,
            "interactive",
        ));
    }
    let breakdown = |runs: &[Started]| {
        runs.last()
            .map(|r| r.by_process.clone())
            .unwrap_or_default()
    };
    let (capstan_parts, empty_parts) = (breakdown(&capstan_runs), breakdown(&empty_runs));
    let capstan_report = capstan_runs
        .last()
        .map(|r| r.report.clone())
        .unwrap_or_default();
    let (capstan_ms, capstan_mib): (Vec<f64>, Vec<f64>) =
        capstan_runs.into_iter().map(|r| (r.ms, r.mib)).unzip();
    let (empty_ms, empty_mib): (Vec<f64>, Vec<f64>) =
        empty_runs.into_iter().map(|r| (r.ms, r.mib)).unzip();
    println!(
        "   start   Capstan (100 hosts, 1,000 jobs): median {:>6.0} ms (min {:.0}, max {:.0})",
        median(&capstan_ms),
        min(&capstan_ms),
        max(&capstan_ms)
    );
    println!(
        "           empty Tauri window:              median {:>6.0} ms (min {:.0}, max {:.0})",
        median(&empty_ms),
        min(&empty_ms),
        max(&empty_ms)
    );
    println!(
        "           ratio {:.2}x  (goal: at most 1.30x)",
        median(&capstan_ms) / median(&empty_ms)
    );
    println!("           Capstan's own account (last run): {capstan_report}");
    println!(
        "   memory  Capstan: median {:>6.1} MiB PSS   empty window: median {:.1} MiB   ratio {:.2}x  (goal: at most 1.10x)",
        median(&capstan_mib),
        median(&empty_mib),
        median(&capstan_mib) / median(&empty_mib)
    );
    println!(
        "           by process (last run): Capstan {capstan_parts}; empty window {empty_parts}"
    );

    println!("\n3. a live job log of 10,000 lines");
    log_stream(&app);
}

/// Fills a store through the engine: `hosts` hosts over the three
/// environments and `jobs` finished jobs, one in ten failed.
fn seed(home: &Path, hosts: usize, jobs: usize) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let capstan = engine::open(home);
        for n in 0..hosts {
            capstan
                .add_host(&Host {
                    name: format!("host-{n:03}"),
                    address: "127.0.0.1".into(),
                    port: 22,
                    user: "deploy".into(),
                    auth: HostAuth::Agent,
                    environment: Some(["dev", "preprod", "prod"][n % 3].into()),
                    groups: vec![format!("group-{}", n % 7)],
                    vars: Default::default(),
                })
                .unwrap();
        }
        for n in 0..jobs {
            let request = if n % 10 == 9 {
                RunRequest::new("command", "exec", json!({ "argv": ["false"] }), ["local"])
            } else {
                RunRequest::new(
                    "debug",
                    "msg",
                    json!({ "msg": format!("job {n}") }),
                    ["local"],
                )
            };
            capstan.run(request, Arc::new(|_| {})).await.unwrap();
        }
    });
}

/// An Xvfb display for the run.
struct Display {
    child: Child,
    name: String,
}

impl Display {
    fn start() -> Display {
        let n = 150 + std::process::id() % 40;
        let name = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([&name, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (./dev setup installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            assert!(Instant::now() < deadline, "Xvfb {name} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Display { child, name }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One start of an app: how long to its first interactive paint, and its
/// memory 5 s later.
struct Started {
    ms: f64,
    /// The line the app printed when it was ready.
    report: String,
    mib: f64,
    /// `name MiB` per process of the tree.
    by_process: String,
}

/// Starts `binary`, waits for the line saying it is interactive, then 5 s
/// of idling, and measures the PSS of its process tree.
fn start_once(binary: &Path, home: &Path, display: &str, word: &str) -> Started {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env("DISPLAY", display)
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("CAPSTAN_HOME", home)
        .env("CAPSTAN_STARTUP_REPORT", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), line));
        }
    });
    let (ready, report) = loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok((at, line)) if line.contains(word) => break (at, line),
            Ok(_) => {}
            Err(_) => panic!("{} never said it was {word}", binary.display()),
        }
    };
    let ms = ready.duration_since(started).as_secs_f64() * 1000.0;
    std::thread::sleep(Duration::from_secs(5));
    let tree = process_tree(child.id());
    let parts: Vec<(String, u64)> = tree
        .iter()
        .map(|pid| {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            (name.trim().to_string(), pss_kib(*pid))
        })
        .collect();
    let pss_kib: u64 = parts.iter().map(|(_, kib)| kib).sum();
    for pid in tree.iter().rev() {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(300));
    Started {
        ms,
        report,
        mib: pss_kib as f64 / 1024.0,
        by_process: parts
            .iter()
            .map(|(name, kib)| format!("{name} {:.1}", *kib as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `root` and every process below it.
fn process_tree(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The parent's pid is the second field after the `(name)`.
        if let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok())
        {
            parents.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    tree
}

fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Pss:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// Runs the probe plugin's `log-lines` action for 10,000 lines from the
/// Run page and reads what the job page measured.
fn log_stream(app: &Path) {
    let home = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let capstan = engine::open(home.path());
        let inspected = capstan
            .inspect_file(Path::new(capstan_test_fixtures::PROBE))
            .await
            .unwrap();
        let grants = capstan_engine::capability::GrantSet::new(inspected.requested.iter().copied());
        capstan.install(&inspected, grants).unwrap();
    });
    let window = driver::Window::launch(driver::Launch {
        app,
        home: home.path(),
        shots: std::env::temp_dir().join("capstan-bench-shots"),
        name: "bench",
        env: Vec::new(),
    });
    window.text("h1");
    window.click("#nav-run");
    window.select("#run-plugin", "probe");
    window.select("#run-action", "log-lines");
    window.type_into("#param-json", r#"{"count": 10000}"#);
    // Frames while idle, as the baseline.
    let idle = frame_gaps(&window, 2_000);
    window.script(FRAME_RECORDER, json!([]));
    let started = Instant::now();
    window.click("#run-submit");
    window.wait_text("#job-state", |s| s == "finished");
    window.wait_text(".output h2", |t| t.contains("10001 lines"));
    let elapsed = started.elapsed();
    let streaming = gaps(&window.script("return window.__capstanFrames;", json!([])));
    let appends = window.script("return window.__capstanLogAppends || [];", json!([]));
    let (mut lines, mut latencies) = (0.0, Vec::new());
    for pair in appends.as_array().into_iter().flatten() {
        lines += pair[0].as_f64().unwrap_or(0.0);
        latencies.push(pair[1].as_f64().unwrap_or(0.0));
    }
    let at_end = window.script(
        "const l = document.querySelector('.log'); return l.scrollTop + l.clientHeight >= l.scrollHeight - 30;",
        json!([]),
    );
    println!(
        "   {lines:.0} lines in {} batches, run and shown in {:.2} s",
        latencies.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "   append → painted frame: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        max(&latencies)
    );
    println!(
        "   frame gaps while streaming: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} frames)",
        percentile(&streaming, 50.0),
        percentile(&streaming, 95.0),
        max(&streaming),
        streaming.len()
    );
    println!(
        "   frame gaps when idle:       p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms  (p95 ratio {:.2}x)",
        percentile(&idle, 50.0),
        percentile(&idle, 95.0),
        max(&idle),
        percentile(&streaming, 95.0) / percentile(&idle, 95.0)
    );
    println!("   the log followed its end: {at_end}");
    assert_eq!(
        lines as usize, 10_000,
        "every line came through the job's events"
    );
    assert_eq!(at_end, json!(true), "the log kept to its end");
}

/// Records the time of every animation frame in `window.__capstanFrames`.
const FRAME_RECORDER: &str = "window.__capstanFrames = []; \
    const tick = (t) => { window.__capstanFrames.push(t); if (window.__capstanFrames.length < 100000) requestAnimationFrame(tick); }; \
    requestAnimationFrame(tick);";

/// Gaps between frames over `ms` milliseconds of doing nothing.
fn frame_gaps(window: &driver::Window, ms: u64) -> Vec<f64> {
    window.script(FRAME_RECORDER, json!([]));
    std::thread::sleep(Duration::from_millis(ms));
    gaps(&window.script("return window.__capstanFrames;", json!([])))
}

fn gaps(times: &Value) -> Vec<f64> {
    let times: Vec<f64> = times
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let v = sorted(values);
    if v.is_empty() {
        return f64::NAN;
    }
    v[((p / 100.0) * (v.len() - 1) as f64).round() as usize]
}

fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

fn min(values: &[f64]) -> f64 {
    sorted(values).first().copied().unwrap_or(f64::NAN)
}

fn max(values: &[f64]) -> f64 {
    sorted(values).last().copied().unwrap_or(f64::NAN)
}
