//! Hostile hosts: an sshd that answers every command with binary garbage,
//! a gigabyte of output, silence, a dropped connection, or a new host key.
//! Each is a named error for that host while the others finish.

use std::time::{Duration, Instant};

use capstan_engine::Capstan;
use capstan_engine::jobs::{ResultStatus, RunReport, RunRequest, TargetResult};
use capstan_engine::playbook::{PlaybookEvent, TaskOutcome};
use capstan_engine::plugin::LimitOverrides;
use serde_json::json;

use crate::fleet::{Hostile, Sshd};
use crate::support::{engine, execute, play};

/// Two well-behaved hosts and one of each hostile kind.
/// The sshds, by host name; they run while it lives.
struct Fleet {
    hosts: Vec<(&'static str, Sshd)>,
}

const HOSTILE: [(&str, Hostile); 4] = [
    ("garbage", Hostile::Garbage),
    ("flood", Hostile::Flood),
    ("hang", Hostile::Hang),
    ("closer", Hostile::CloseChannel),
];

impl Fleet {
    /// Starts the fleet and records every host in `capstan`; `rekeyed` is
    /// trusted once, then reinstalled with a new host key.
    async fn start(capstan: &Capstan) -> Fleet {
        let good = [Sshd::start(), Sshd::start()];
        capstan.add_host(&good[0].host("good-1")).unwrap();
        capstan.add_host(&good[1].host("good-2")).unwrap();
        let hostile: Vec<_> = HOSTILE
            .iter()
            .map(|(name, kind)| (*name, Sshd::start_hostile(*kind)))
            .collect();
        for (name, sshd) in &hostile {
            capstan.add_host(&sshd.host(name)).unwrap();
        }
        let rekeyed = Sshd::start();
        capstan.add_host(&rekeyed.host("rekeyed")).unwrap();
        let first = run(capstan, &["rekeyed"], true).await;
        assert_eq!(first.results[0].status, ResultStatus::Changed, "{first:?}");
        let rekeyed = rekeyed.reinstall();
        let [good_1, good_2] = good;
        let mut hosts = vec![("good-1", good_1), ("good-2", good_2)];
        hosts.extend(hostile);
        hosts.push(("rekeyed", rekeyed));
        Fleet { hosts }
    }

    fn names(&self) -> Vec<&'static str> {
        self.hosts.iter().map(|(name, _)| *name).collect()
    }

    /// The fleet as an INI inventory.
    fn inventory_text(&self) -> String {
        self.hosts
            .iter()
            .map(|(name, sshd)| {
                format!(
                    "{name} ansible_host=127.0.0.1 ansible_port={} ansible_user={} \
                     ansible_ssh_private_key_file={}\n",
                    sshd.port,
                    sshd.user,
                    sshd.client_key.display()
                )
            })
            .collect()
    }
}

async fn run(capstan: &Capstan, targets: &[&str], trust: bool) -> RunReport {
    let request = RunRequest {
        trust_new_hosts: trust,
        ..RunRequest::new(
            "command",
            "exec",
            json!({ "argv": ["echo", "hello"] }),
            targets.iter().copied(),
        )
    };
    execute(capstan, request).await
}

fn result<'a>(report: &'a RunReport, target: &str) -> &'a TargetResult {
    report
        .results
        .iter()
        .find(|r| r.target == target)
        .unwrap_or_else(|| panic!("no result for {target}: {report:?}"))
}

fn assert_says(result: &TargetResult, status: ResultStatus, says: &str) {
    assert_eq!(result.status, status, "{}: {result:?}", result.target);
    assert!(
        result.summary.contains(says),
        "{}: `{}` should say `{says}`",
        result.target,
        result.summary
    );
}

