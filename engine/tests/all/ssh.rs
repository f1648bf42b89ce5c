//! The SSH transport against real sshd processes on loopback.

use capstan_engine::Capstan;
use capstan_engine::jobs::{FailureKind, ResultStatus, RunReport, RunRequest};
use capstan_engine::remote::{ExecRequest, HostKeyPolicy, RemoteError, Transport};
use serde_json::json;

use crate::fleet::{Sshd, free_port};
use crate::support::{engine, execute, files_round_trip};

async fn run_on(
    capstan: &Capstan,
    targets: &[&str],
    params: serde_json::Value,
    trust: bool,
) -> RunReport {
    let request = RunRequest {
        trust_new_hosts: trust,
        ..RunRequest::new("command", "exec", params, targets.iter().copied())
    };
    execute(capstan, request).await
}

#[tokio::test]
async fn a_command_runs_over_ssh_on_one_connection_per_host() {
    let sshd = Sshd::start();
    let (dir, capstan) = engine();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    let marker = dir.path().join("made-over-ssh");
    let params =
        json!({ "argv": ["touch", marker.to_str().unwrap()], "creates": marker.to_str().unwrap() });

    let report = run_on(&capstan, &["web-1"], params.clone(), true).await;
    let result = &report.results[0];
    assert_eq!(result.status, ResultStatus::Changed, "{result:?}");
    assert!(marker.exists());
    assert_eq!(sshd.logins(), 1, "stat and exec shared one connection");

    // The key is known now: no trust flag needed, and creates= makes it ok.
    let report = run_on(&capstan, &["web-1"], params, false).await;
    assert_eq!(
        report.results[0].status,
        ResultStatus::Ok,
        "{:?}",
        report.results[0]
    );
}

#[tokio::test]
async fn an_unknown_host_key_is_refused_until_trusted() {
    let sshd = Sshd::start();
    let (_dir, capstan) = engine();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    let report = run_on(&capstan, &["web-1"], json!({ "argv": ["true"] }), false).await;
    let result = &report.results[0];
    assert_eq!(result.status, ResultStatus::Unreachable, "{result:?}");
    assert_eq!(result.failure, Some(FailureKind::Unreachable));
    assert!(
        result
            .summary
            .contains("unknown host key ssh-ed25519 SHA256:"),
        "{}",
        result.summary
    );
    assert!(
        result
            .summary
            .contains("capstan hosts trust web-1 --fingerprint SHA256:"),
        "{}",
        result.summary
    );
    assert_eq!(sshd.logins(), 0, "nothing was sent to an unverified host");

    // A check without trust names the key's fingerprint for the user to
    // compare, and is remembered as the host's last check.
    let refused = capstan
        .check_host("web-1", HostKeyPolicy::RequireKnown)
        .await
        .unwrap();
    assert!(!refused.reachable);
    let key = refused.unknown_key.clone().expect("the fingerprint");
    assert!(key.starts_with("ssh-ed25519 SHA256:"), "{key}");
    assert_eq!(capstan.host_checks().unwrap(), vec![refused]);
    assert_eq!(sshd.logins(), 0);

    // Trusting records only the key whose fingerprint the user saw.
    let other = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let wrong = capstan
        .check_host("web-1", HostKeyPolicy::TrustFingerprint(other.into()))
        .await
        .unwrap();
    assert!(!wrong.reachable, "{wrong:?}");
    assert!(wrong.message.contains("not SHA256:AAAA"), "{wrong:?}");
    let check = capstan
        .check_host("web-1", HostKeyPolicy::TrustFingerprint(key.clone()))
        .await
        .unwrap();
    assert!(check.reachable, "{check:?}");
    assert!(check.message.starts_with("Linux"), "{check:?}");
    assert_eq!(check.unknown_key, None);
    assert_eq!(capstan.host_checks().unwrap(), vec![check.clone()]);
    let check = capstan
        .check_host("web-1", HostKeyPolicy::RequireKnown)
        .await
        .unwrap();
    assert!(check.reachable, "the trusted key is remembered: {check:?}");
}

#[tokio::test]
async fn a_changed_host_key_is_refused() {
    let sshd = Sshd::start();
    let (_dir, capstan) = engine();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    assert!(
        capstan
            .check_host("web-1", HostKeyPolicy::TrustNew)
            .await
            .unwrap()
            .reachable
    );

    let sshd = sshd.reinstall();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    let check = capstan
        .check_host("web-1", HostKeyPolicy::TrustNew)
        .await
        .unwrap();
    assert!(!check.reachable, "trust-new never overrides a changed key");
    assert!(
        check.message.contains("HOST KEY CHANGED"),
        "{}",
        check.message
    );
    assert!(check.message.contains("known_hosts"), "{}", check.message);
}

