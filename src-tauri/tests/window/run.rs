//! Running an action on this machine from the Run page, and watching its
//! job go from running to finished without reloading anything.

use std::time::{Duration, Instant};

#[test]
fn an_action_runs_on_the_local_host_and_its_job_finishes_live() {
    let home = tempfile::tempdir().unwrap();
    let marker = home.path().join("ran");
    let mut window = crate::open(home.path(), "run");
    window.click("#nav-run");
    window.select("#run-plugin", "command");
    window.select("#run-action", "shell");
    window.type_into(
        "#param-cmd",
        &format!("sleep 2; echo started > {}; echo done", marker.display()),
    );
    window.click("#run-submit");

    // The number shows at once, what ran once the job is read.
    let title = window.wait_text("#job-title", |t| t.contains("command shell"));
    assert!(
        title.contains("Job #") && title.contains("command shell"),
        "{title}"
    );
    // Seen running, then finished, on the same page.
    let started = Instant::now();
    let mut seen_running = false;
    let state = loop {
        let state = window.text("#job-state");
        seen_running |= state == "running";
        if state != "running" {
            break state;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "still running");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(seen_running, "the job was never shown running");
    // Drawn from the job's events, not read back from the store.
    window.find(".job-page[data-live='true']");
    assert_eq!(state, "finished");
    assert_eq!(window.text("#job-overall"), "changed");
    let cell = window.text(".task-grid tr[data-host='local'] td");
    assert_eq!(cell, "changed");
    window.wait_text(".log", |t| t.contains("changed"));
    assert!(marker.exists(), "the command ran on this machine");
    window.screenshot("job-finished");

    // Re-run lands on a new job, which runs the same command again.
    let number = |title: &str| title.split_whitespace().nth(1).map(String::from);
    let first = number(&title);
    window.click("#rerun");
    let second = window.wait_text("#job-title", |t| {
        number(t) != first && t.contains("command shell")
    });
    assert!(second.contains("command shell"), "{second}");
    window.wait_text("#job-state", |s| s == "finished");
}

#[test]
fn a_running_job_is_cancelled_from_its_page_and_its_command_is_killed() {
    let home = tempfile::tempdir().unwrap();
    let mut window = crate::open(home.path(), "cancel");
    window.click("#nav-run");
    window.select("#run-plugin", "command");
    window.select("#run-action", "shell");
    window.type_into("#param-cmd", "sleep 31407; echo never");
    window.click("#run-submit");
    window.wait_text("#job-state", |s| s == "running");
    let running = || {
        std::process::Command::new("pgrep")
            .args(["-f", "sleep 31407"])
            .status()
            .unwrap()
            .success()
    };
    let started = Instant::now();
    while !running() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the command never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    window.click("#cancel");
    window.wait_text("#job-state", |s| s == "cancelled");
    let cell = window.text(".task-grid tr[data-host='local'] td");
    assert_eq!(cell, "failed", "the target was cut short");
    assert!(
        !window.exists("#cancel:not([hidden])"),
        "nothing left to cancel"
    );
    assert!(!running(), "the command was killed");
    window.screenshot("job-cancelled");
}
