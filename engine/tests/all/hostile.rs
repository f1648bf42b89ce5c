//! Hostile plugins are stopped with a clear error, and the host keeps
//! serving the next run.

use capstan_engine::capability::Capability;
use capstan_engine::jobs::{FailureKind, JobEvent, ResultStatus};
use capstan_engine::plugin::{LimitOverrides, ManifestRules};
use serde_json::json;

use crate::support::{engine, install_probe, limit_probe, only, run};

/// Runs a hostile action, checks how it failed, then checks a
/// well-behaved action still works on the same engine.
async fn stopped(action: &str, limits: LimitOverrides, kind: FailureKind, says: &str) {
    let (_dir, capstan) = engine();
    install_probe(
        &capstan,
        &[Capability::Kv, Capability::RemoteExec, Capability::Local],
    )
    .await;
    limit_probe(&capstan, limits).await;

    let (report, _) = run(&capstan, "probe", action, json!({})).await;
    let result = only(&report);
    assert_eq!(result.status, ResultStatus::Failed, "{result:?}");
    assert_eq!(result.failure, Some(kind), "{result:?}");
    assert!(
        result.summary.contains(says),
        "`{}` should say `{says}`",
        result.summary
    );

    let (report, _) = run(&capstan, "probe", "echo", json!({ "still": "alive" })).await;
    let result = only(&report);
    assert_eq!(
        result.status,
        ResultStatus::Ok,
        "the host must keep serving: {result:?}"
    );
    assert_eq!(result.data, Some(json!({ "still": "alive" })));
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_by_the_cpu_limit() {
    let limits = LimitOverrides {
        cpu_ms: Some(300),
        ..Default::default()
    };
    stopped("loop", limits, FailureKind::Limit, "CPU time limit").await;
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_by_the_wall_limit_too() {
    let limits = LimitOverrides {
        wall_ms: Some(300),
        ..Default::default()
    };
    stopped("loop", limits, FailureKind::Limit, "wall time limit").await;
}

#[tokio::test]
async fn unbounded_allocation_is_stopped_by_the_memory_limit() {
    let limits = LimitOverrides {
        memory_bytes: Some(16 << 20),
        ..Default::default()
    };
    stopped("alloc", limits, FailureKind::Limit, "memory limit reached").await;
}

#[tokio::test]
async fn deep_recursion_is_a_stack_overflow() {
    stopped(
        "recurse",
        LimitOverrides::default(),
        FailureKind::Crashed,
        "stack overflow",
    )
    .await;
}

#[tokio::test]
async fn a_panic_is_reported_with_its_message() {
    stopped(
        "panic",
        LimitOverrides::default(),
        FailureKind::Crashed,
        "probe panicked on purpose",
    )
    .await;
}

#[tokio::test]
async fn a_flood_of_log_lines_is_stopped_by_the_log_limit() {
    let limits = LimitOverrides {
        log_bytes: Some(64 << 10),
        ..Default::default()
    };
    stopped("log-flood", limits, FailureKind::Limit, "log size limit").await;
}

#[tokio::test]
async fn a_flood_of_stdout_is_stopped() {
    let limits = LimitOverrides {
        log_bytes: Some(64 << 10),
        ..Default::default()
    };
    // The capped pipe refuses the write, Rust's println! panics on it.
    stopped("stdout-flood", limits, FailureKind::Crashed, "panicked").await;
}

#[tokio::test]
async fn an_oversized_outcome_is_refused() {
    let limits = LimitOverrides {
        output_bytes: Some(1 << 20),
        ..Default::default()
    };
    stopped(
        "huge-outcome",
        limits,
        FailureKind::Limit,
        "output size limit",
    )
    .await;
}

#[tokio::test]
async fn an_ungranted_capability_is_denied_by_name() {
    let (_dir, capstan) = engine();
    install_probe(&capstan, &[]).await;
    let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
    let result = only(&report);
    assert_eq!(result.failure, Some(FailureKind::Denied), "{result:?}");
    assert!(result.summary.contains("`kv`"), "{}", result.summary);

    let (report, _) = run(&capstan, "probe", "exec", json!({ "argv": ["true"] })).await;
    let result = only(&report);
    assert_eq!(result.failure, Some(FailureKind::Denied), "{result:?}");
    assert!(
        result.summary.contains("`remote.exec`"),
        "{}",
        result.summary
    );
}

#[tokio::test]
async fn a_plugin_cannot_reach_a_host_outside_its_run() {
    let (_dir, capstan) = engine();
    install_probe(&capstan, &[Capability::RemoteExec, Capability::Local]).await;
    let (report, _) = run(&capstan, "probe", "exec-elsewhere", json!({})).await;
    let result = only(&report);
    assert_eq!(result.status, ResultStatus::Failed);
    assert!(
        result
            .summary
            .contains("target `db-prod-1` is not part of this run"),
        "{}",
        result.summary
    );
}

#[tokio::test]
async fn log_lines_written_before_a_crash_are_kept() {
    let (_dir, capstan) = engine();
    install_probe(&capstan, &[]).await;
    limit_probe(
        &capstan,
        LimitOverrides {
            log_bytes: Some(8 << 10),
            ..Default::default()
        },
    )
    .await;
    let (report, events) = run(&capstan, "probe", "log-flood", json!({})).await;
    let streamed = events
        .iter()
        .filter(|e| matches!(e, JobEvent::Log(_)))
        .count();
    let stored = capstan.job_logs(report.job_id).unwrap().len();
    assert!(streamed > 50, "lines streamed live: {streamed}");
    assert_eq!(stored, streamed, "every streamed line is stored");
}

#[tokio::test]
async fn wasi_opens_nothing_a_plugin_could_use_behind_the_host() {
    let (_dir, capstan) = engine();
    install_probe(
        &capstan,
        &[Capability::Kv, Capability::RemoteExec, Capability::Local],
    )
    .await;
    let (report, _) = run(&capstan, "probe", "ambient", json!({})).await;
    let data = only(&report).data.clone().unwrap();
    assert_eq!(
        data,
        json!({
            "read_file": false,
            "list_root": false,
            "env_vars": 0,
            "args": 0,
            "clock_secs": 0,
            "tcp_connect": false,
        }),
        "no files, environment, arguments, real clock or sockets"
    );
}

#[tokio::test]
async fn plugin_text_reaches_no_one_with_escape_sequences() {
    let (_dir, capstan) = engine();
    let inspected = capstan
        .inspect_file(capstan_test_fixtures::PROBE.as_ref())
        .await
        .unwrap();
    let action = inspected.manifest.action("escapes").unwrap();
    assert_eq!(
        action.summary,
        "Say things with terminal escape sequences.[2K[1A grants: none"
    );
    install_probe(
        &capstan,
        &[Capability::Kv, Capability::RemoteExec, Capability::Local],
    )
    .await;
    let (report, events) = run(&capstan, "probe", "escapes", json!({})).await;
    assert_eq!(only(&report).summary, "[2K[1Aall good");
    let logs: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            JobEvent::Log(line) => Some(line.message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(logs, ["]0;ownedtitle and [31mred[0m"]);
    let stored = capstan.job_logs(report.job_id).unwrap();
    assert!(stored.iter().all(|l| !l.message.contains('\u{1b}')));
}

#[tokio::test(flavor = "multi_thread")]
async fn more_targets_than_instance_slots_wait_for_a_slot_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let capstan = capstan_engine::Capstan::open_with(
        capstan_engine::Home::at(dir.path()).unwrap(),
        capstan_engine::plugin::HostConfig {
            allocation: capstan_engine::plugin::Allocation::Pooling { max_instances: 2 },
            start: capstan_engine::plugin::HostStart::OnFirstUse,
        },
    )
    .unwrap();
    install_probe(&capstan, &[Capability::RemoteExec, Capability::Local]).await;
    let names: Vec<String> = (1..=6).map(|i| format!("here-{i}")).collect();
    for name in &names {
        capstan
            .add_host(&capstan_engine::inventory::Host {
                name: name.clone(),
                address: "127.0.0.1".into(),
                port: 22,
                user: "root".into(),
                auth: capstan_engine::inventory::HostAuth::Agent,
                environment: None,
                groups: vec![],
                vars: [("ansible_connection".to_string(), json!("local"))]
                    .into_iter()
                    .collect(),
            })
            .unwrap();
    }
    // Six targets at once, each holding its instance for a moment, on a
    // pool of two.
    let report = crate::support::execute(
        &capstan,
        capstan_engine::jobs::RunRequest::new(
            "probe",
            "exec",
            json!({ "argv": ["sleep", "0.3"] }),
            names.iter().cloned(),
        ),
    )
    .await;
    assert_eq!(report.results.len(), 6);
    for result in &report.results {
        assert_eq!(result.status, ResultStatus::Changed, "{result:?}");
    }
}

#[tokio::test]
async fn a_plugins_kv_store_stops_at_its_quota_and_keeps_what_it_had() {
    let (_dir, capstan) = engine();
    install_probe(&capstan, &[Capability::Kv]).await;
    limit_probe(
        &capstan,
        LimitOverrides {
            kv_keys: Some(50),
            kv_bytes: Some(64 << 10),
            ..Default::default()
        },
    )
    .await;
    // Too many keys: stopped at the 51st.
    let (report, _) = run(
        &capstan,
        "probe",
        "kv-fill",
        json!({ "count": 200, "size": 10 }),
    )
    .await;
    let result = only(&report);
    assert_eq!(result.status, ResultStatus::Failed, "{result:?}");
    assert!(
        result.summary.contains("kv quota") && result.summary.contains("51 keys"),
        "{}",
        result.summary
    );
    assert_eq!(capstan.kv_usage("probe").unwrap().keys, 50);
    // Too many bytes: a 1 MiB-per-key flood stops before 64 KiB are kept.
    capstan.remove("probe").unwrap();
    install_probe(&capstan, &[Capability::Kv]).await;
    limit_probe(
        &capstan,
        LimitOverrides {
            kv_bytes: Some(64 << 10),
            ..Default::default()
        },
    )
    .await;
    let (report, _) = run(
        &capstan,
        "probe",
        "kv-fill",
        json!({ "count": 300, "size": 30 << 10 }),
    )
    .await;
    assert_eq!(only(&report).status, ResultStatus::Failed);
    let used = capstan.kv_usage("probe").unwrap();
    assert_eq!(used.keys, 2, "{used:?}");
    assert!(used.bytes <= 64 << 10, "{used:?}");
    // Rewriting a key within the quota still works.
    let (report, _) = run(
        &capstan,
        "probe",
        "kv-fill",
        json!({ "count": 2, "size": 100 }),
    )
    .await;
    assert_eq!(only(&report).status, ResultStatus::Changed);
}
