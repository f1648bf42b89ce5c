//! Jobs: results, logs and history, and bad input refused before a job.

use capstan_engine::jobs::{JobEvent, JobState, ResultStatus, RunRequest};
use capstan_engine::{Error, Home, JobControl};
use serde_json::json;
use std::sync::Arc;

use crate::support::{engine, execute, only, run};

#[tokio::test]
async fn a_run_is_recorded_with_its_result_and_log() {
    let (_dir, capstan) = engine();
    let (report, events) = run(&capstan, "debug", "msg", json!({ "msg": "hello" })).await;
    assert_eq!(only(&report).status, ResultStatus::Ok);
    assert!(matches!(events.first(), Some(JobEvent::Started { .. })));
    assert!(matches!(
        events.last(),
        Some(JobEvent::Finished {
            overall: Some(ResultStatus::Ok),
            ..
        })
    ));

    let job = capstan.job(report.job_id).unwrap();
    assert_eq!(job.state, JobState::Finished);
    assert_eq!(job.plugin, "debug");
    assert_eq!(job.results.len(), 1);
    let logs = capstan.job_logs(report.job_id).unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].message, "hello");
}

/// The recorder saves each event before passing it on: a watcher (here a
/// second engine on the same data folder, as the window beside the CLI)
/// told of a result or of the end finds it in the store already.
#[tokio::test]
async fn a_watcher_finds_in_the_store_what_it_is_told() {
    let (dir, capstan) = engine();
    let watcher = crate::support::open(&dir);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = {
        let seen = seen.clone();
        Arc::new(move |event: &JobEvent| {
            let found = match event {
                JobEvent::TargetDone(result) => {
                    let id = watcher.jobs(1).unwrap()[0].id;
                    let job = watcher.job(id).unwrap();
                    let saved = job.results.iter().any(|r| r.target == result.target);
                    let logs = watcher.job_logs(id).unwrap().len();
                    format!("result saved: {saved}, log lines: {logs}")
                }
                JobEvent::Finished { job_id, .. } => {
                    let job = watcher.job(*job_id).unwrap();
                    let logs = watcher.job_logs(*job_id).unwrap();
                    format!("state: {:?}, log lines: {}", job.state, logs.len())
                }
                _ => return,
            };
            seen.lock().unwrap().push(found);
        })
    };
    let request = RunRequest::new("debug", "msg", json!({ "msg": "hello" }), ["local"]);
    capstan.run(request, sink).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "result saved: true, log lines: 1",
            "state: Finished, log lines: 1"
        ]
    );
}

async fn bad_input(request: RunRequest) -> String {
    let (_dir, capstan) = engine();
    let err = capstan
        .run(request, Arc::new(|_: &JobEvent| {}))
        .await
        .unwrap_err();
    assert!(err.is_bad_input(), "{err:?}");
    assert!(
        capstan.jobs(10).unwrap().is_empty(),
        "no job is recorded for bad input"
    );
    err.to_string()
}

fn request(plugin: &str, action: &str, params: serde_json::Value, target: &str) -> RunRequest {
    RunRequest::new(plugin, action, params, [target])
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_runs() {
    let msg = bad_input(request("nope", "x", json!({}), "local")).await;
    assert!(msg.contains("no plugin named `nope`"), "{msg}");
    let msg = bad_input(request("debug", "shout", json!({}), "local")).await;
    assert!(msg.contains("no action `shout` (it has: msg)"), "{msg}");
    let msg = bad_input(request(
        "debug",
        "msg",
        json!({ "mesage": "typo" }),
        "local",
    ))
    .await;
    assert!(msg.contains("unknown field `mesage`"), "{msg}");
    let msg = bad_input(request("command", "exec", json!({ "argv": "ls" }), "local")).await;
    assert!(msg.contains("params.argv: expected array"), "{msg}");
    let msg = bad_input(request("debug", "msg", json!({}), "web-1.example")).await;
    assert!(msg.contains("unknown target `web-1.example`"), "{msg}");
}

#[tokio::test]
async fn a_failed_command_is_failed_with_its_exit_code() {
    let (_dir, capstan) = engine();
    let (report, _) = run(
        &capstan,
        "command",
        "exec",
        json!({ "argv": ["sh", "-c", "echo oops >&2; exit 3"] }),
    )
    .await;
    let result = only(&report);
    assert_eq!(result.status, ResultStatus::Failed);
    assert!(
        result.summary.contains("exited with 3: oops"),
        "{}",
        result.summary
    );
    assert_eq!(result.data.as_ref().unwrap()["rc"], 3);
}

#[tokio::test]
async fn command_guards_and_check_mode_follow_ansible() {
    let (_home, capstan) = engine();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let marker = marker.to_str().unwrap();
    let touch = json!({ "argv": ["touch", marker], "creates": marker });

    // In check mode a guarded command that would run is `changed` (as
    // ansible-core's command module reports it); an unguarded one is
    // `skipped`. Neither runs.
    let mut check = request("command", "exec", touch.clone(), "local");
    check.check = true;
    let report = execute(&capstan, check).await;
    assert_eq!(only(&report).status, ResultStatus::Changed);
    assert!(only(&report).summary.contains("would have run"));
    let mut unguarded = request(
        "command",
        "exec",
        json!({ "argv": ["touch", marker] }),
        "local",
    );
    unguarded.check = true;
    let report = execute(&capstan, unguarded).await;
    assert_eq!(only(&report).status, ResultStatus::Skipped);
    assert!(
        !std::path::Path::new(marker).exists(),
        "check mode changes nothing"
    );

    let (report, _) = run(&capstan, "command", "exec", touch.clone()).await;
    assert_eq!(only(&report).status, ResultStatus::Changed);
    let (report, _) = run(&capstan, "command", "exec", touch).await;
    assert_eq!(
        only(&report).status,
        ResultStatus::Ok,
        "creates= makes the second run ok"
    );
}

#[tokio::test]
async fn a_job_left_running_by_a_dead_process_is_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path()).unwrap();
    let store = capstan_engine::store::Store::open(&home.database()).unwrap();
    let new_job = || {
        store
            .create_job(
                &capstan_engine::jobs::JobRequest::Action(request(
                    "debug",
                    "msg",
                    json!({}),
                    "local",
                )),
                &capstan_wire::Actor::User("alice".into()),
            )
            .unwrap()
    };
    let (first, second) = (new_job(), new_job());
    // Pretend the owner was a process that no longer exists.
    assert!(set_dead_owner(&home.database(), first), "updated owner pid");
    assert!(
        set_dead_owner(&home.database(), second),
        "updated owner pid"
    );
    // Cancelling a job whose owner is gone marks it at once.
    let by = capstan_wire::Actor::User("bob".into());
    assert_eq!(
        store.request_cancel(second, &by).unwrap(),
        capstan_engine::store::CancelRequest::OwnerGone
    );
    assert_eq!(
        store.request_cancel(second, &by).unwrap(),
        capstan_engine::store::CancelRequest::AlreadyEnded(JobState::Interrupted)
    );
    assert_eq!(
        store.request_cancel(9_999, &by).unwrap(),
        capstan_engine::store::CancelRequest::NoSuchJob
    );
    drop(store);
    let store = capstan_engine::store::Store::open(&home.database()).unwrap();
    assert_eq!(
        store.job(first).unwrap().unwrap().state,
        JobState::Interrupted
    );
}