#[tokio::test]
async fn a_key_of_another_type_is_a_changed_key_until_re_pinned() {
    let sshd = Sshd::start();
    let (_dir, capstan) = engine();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    let first = capstan
        .check_host("web-1", HostKeyPolicy::TrustNew)
        .await
        .unwrap();
    assert!(first.reachable, "{first:?}");

    // The same port now shows an RSA key where an Ed25519 one is recorded.
    let sshd = sshd.reinstall_with_key_type("rsa");
    capstan.add_host(&sshd.host("web-1")).unwrap();
    let check = capstan
        .check_host("web-1", HostKeyPolicy::TrustNew)
        .await
        .unwrap();
    assert!(!check.reachable, "trust-new never accepts another key type");
    assert!(
        check
            .message
            .contains("HOST KEY CHANGED (recorded ssh-ed25519"),
        "{}",
        check.message
    );
    assert_eq!(sshd.logins(), 0);

    // Re-pinning takes only the fingerprint the user gives.
    let shown = sshd.host_key_fingerprint();
    let wrong = capstan
        .check_host(
            "web-1",
            HostKeyPolicy::Repin("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
        )
        .await
        .unwrap();
    assert!(!wrong.reachable, "{wrong:?}");
    let repinned = capstan
        .check_host("web-1", HostKeyPolicy::Repin(shown.clone()))
        .await
        .unwrap();
    assert!(repinned.reachable, "{repinned:?}");
    let again = capstan
        .check_host("web-1", HostKeyPolicy::RequireKnown)
        .await
        .unwrap();
    assert!(again.reachable, "the new key is pinned: {again:?}");
    let known = std::fs::read_to_string(_dir.path().join("known_hosts")).unwrap();
    assert_eq!(
        known.lines().filter(|l| !l.is_empty()).count(),
        1,
        "the old key is forgotten: {known}"
    );
    assert!(known.contains("ssh-rsa"), "{known}");
}

#[tokio::test]
async fn a_dead_host_is_unreachable_and_the_others_finish() {
    let sshd = Sshd::start();
    let (_dir, capstan) = engine();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    let mut dead = sshd.host("web-2");
    dead.port = free_port();
    capstan.add_host(&dead).unwrap();

    let report = run_on(
        &capstan,
        &["web-1", "web-2", "local"],
        json!({ "argv": ["true"] }),
        true,
    )
    .await;
    let status: Vec<_> = report
        .results
        .iter()
        .map(|r| (r.target.as_str(), r.status))
        .collect();
    assert_eq!(
        status,
        [
            ("web-1", ResultStatus::Changed),
            ("web-2", ResultStatus::Unreachable),
            ("local", ResultStatus::Changed)
        ]
    );
    assert!(
        report.results[1].summary.contains("connection refused"),
        "{}",
        report.results[1].summary
    );
    let job = capstan.job(report.job_id).unwrap();
    assert_eq!(job.results.len(), 3, "every target's result is stored");
}

#[tokio::test]
async fn a_wrong_key_is_a_clear_login_failure() {
    let sshd = Sshd::start();
    let other = Sshd::start();
    let (_dir, capstan) = engine();
    let mut host = sshd.host("web-1");
    host.auth = capstan_engine::inventory::HostAuth::KeyFile(
        other.client_key.to_string_lossy().into_owned(),
    );
    capstan.add_host(&host).unwrap();
    let check = capstan
        .check_host("web-1", HostKeyPolicy::TrustNew)
        .await
        .unwrap();
    assert!(!check.reachable);
    assert!(
        check.message.contains("refused the key"),
        "{}",
        check.message
    );
}

#[tokio::test]
async fn files_and_commands_over_ssh_keep_argv_intact() {
    let sshd = Sshd::start();
    let (dir, capstan) = engine();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    let target = capstan
        .resolve_targets(&["web-1".into()], HostKeyPolicy::TrustNew)
        .unwrap()
        .remove(0);
    let Transport::Ssh(ssh) = &target.transport else {
        panic!("expected ssh")
    };

    let trap = dir.path().join("pwned");
    let out = ssh
        .exec(
            &ExecRequest {
                argv: vec![
                    "printf".into(),
                    "%s|%s|%s".into(),
                    format!("$(touch {})", trap.display()),
                    "it's; a test".into(),
                ],
                stdin: None,
                env: vec![("GREETING".into(), "hello world".into())],
                cwd: Some("/tmp".into()),
            },
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("$(touch {})|it's; a test|", trap.display()).replacen("||", "|", 1)
    );
    assert!(
        !trap.exists(),
        "nothing a plugin passes is evaluated by the remote shell"
    );

    let out = ssh
        .exec(
            &ExecRequest {
                argv: vec![
                    "sh".into(),
                    "-c".into(),
                    "cat; echo \"$GREETING $(pwd)\"".into(),
                ],
                stdin: Some(b"from stdin\n".to_vec()),
                env: vec![("GREETING".into(), "hello world".into())],
                cwd: Some("/tmp".into()),
            },
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "from stdin\nhello world /tmp\n"
    );

    let path = dir.path().join("conf");
    let path = path.to_str().unwrap();
    files_round_trip(&target.transport, path).await;
    assert!(matches!(
        ssh.read_file("/no/such/file", 1024).await,
        Err(RemoteError::Unavailable(_))
    ));
    let missing = ExecRequest {
        argv: vec!["no-such-program-xyz".into()],
        ..Default::default()
    };
    match ssh.exec(&missing, 1024).await {
        Err(RemoteError::Unavailable(m)) => assert!(m.contains("command not found"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(sshd.logins(), 1, "every call above shared one connection");
}

#[tokio::test]
async fn facts_are_gathered_locally_and_over_ssh() {
    let sshd = Sshd::start();
    let (_dir, capstan) = engine();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    let request = RunRequest {
        trust_new_hosts: true,
        ..RunRequest::new("setup", "gather", json!({}), ["local", "web-1"])
    };
    let report = execute(&capstan, request).await;
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap();
    for result in &report.results {
        assert_eq!(result.status, ResultStatus::Ok, "{result:?}");
        let facts = &result.data.as_ref().unwrap()["ansible_facts"];
        assert_eq!(facts["ansible_system"], "Linux");
        assert_eq!(facts["ansible_architecture"], std::env::consts::ARCH);
        assert!(
            facts["ansible_memtotal_mb"].as_u64().unwrap() > 0,
            "{facts}"
        );
        let version = facts["ansible_distribution_version"].as_str().unwrap();
        assert!(
            os_release.contains(&format!("VERSION_ID=\"{version}\"")),
            "{facts}"
        );
    }
}
