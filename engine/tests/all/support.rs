//! Shared set-up: a throwaway home, an engine on it, the test plugins.

use std::sync::{Arc, Mutex};

use capstan_engine::capability::{Capability, GrantSet};
use capstan_engine::jobs::{EventSink, JobEvent, RunReport, RunRequest, TargetResult};
use capstan_engine::playbook::{PlaybookEvent, PlaybookOptions, PlaybookReport};
use capstan_engine::plugin::LimitOverrides;
use capstan_engine::remote::{FileKind, RemoteError, Transport};
use capstan_engine::{BundledPlugin, Capstan, Home};

/// An engine on a fresh temporary home (kept alive by the returned dir).
pub fn engine() -> (tempfile::TempDir, Capstan) {
    let dir = tempfile::tempdir().unwrap();
    let capstan = open(&dir);
    (dir, capstan)
}

/// Opens (or reopens) an engine on `dir`, with the bundled plugins.
pub fn open(dir: &tempfile::TempDir) -> Capstan {
    open_home(Home::at(dir.path()).unwrap())
}

/// Opens an engine on `home`, with the bundled plugins.
pub fn open_home(home: Home) -> Capstan {
    let bundled = capstan_bundled::PLUGINS.iter().map(|p| BundledPlugin {
        name: p.name,
        sha256: p.sha256,
        wasm: p.wasm,
    });
    Capstan::open(home).unwrap().with_bundled(bundled)
}

/// Installs the probe test plugin with exactly `grants`.
pub async fn install_probe(capstan: &Capstan, grants: &[Capability]) {
    let inspected = capstan
        .inspect_file(capstan_test_fixtures::PROBE.as_ref())
        .await
        .unwrap();
    capstan
        .install(&inspected, GrantSet::new(grants.iter().copied()))
        .unwrap();
}

/// Sets the probe's limits.
pub async fn limit_probe(capstan: &Capstan, limits: LimitOverrides) {
    capstan.set_limits("probe", limits).await.unwrap();
}

/// Runs `plugin action` on `local` and returns the report and the events seen.
pub async fn run(
    capstan: &Capstan,
    plugin: &str,
    action: &str,
    params: serde_json::Value,
) -> (RunReport, Vec<JobEvent>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let events: EventSink = Arc::new(move |e: &JobEvent| sink.lock().unwrap().push(e.clone()));
    let report = capstan
        .run(RunRequest::new(plugin, action, params, ["local"]), events)
        .await
        .unwrap();
    let events = seen.lock().unwrap().clone();
    (report, events)
}

/// Runs a request, ignoring its events.
pub async fn execute(capstan: &Capstan, request: RunRequest) -> RunReport {
    capstan
        .run(request, Arc::new(|_: &JobEvent| {}))
        .await
        .unwrap()
}

/// Runs `playbook` on `inventory`, trusting new host keys, with `tweak`
/// applied to the options; returns the report and the events seen.
pub async fn play(
    capstan: &Capstan,
    playbook: &std::path::Path,
    inventory: &std::path::Path,
    tweak: impl FnOnce(&mut PlaybookOptions),
) -> (PlaybookReport, Vec<PlaybookEvent>) {
    let mut options = PlaybookOptions {
        playbook: playbook.to_path_buf(),
        inventory: Some(inventory.to_path_buf()),
        trust_new_hosts: true,
        ..Default::default()
    };
    tweak(&mut options);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let report = capstan
        .run_playbook(
            options,
            Arc::new(move |e: &PlaybookEvent| sink.lock().unwrap().push(e.clone())),
        )
        .await
        .unwrap();
    let events = seen.lock().unwrap().clone();
    (report, events)
}

/// The inventory's host names, in the order `hosts()` lists them.
pub fn host_names(capstan: &Capstan) -> Vec<String> {
    capstan
        .hosts()
        .unwrap()
        .into_iter()
        .map(|h| h.name)
        .collect()
}

/// Fails naming the first file under `folder` whose bytes hold `needle`
/// (`what` says what it is, for the message).
pub fn assert_no_file_holds(folder: &std::path::Path, needle: &str, what: &str) {
    let mut folders = vec![folder.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{} holds the {what}",
                    path.display()
                );
            }
        }
    }
}

/// The single result of a one-target report.
pub fn only(report: &RunReport) -> &TargetResult {
    assert_eq!(report.results.len(), 1, "{report:?}");
    &report.results[0]
}

/// Writes, describes, rewrites and reads `path` through `transport`: a new
/// file gets the given mode, a rewrite keeps it, reads are capped.
pub async fn files_round_trip(transport: &Transport, path: &str) {
    assert_eq!(transport.stat(path).await.unwrap(), None);
    transport
        .write_file(path, b"one\n", Some(0o640))
        .await
        .unwrap();
    let info = transport.stat(path).await.unwrap().unwrap();
    assert_eq!(
        (info.kind, info.size, info.mode),
        (FileKind::File, 4, 0o640)
    );
    transport.write_file(path, b"two\n", None).await.unwrap();
    assert_eq!(
        transport.stat(path).await.unwrap().unwrap().mode,
        0o640,
        "mode kept on rewrite"
    );
    assert_eq!(transport.read_file(path, 1024).await.unwrap(), b"two\n");
    assert!(matches!(
        transport.read_file(path, 2).await,
        Err(RemoteError::TooLarge(_))
    ));
}

/// Every failure a run reported that was not ignored, as `task: summary`
/// (for an assertion's message).
pub fn unignored_failures(events: &[PlaybookEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            PlaybookEvent::HostDone(o) if o.status.name() == "failed" && !o.ignored => {
                Some(format!("{}: {}", o.task, o.summary))
            }
            _ => None,
        })
        .collect()
}
