//! `become`: commands and files as another user, through sudo, locally and
//! over SSH.

use capstan_engine::jobs::{ResultStatus, RunRequest};
use capstan_engine::remote::{Become, HostKeyPolicy, RemoteError};
use serde_json::json;

use crate::fleet::Sshd;
use crate::support::{engine, execute};

fn request(targets: &[&str], become_user: &str) -> RunRequest {
    RunRequest {
        trust_new_hosts: true,
        become_user: Some(become_user.into()),
        ..RunRequest::new(
            "command",
            "exec",
            json!({ "argv": ["id", "-un"] }),
            targets.iter().copied(),
        )
    }
}

#[tokio::test]
async fn commands_run_as_the_become_user_locally_and_over_ssh() {
    let sshd = Sshd::start();
    let (_dir, capstan) = engine();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    let report = execute(&capstan, request(&["local", "web-1"], "nobody")).await;
    for result in &report.results {
        assert_eq!(result.status, ResultStatus::Changed, "{result:?}");
        assert_eq!(
            result.data.as_ref().unwrap()["stdout"],
            "nobody",
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn files_are_written_as_the_become_user() {
    let sshd = Sshd::start();
    let (_dir, capstan) = engine();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    let shared = tempfile::tempdir().unwrap();
    let private = tempfile::tempdir().unwrap();
    std::process::Command::new("chmod")
        .args(["1777"])
        .arg(shared.path())
        .status()
        .unwrap();
    std::process::Command::new("chmod")
        .args(["700"])
        .arg(private.path())
        .status()
        .unwrap();

    for name in ["local", "web-1"] {
        let mut target = capstan
            .resolve_targets(&[name.into()], HostKeyPolicy::TrustNew)
            .unwrap()
            .remove(0);
        target.become_user = Some(Become {
            user: "nobody".into(),
            password_env: None,
        });
        let path = shared.path().join(format!("from-{name}"));
        let path = path.to_str().unwrap();
        target.write_file(path, b"hi\n", Some(0o600)).await.unwrap();
        let info = target.stat(path).await.unwrap().unwrap();
        assert_eq!(
            (info.uid, info.mode),
            (65534, 0o600),
            "{name}: owned by nobody"
        );
        assert_eq!(target.read_file(path, 64).await.unwrap(), b"hi\n");

        let denied = private.path().join("nope");
        match target
            .write_file(denied.to_str().unwrap(), b"x", None)
            .await
        {
            Err(RemoteError::Failed(m)) => assert!(m.contains("ermission denied"), "{name}: {m}"),
            other => panic!("{name}: expected permission denied, got {other:?}"),
        }
        target.close().await;
    }
}

#[tokio::test]
async fn an_unknown_become_user_is_named() {
    let (_dir, capstan) = engine();
    let report = execute(&capstan, request(&["local"], "no-such-user-xyz")).await;
    let result = &report.results[0];
    assert_eq!(result.status, ResultStatus::Failed);
    assert!(
        result.summary.contains("there is no user no-such-user-xyz"),
        "{}",
        result.summary
    );
}

#[tokio::test]
async fn a_sudo_password_never_reaches_a_command_when_sudo_does_not_ask() {
    // SAFETY: the variable is this test's own; nothing else reads it.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("CAPSTAN_TEST_BECOME_PW", "never-show-me")
    };
    let (_dir, capstan) = engine();
    let mut target = capstan
        .resolve_targets(&["local".into()], HostKeyPolicy::TrustNew)
        .unwrap()
        .remove(0);
    target.become_user = Some(Become {
        user: "nobody".into(),
        password_env: Some("CAPSTAN_TEST_BECOME_PW".into()),
    });
    let out = target
        .exec(
            &capstan_engine::remote::ExecRequest {
                argv: vec!["cat".into()],
                stdin: Some(b"only this\n".to_vec()),
                ..Default::default()
            },
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "only this\n");
}
