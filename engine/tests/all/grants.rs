//! Grants: checked on every call, revocable, and kept across restarts.

use capstan_engine::capability::Capability;
use capstan_engine::jobs::{FailureKind, ResultStatus};
use serde_json::json;

use crate::support::{engine, install_probe, only, open, run};

#[tokio::test]
async fn revoke_then_run_is_denied() {
    let (_dir, capstan) = engine();
    install_probe(&capstan, &[Capability::Kv]).await;
    let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
    assert_eq!(only(&report).status, ResultStatus::Changed);

    capstan.revoke("probe", Capability::Kv).await.unwrap();
    let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
    assert_eq!(only(&report).failure, Some(FailureKind::Denied));
}

#[tokio::test]
async fn a_grant_and_the_plugin_data_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let capstan = open(&dir);
        install_probe(&capstan, &[]).await;
        capstan.grant("probe", Capability::Kv).await.unwrap();
        let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
        assert_eq!(only(&report).data, Some(json!({ "count": 1 })));
    }
    let capstan = open(&dir);
    let record = capstan.plugin("probe").await.unwrap();
    assert!(record.grants.contains(Capability::Kv));
    let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
    assert_eq!(
        only(&report).data,
        Some(json!({ "count": 2 })),
        "kv kept its value"
    );
}

#[tokio::test]
async fn only_requested_capabilities_can_be_granted() {
    let (_dir, capstan) = engine();
    install_probe(&capstan, &[]).await;
    let err = capstan
        .grant("probe", Capability::RemoteFiles)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("did not ask for `remote.files`"),
        "{err}"
    );
}

#[tokio::test]
async fn bundled_plugins_install_on_first_use_with_their_requested_grants() {
    let (_dir, capstan) = engine();
    assert_eq!(capstan.plugins().unwrap().len(), 0);
    let record = capstan.plugin("command").await.unwrap();
    assert!(record.bundled);
    assert!(record.grants.contains(Capability::RemoteExec));
    let (report, _) = run(
        &capstan,
        "command",
        "exec",
        json!({ "argv": ["echo", "hi"] }),
    )
    .await;
    let result = only(&report);
    assert_eq!(result.status, ResultStatus::Changed);
    assert_eq!(result.data.as_ref().unwrap()["stdout"], "hi");
}

#[tokio::test]
async fn kv_keys_are_private_to_each_plugin() {
    let (_dir, capstan) = engine();
    install_probe(&capstan, &[Capability::Kv]).await;
    capstan
        .store()
        .kv_set(
            "someone-else",
            "count",
            b"41",
            capstan_engine::store::KvUsage {
                keys: 10,
                bytes: 1 << 10,
            },
        )
        .unwrap()
        .unwrap();
    let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
    assert_eq!(only(&report).data, Some(json!({ "count": 1 })));
    assert_eq!(
        capstan
            .store()
            .kv_get("someone-else", "count")
            .unwrap()
            .unwrap(),
        b"41"
    );
}

#[tokio::test]
async fn acting_on_this_computer_is_a_grant_of_its_own() {
    let sshd = crate::fleet::Sshd::start();
    let (_dir, capstan) = engine();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    install_probe(&capstan, &[Capability::RemoteExec]).await;
    let exec = |target: &str| capstan_engine::jobs::RunRequest {
        trust_new_hosts: true,
        ..capstan_engine::jobs::RunRequest::new(
            "probe",
            "exec",
            json!({ "argv": ["id", "-un"] }),
            [target],
        )
    };
    // `remote.exec` alone reaches the inventory's hosts, not this computer.
    let report = crate::support::execute(&capstan, exec("local")).await;
    let result = only(&report);
    assert_eq!(result.status, capstan_engine::jobs::ResultStatus::Failed);
    assert!(
        result.summary.contains("capability `local` is not granted"),
        "{}",
        result.summary
    );
    let report = crate::support::execute(&capstan, exec("web-1")).await;
    assert_eq!(
        only(&report).status,
        capstan_engine::jobs::ResultStatus::Changed,
        "{report:?}"
    );
    capstan.grant("probe", Capability::Local).await.unwrap();
    let report = crate::support::execute(&capstan, exec("local")).await;
    assert_eq!(
        only(&report).status,
        capstan_engine::jobs::ResultStatus::Changed,
        "{report:?}"
    );
}

#[tokio::test]
async fn no_plugin_reaches_capstans_own_data_folder_even_on_local() {
    let (dir, capstan) = engine();
    let home = dir.path().canonicalize().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let link = outside.path().join("into-home");
    std::os::unix::fs::symlink(&home, &link).unwrap();
    let db = std::fs::read(home.join("capstan.db")).unwrap();
    for dest in [
        home.join("capstan.db"),
        home.join("plugins/../known_hosts"),
        link.join("capstan.db"),
    ] {
        copy_is_refused(&capstan, &dest).await;
    }
    assert!(!home.join("known_hosts").exists());
    assert_eq!(
        std::fs::read(home.join("capstan.db")).unwrap().len(),
        db.len()
    );
    // Next door is fine.
    let (report, _) = run(
        &capstan,
        "copy",
        "apply",
        json!({ "dest": outside.path().join("ok").display().to_string(), "content": "x" }),
    )
    .await;
    assert_eq!(
        only(&report).status,
        capstan_engine::jobs::ResultStatus::Changed
    );
}

