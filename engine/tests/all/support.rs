//! Shared set-up: a throwaway home, an engine on it, the test plugins.

use std::sync::{Arc, Mutex};

use capstan_engine::capability::{Capability, GrantSet};
use capstan_engine::jobs::{EventSink, JobEvent, RunReport, RunRequest, TargetResult};
use capstan_engine::plugin::LimitOverrides;
use capstan_engine::{BundledPlugin, Capstan, Home};

/// An engine on a fresh temporary home (kept alive by the returned dir).
pub fn engine() -> (tempfile::TempDir, Capstan) {
    let dir = tempfile::tempdir().unwrap();
    let capstan = open(&dir);
    (dir, capstan)
}

/// Opens (or reopens) an engine on `dir`, with the bundled plugins.
pub fn open(dir: &tempfile::TempDir) -> Capstan {
    let bundled = capstan_bundled::PLUGINS.iter().map(|p| BundledPlugin {
        name: p.name,
        wasm: p.wasm,
    });
    Capstan::open(Home::at(dir.path()).unwrap())
        .unwrap()
        .with_bundled(bundled)
}

/// Installs the probe test plugin with exactly `grants`.
pub async fn install_probe(capstan: &Capstan, grants: &[Capability]) {
    let inspected = capstan
        .inspect_file(capstan_test_fixtures::PROBE.as_ref())
        .await
        .unwrap();
    capstan
        .install(&inspected, GrantSet::new(grants.iter().copied()), false)
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
        .run(
            RunRequest {
                plugin: plugin.into(),
                action: action.into(),
                params,
                targets: vec!["local".into()],
                check: false,
                diff: false,
                trust_new_hosts: false,
                become_user: None,
                become_password_env: None,
            },
            events,
        )
        .await
        .unwrap();
    let events = seen.lock().unwrap().clone();
    (report, events)
}

/// The single result of a one-target report.
pub fn only(report: &RunReport) -> &TargetResult {
    assert_eq!(report.results.len(), 1, "{report:?}");
    &report.results[0]
}
