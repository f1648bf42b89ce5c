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
            ..Default::default()
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
        ..Default::default()
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

    // A command that answers as it reads gets all of a large input.
    let big = vec![b'x'; 4 << 20];
    let out = target
        .exec(
            &capstan_engine::remote::ExecRequest {
                argv: vec!["cat".into()],
                stdin: Some(big.clone()),
                ..Default::default()
            },
            8 << 20,
        )
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), big.len());
}

/// A login with a sudo password, able to log in to `sshd` with its client
/// key; its account and sudoers drop-in are removed when dropped.
struct Sudoer {
    name: String,
    sudoers: std::path::PathBuf,
}

impl Sudoer {
    fn create(name: &str, password: &str, sshd: &Sshd) -> Sudoer {
        let sh = |script: &str| {
            let status = std::process::Command::new("sh")
                .args(["-c", script])
                .status()
                .unwrap();
            assert!(status.success(), "{script}");
        };
        let _ = std::process::Command::new("userdel")
            .args(["-r", name])
            .output();
        sh(&format!(
            "useradd -m -s /bin/sh {name} && echo '{name}:{password}' | chpasswd"
        ));
        // The fleet's sshd reads authorized_keys as the login user.
        sh(&format!(
            "chmod 755 {dir} && chmod 644 {dir}/authorized_keys",
            dir = sshd.dir.path().display()
        ));
        let sudoer = Sudoer {
            name: name.into(),
            sudoers: format!("/etc/sudoers.d/{name}").into(),
        };
        sudoer.set_defaults("");
        sudoer
    }

    /// Rewrites the drop-in: the login may run anything with its password,
    /// under these extra `Defaults`.
    fn set_defaults(&self, defaults: &str) {
        let mut text = format!("{} ALL=(ALL:ALL) ALL\n", self.name);
        if !defaults.is_empty() {
            text.push_str(&format!("Defaults:{} {defaults}\n", self.name));
        }
        std::fs::write(&self.sudoers, text).unwrap();
        let status = std::process::Command::new("visudo")
            .args(["-c", "-q", "-f"])
            .arg(&self.sudoers)
            .status()
            .unwrap();
        assert!(status.success(), "visudo refused the drop-in");
        // Forget tickets of an earlier setting.
        let _ = std::process::Command::new("sudo")
            .args(["-K", "-u", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(format!("/run/sudo/ts/{}", self.name));
    }
}

impl Drop for Sudoer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.sudoers);
        let _ = std::process::Command::new("userdel")
            .args(["-f", "-r", &self.name])
            .output();
        let _ = std::fs::remove_file(format!("/run/sudo/ts/{}", self.name));
    }
}

