//! Cancellation: asked for through the store by another handle (as another
//! process would), acted on by the job's owner, and really stopping the
//! commands on the hosts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_engine::jobs::{JobEvent, JobState, ResultStatus, RunReport, RunRequest};
use capstan_engine::playbook::{PlaybookEvent, PlaybookOptions};
use capstan_engine::store::CancelRequest;
use capstan_engine::{Capstan, JobControl};
use capstan_wire::Actor;
use serde_json::json;

use crate::fleet::{Sshd, inventory_text};
use crate::support::{engine, open};

/// Waits until the newest job is running, then returns its id.
async fn running_job(capstan: &Capstan) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let newest = capstan.jobs(1).unwrap();
        if let Some(job) = newest.first().filter(|j| j.state == JobState::Running) {
            return job.id;
        }
        assert!(Instant::now() < deadline, "no job started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a process whose command line contains `text` exists.
fn process_running(text: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", text])
        .status()
        .unwrap()
        .success()
}

/// Waits (up to 10 s) for every process matching `text` to be gone.
async fn gone(text: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while process_running(text) {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

/// Runs `argv` on `targets` in the background with the first engine, and
/// cancels it through a second one opened on the same home.
async fn run_then_cancel_from_another_handle(
    dir: &tempfile::TempDir,
    capstan: Capstan,
    targets: &[&str],
    argv: &[&str],
) -> (RunReport, Capstan) {
    let request = RunRequest {
        trust_new_hosts: true,
        ..RunRequest::new(
            "command",
            "exec",
            json!({ "argv": argv }),
            targets.iter().copied(),
        )
    };
    let capstan = Arc::new(capstan);
    let runner = capstan.clone();
    let run = tokio::spawn(async move {
        runner
            .run_with(request, Arc::new(|_: &JobEvent| {}), JobControl::default())
            .await
            .unwrap()
    });
    let other = open(dir);
    let id = running_job(&other).await;
    // The command is under way on every target before the cancel comes.
    let marker = argv.join(" ");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !process_running(argv.last().unwrap()) {
        assert!(Instant::now() < deadline, "`{marker}` never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = other.cancel_job(id, &Actor::Token("ci".into())).unwrap();
    assert!(
        matches!(asked, CancelRequest::Recorded { owner_pid } if owner_pid == std::process::id() as i64),
        "{asked:?}"
    );
    let report = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the owner stopped the job")
        .unwrap();
    (report, other)
}

#[tokio::test]
async fn a_cancel_recorded_by_another_handle_stops_a_local_job() {
    let (dir, capstan) = engine();
    let (report, other) =
        run_then_cancel_from_another_handle(&dir, capstan, &["local"], &["sleep", "31401"]).await;
    assert_eq!(report.results[0].summary, "cancelled before it finished");
    let job = other.job(report.job_id).unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert_eq!(job.cancelled_by, Some(Actor::Token("ci".into())));
    assert_eq!(job.launched_by, other.actor(), "launched by this OS user");
    assert!(gone("sleep 31401").await, "the local command was killed");
    assert_eq!(
        other.cancel_job(job.id, &other.actor()).unwrap(),
        CancelRequest::AlreadyEnded(JobState::Cancelled),
        "a second cancel finds it ended"
    );
}

#[tokio::test]
async fn cancelling_an_ssh_job_kills_its_command_and_the_command_s_children_on_the_host() {
    let (one, two) = (Sshd::start(), Sshd::start());
    let (dir, capstan) = engine();
    capstan.add_host(&one.host("web-1")).unwrap();
    capstan.add_host(&two.host("web-2")).unwrap();
    // A shell that forks its sleep: closing an exec channel without a
    // terminal would leave both running.
    let argv = ["sh", "-c", "sleep 31402; echo done", "31402"];
    let (report, other) =
        run_then_cancel_from_another_handle(&dir, capstan, &["web-1", "web-2"], &argv).await;
    for result in &report.results {
        assert_eq!(result.status, ResultStatus::Failed, "{result:?}");
        assert_eq!(result.summary, "cancelled before it finished");
    }
    assert_eq!(other.job(report.job_id).unwrap().state, JobState::Cancelled);
    assert!(
        gone("sleep 31402").await,
        "the shell and its sleep are gone from both hosts; sshd said:\n{}",
        std::fs::read_to_string(two.dir.path().join("sshd.log")).unwrap_or_default()
    );
}

#[tokio::test]
async fn a_cancelled_playbook_stops_its_task_on_the_hosts_and_starts_no_other() {
    let sshd = Sshd::start();
    let (dir, capstan) = engine();
    let work = tempfile::tempdir().unwrap();
    let inventory = work.path().join("hosts.ini");
    std::fs::write(&inventory, inventory_text(&[&sshd], "")).unwrap();
    let after = work.path().join("after-the-sleep");
    let playbook = work.path().join("site.yml");
    std::fs::write(
        &playbook,
        format!(
            "- hosts: web\n  gather_facts: false\n  tasks:\n    - name: wait\n      command: sh -c 'sleep 31403; true'\n    - name: after\n      file: {{ path: {}, state: touch }}\n",
            after.display()
        ),
    )
    .unwrap();
    let options = PlaybookOptions {
        playbook,
        inventory: Some(inventory),
        trust_new_hosts: true,
        ..Default::default()
    };
    let capstan = Arc::new(capstan);
    let runner = capstan.clone();
    let run = tokio::spawn(async move {
        runner
            .run_playbook_with(
                options,
                Arc::new(|_: &PlaybookEvent| {}),
                JobControl::default(),
            )
            .await
            .unwrap()
    });
    let other = open(&dir);
    let id = running_job(&other).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !process_running("sleep 31403") {
        assert!(Instant::now() < deadline, "the task never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    other.cancel_job(id, &other.actor()).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the owner stopped the playbook")
        .unwrap();
    let error = report.error.unwrap_or_default();
    assert!(error.contains("cancelled"), "{error}");
    let job = other.job(id).unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert!(!after.exists(), "no task started after the cancel");
    assert!(gone("sleep 31403").await, "the task's command is gone");
}