#[tokio::test]
async fn each_hostile_host_is_a_named_error_and_the_others_finish() {
    let (_dir, capstan) = engine();
    let fleet = Fleet::start(&capstan).await;
    capstan
        .set_limits(
            "command",
            LimitOverrides {
                wall_ms: Some(4_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let started = Instant::now();
    let report = run(&capstan, &fleet.names(), true).await;
    let took = started.elapsed();
    for r in &report.results {
        eprintln!("{}: {:?} {}", r.target, r.status, r.summary);
    }
    assert!(took < Duration::from_secs(30), "took {took:?}");
    for good in ["good-1", "good-2"] {
        let r = result(&report, good);
        assert_eq!(r.status, ResultStatus::Changed, "{r:?}");
        assert_eq!(r.data.as_ref().unwrap()["stdout"], "hello", "{r:?}");
    }
    // Garbage on stdout is the command's output, as any bytes are: the
    // run reports it as text (invalid UTF-8 replaced), and every place it
    // is shown strips control characters. Parsing it is what fails (below).
    let garbage = result(&report, "garbage");
    assert_eq!(garbage.status, ResultStatus::Changed, "{garbage:?}");
    let stdout = garbage.data.as_ref().unwrap()["stdout"].as_str().unwrap();
    assert!(stdout.len() > 10_000 && stdout != "hello");
    assert_says(
        result(&report, "flood"),
        ResultStatus::Failed,
        "output limit",
    );
    assert_says(
        result(&report, "hang"),
        ResultStatus::Failed,
        "wall time limit",
    );
    assert_says(
        result(&report, "closer"),
        ResultStatus::Unreachable,
        "connection",
    );
    assert_says(
        result(&report, "rekeyed"),
        ResultStatus::Unreachable,
        "HOST KEY CHANGED",
    );
    drop(fleet);
}

#[tokio::test]
async fn facts_from_hostile_hosts_fail_by_name_and_the_play_goes_on() {
    let (dir, capstan) = engine();
    let fleet = Fleet::start(&capstan).await;
    capstan
        .set_limits(
            "setup",
            LimitOverrides {
                wall_ms: Some(4_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let inventory = fleet.inventory_text();
    let inventory_path = dir.path().join("../hostile-inventory.ini");
    std::fs::write(&inventory_path, inventory).unwrap();
    let playbook = dir.path().join("../hostile-site.yml");
    std::fs::write(
        &playbook,
        "- hosts: all\n  gather_facts: true\n  tasks:\n    - debug: msg={{ ansible_hostname }}\n",
    )
    .unwrap();
    let (report, events) = play(&capstan, &playbook, &inventory_path, |_| {}).await;
    let _ = std::fs::remove_file(&inventory_path);
    let _ = std::fs::remove_file(&playbook);
    let outcomes: Vec<TaskOutcome> = events
        .iter()
        .filter_map(|e| match e {
            PlaybookEvent::HostDone(outcome) => Some(outcome.clone()),
            _ => None,
        })
        .collect();
    for o in &outcomes {
        eprintln!("{}: {:?} {}", o.host, o.status, o.summary);
    }
    let recap = |host: &str| {
        report
            .recap
            .iter()
            .find(|r| r.host == host)
            .unwrap()
            .clone()
    };
    for good in ["good-1", "good-2"] {
        assert_eq!(
            (recap(good).ok, recap(good).failed),
            (2, 0),
            "{:?}",
            recap(good)
        );
    }
    let said = |host: &str| {
        outcomes
            .iter()
            .find(|o| o.host == host)
            .map(|o| o.summary.clone())
            .unwrap_or_default()
    };
    for (host, says) in [
        ("garbage", "facts"),
        ("flood", "output limit"),
        ("hang", "wall time limit"),
        ("closer", "connection"),
        ("rekeyed", "HOST KEY CHANGED"),
    ] {
        let r = recap(host);
        assert_eq!(r.ok, 0, "{r:?}");
        assert_eq!(r.failed + r.unreachable, 1, "{r:?}");
        assert!(
            said(host).contains(says),
            "{host}: `{}` should say `{says}`",
            said(host)
        );
    }
    drop(fleet);
}