/// Every file under `dir` whose bytes hold `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if std::fs::read(&path)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sudo_password_reaches_no_file_output_or_record_with_either_ticket_setting() {
    const PASSWORD: &str = "pw-Zq81-never-seen";
    // SAFETY: the variable is this test's own; nothing else reads it.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("CAPSTAN_TEST_SUDOER_PW", PASSWORD)
    };
    let sshd = Sshd::start();
    let sudoer = Sudoer::create("capstan-sudoer", PASSWORD, &sshd);
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let inventory = home.path().join("inventory.ini");
    std::fs::write(
        &inventory,
        format!(
            "h1 ansible_host=127.0.0.1 ansible_port={} ansible_user={} ansible_ssh_private_key_file={}\n",
            sshd.port,
            sudoer.name,
            sshd.client_key.display()
        ),
    )
    .unwrap();
    let playbook = home.path().join("site.yml");
    std::fs::write(
        &playbook,
        "- hosts: all\n  gather_facts: no\n  become: yes\n  tasks:\n\
         \x20   - copy: dest={{ out }}/one content=\"first\\n\"\n\
         \x20   - copy: dest={{ out }}/two content=\"second\\n\"\n\
         \x20   - command: cat\n      args:\n        stdin: fed\n      register: fed\n\
         \x20   - command: id -un\n      register: who\n\
         \x20   - command: sudo -v\n\
         \x20   - copy: dest={{ out }}/three content=\"third\\n\"\n\
         \x20   - assert:\n        that:\n          - fed.stdout == 'fed'\n          - who.stdout == 'root'\n",
    )
    .unwrap();

    for (setting, defaults) in [
        ("per-tty tickets", ""),
        ("global tickets", "timestamp_type=global"),
    ] {
        sudoer.set_defaults(defaults);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = seen.clone();
        let options = capstan_engine::playbook::PlaybookOptions {
            playbook: playbook.clone(),
            inventory: Some(inventory.clone()),
            trust_new_hosts: true,
            diff: true,
            become_password_env: Some("CAPSTAN_TEST_SUDOER_PW".into()),
            extra_vars: [("out".to_string(), json!(out.path().display().to_string()))]
                .into_iter()
                .collect(),
            ..Default::default()
        };
        let report = capstan
            .run_playbook(
                options,
                std::sync::Arc::new(move |e: &capstan_engine::playbook::PlaybookEvent| {
                    sink.lock().unwrap().push_str(&format!("{e:?}\n"))
                }),
            )
            .await
            .unwrap();
        let recap = &report.recap[0];
        assert_eq!(
            (recap.failed, recap.unreachable),
            (0, 0),
            "{setting}: {report:?}"
        );
        for (name, text) in [
            ("one", "first\n"),
            ("two", "second\n"),
            ("three", "third\n"),
        ] {
            assert_eq!(
                std::fs::read_to_string(out.path().join(name)).unwrap(),
                text,
                "{setting}: {name}"
            );
        }
        let events = seen.lock().unwrap().clone();
        assert!(!events.contains(PASSWORD), "{setting}: events show it");
        assert!(!format!("{report:?}").contains(PASSWORD), "{setting}");
        assert_eq!(
            files_holding(out.path(), PASSWORD.as_bytes()),
            Vec::<String>::new(),
            "{setting}: written files"
        );
        assert_eq!(
            files_holding(home.path(), PASSWORD.as_bytes()),
            Vec::<String>::new(),
            "{setting}: the store, logs and job records"
        );
        for name in ["one", "two", "three"] {
            std::fs::remove_file(out.path().join(name)).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sudo_password_from_the_secrets_store_serves_an_action_and_a_playbook_unattended() {
    const PASSWORD: &str = "pw-Kx40-stored-sealed";
    let sshd = Sshd::start();
    let sudoer = Sudoer::create("capstan-sealed", PASSWORD, &sshd);
    let (home, capstan) = engine();
    let inventory = home.path().join("inventory.ini");
    std::fs::write(
        &inventory,
        format!(
            "h1 ansible_host=127.0.0.1 ansible_port={} ansible_user={} ansible_ssh_private_key_file={}\n",
            sshd.port,
            sudoer.name,
            sshd.client_key.display()
        ),
    )
    .unwrap();
    capstan.import_inventory(&inventory).unwrap();
    let owner = capstan.actor();
    capstan.set_secret("sudo_pw", PASSWORD, &owner).unwrap();
    let as_root = |secret: Option<&str>| RunRequest {
        become_password_secret: secret.map(String::from),
        ..request(&["h1"], "root")
    };

    // Without a password sudo asks and is refused; with the stored one it
    // lets the command run.
    let refused = execute(&capstan, as_root(None)).await;
    assert_eq!(
        refused.results[0].status,
        ResultStatus::Failed,
        "{refused:?}"
    );
    let ran = execute(&capstan, as_root(Some("sudo_pw"))).await;
    assert_eq!(ran.results[0].status, ResultStatus::Changed, "{ran:?}");
    assert_eq!(ran.results[0].data.as_ref().unwrap()["stdout"], "root");
    let job = capstan.job(ran.job_id).unwrap();
    let recorded = serde_json::to_string(&job).unwrap();
    assert!(!recorded.contains(PASSWORD), "{recorded}");
    let missing = capstan
        .run(as_root(Some("no_such_secret")), std::sync::Arc::new(|_| {}))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("no_such_secret"), "{missing}");

    let playbook = home.path().join("site.yml");
    std::fs::write(
        &playbook,
        "- hosts: all\n  gather_facts: no\n  become: yes\n  tasks:\n\
         \x20   - command: id -un\n      register: who\n\
         \x20   - assert:\n        that:\n          - who.stdout == 'root'\n",
    )
    .unwrap();
    let options = capstan_engine::playbook::PlaybookOptions {
        playbook,
        become_password_secret: Some("sudo_pw".into()),
        ..Default::default()
    };
    let report = capstan
        .run_playbook(options, std::sync::Arc::new(|_| {}))
        .await
        .unwrap();
    assert_eq!(
        (report.recap[0].ok, report.recap[0].failed),
        (2, 0),
        "{report:?}"
    );
    assert_eq!(
        files_holding(home.path(), PASSWORD.as_bytes()),
        Vec::<String>::new(),
        "the store (the secret is sealed), logs and job records"
    );
}