/// Rewrites a job's owner to a pid that cannot exist.
fn set_dead_owner(db: &std::path::Path, id: i64) -> bool {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute("UPDATE jobs SET owner_pid = 2147483000 WHERE id = ?1", [id])
        .unwrap()
        == 1
}

#[test]
fn an_unknown_store_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("capstan.db");
    std::fs::write(
        &db,
        b"this is not a database, just text that is long enough to have a header",
    )
    .unwrap();
    let err = capstan_engine::store::Store::open(&db).unwrap_err();
    assert!(matches!(
        err,
        capstan_engine::store::StoreError::Sqlite { .. }
    ));
    assert!(err.to_string().contains("capstan.db"), "{err}");
    // The engine's error carries it whole, with the same message.
    let shown = err.to_string();
    let err = Error::from(err);
    assert!(matches!(err, Error::Store(_)));
    assert_eq!(err.to_string(), shown);
}

/// A token and an event sink that cancels it `ms` milliseconds after the
/// first event that `when` picks.
fn cancel_after(
    when: fn(&JobEvent) -> bool,
    ms: u64,
) -> (
    tokio_util::sync::CancellationToken,
    capstan_engine::jobs::EventSink,
) {
    let cancel = tokio_util::sync::CancellationToken::new();
    let trigger = cancel.clone();
    let events: capstan_engine::jobs::EventSink = Arc::new(move |event: &JobEvent| {
        if when(event) {
            let trigger = trigger.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                trigger.cancel();
            });
        }
    });
    (cancel, events)
}

#[tokio::test]
async fn a_cancelled_run_stops_its_targets_and_records_them_as_cancelled() {
    let (_dir, capstan) = engine();
    // Cancel once the job is under way.
    let (cancel, events) = cancel_after(|e| matches!(e, JobEvent::Started { .. }), 300);
    let request = RunRequest::new(
        "command",
        "exec",
        json!({ "argv": ["sleep", "30"] }),
        ["local"],
    );
    let began = std::time::Instant::now();
    let report = capstan
        .run_with(request, events, JobControl::cancelled_by(cancel))
        .await
        .unwrap();
    assert!(
        began.elapsed() < std::time::Duration::from_secs(20),
        "the 30 s command was stopped, not waited for ({:?})",
        began.elapsed()
    );
    let result = only(&report);
    assert_eq!(result.status, ResultStatus::Failed);
    assert_eq!(result.summary, "cancelled before it finished");
    let job = capstan.job(report.job_id).unwrap();
    assert_eq!(job.state, JobState::Cancelled, "the job ends cancelled");
    assert!(job.finished_at_ms.is_some());
    assert_eq!(job.results[0].summary, "cancelled before it finished");
}

#[tokio::test]
async fn a_cancelled_target_keeps_the_log_lines_it_wrote() {
    let (_dir, capstan) = engine();
    crate::support::install_probe(
        &capstan,
        &[
            capstan_engine::capability::Capability::RemoteExec,
            capstan_engine::capability::Capability::Local,
        ],
    )
    .await;
    // Cancel once the plugin has written its line and is waiting.
    let (cancel, events) = cancel_after(|e| matches!(e, JobEvent::Log(_)), 200);
    let request = RunRequest::new(
        "probe",
        "log-then-exec",
        json!({ "argv": ["sleep", "30"] }),
        ["local"],
    );
    let report = capstan
        .run_with(request, events, JobControl::cancelled_by(cancel))
        .await
        .unwrap();
    assert_eq!(only(&report).summary, "cancelled before it finished");
    let logs = capstan.job_logs(report.job_id).unwrap();
    let messages: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, ["about to run the command"]);
}