/// A `copy` to `dest` on local fails, naming Capstan's own folder.
async fn copy_is_refused(capstan: &capstan_engine::Capstan, dest: &std::path::Path) {
    let (report, _) = run(
        capstan,
        "copy",
        "apply",
        json!({ "dest": dest.display().to_string(), "content": "owned\n" }),
    )
    .await;
    let result = only(&report);
    assert_eq!(result.status, ResultStatus::Failed, "{dest:?}: {result:?}");
    assert!(
        result.summary.contains("Capstan's own folder"),
        "{dest:?}: {}",
        result.summary
    );
}

#[tokio::test]
async fn no_plugin_reaches_the_compiled_code_cache_even_on_local() {
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let capstan = crate::support::open_home(
        capstan_engine::Home::with_cache(data.path(), cache.path()).unwrap(),
    );
    // Compiled code lands in the cache (the copy plugin's own, here).
    let outside = tempfile::tempdir().unwrap();
    let ok = outside.path().join("ok").display().to_string();
    let (report, _) = run(
        &capstan,
        "copy",
        "apply",
        json!({ "dest": ok, "content": "x" }),
    )
    .await;
    assert_eq!(only(&report).status, ResultStatus::Changed, "{report:?}");
    let compiled: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert!(!compiled.is_empty(), "the cache holds the compiled plugin");
    // A plugin that could overwrite it would run its own code unsandboxed.
    for dest in [compiled[0].clone(), cache.path().join("new.cwasm")] {
        copy_is_refused(&capstan, &dest).await;
    }
    assert!(!cache.path().join("new.cwasm").exists());
}

#[tokio::test]
async fn the_data_folder_is_the_users_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    drop(open(&dir));
    let db = dir.path().join("capstan.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(open(&dir));
    assert_eq!(mode(dir.path()), 0o700);
    assert_eq!(mode(&db), 0o600);

    // What Capstan writes itself (database, journal, installed plugins,
    // compiled cache) is private from the start.
    let fresh = tempfile::tempdir().unwrap();
    let capstan = open(&fresh);
    let (report, _) = run(&capstan, "command", "exec", json!({ "argv": ["true"] })).await;
    assert_eq!(
        only(&report).status,
        capstan_engine::jobs::ResultStatus::Changed
    );
    drop(capstan);
    let home = capstan_engine::Home::at(fresh.path()).unwrap();
    assert_eq!(home.restrict_files(), Vec::<std::path::PathBuf>::new());

    // A folder that belongs to someone else is refused, saying what to do.
    let theirs = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(theirs.path(), Some(65534), Some(65534)).unwrap();
    let err = capstan_engine::Home::at(theirs.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("belongs to user id 65534"), "{err}");
    assert!(err.contains("CAPSTAN_HOME"), "{err}");

    // So is a compiled-code cache of someone else's: it holds the code
    // plugins run as.
    let mine = tempfile::tempdir().unwrap();
    let err = capstan_engine::Home::with_cache(mine.path(), theirs.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("compiled-code cache"), "{err}");
    assert!(err.contains("CAPSTAN_CACHE"), "{err}");
}

#[tokio::test]
async fn a_plugin_is_never_replaced_silently_nor_inherits_the_old_ones_data() {
    let (_dir, capstan) = engine();
    install_probe(&capstan, &[Capability::Kv]).await;
    let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
    assert_eq!(only(&report).data, Some(json!({ "count": 1 })));
    let inspected = capstan
        .inspect_file(capstan_test_fixtures::PROBE.as_ref())
        .await
        .unwrap();
    let grants = capstan_engine::capability::GrantSet::new([Capability::Kv]);
    let err = capstan.install(&inspected, grants.clone()).unwrap_err();
    assert!(err.to_string().contains("installed already"), "{err}");

    // A bundled name counts even before its first use.
    let mut shadow = inspected.clone();
    shadow.manifest.name = "command".into();
    let err = capstan
        .install(&shadow, capstan_engine::capability::GrantSet::default())
        .unwrap_err();
    assert!(err.to_string().contains("bundled with Capstan"), "{err}");

    capstan
        .install_over(&inspected, grants.clone(), true)
        .unwrap();
    let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
    assert_eq!(only(&report).data, Some(json!({ "count": 2 })), "kept");
    capstan.install_over(&inspected, grants, false).unwrap();
    let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
    assert_eq!(
        only(&report).data,
        Some(json!({ "count": 1 })),
        "not inherited"
    );

    capstan.revoke("probe", Capability::Kv).await.unwrap();
    capstan.grant("probe", Capability::Kv).await.unwrap();
    capstan.remove("probe").unwrap();
    let log = capstan.audit_log(20).unwrap();
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.plugin.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(
        actions,
        [
            ("remove", "probe"),
            ("grant", "probe"),
            ("revoke", "probe"),
            ("replace", "probe"),
            ("replace", "probe"),
            ("install", "probe"),
        ]
    );
    let me = capstan_engine::inventory::current_user();
    assert!(log.iter().all(|e| e.actor == me && e.at_ms > 0));
    assert!(
        log[3].detail.contains("stored data was deleted"),
        "{:?}",
        log[3]
    );
}
