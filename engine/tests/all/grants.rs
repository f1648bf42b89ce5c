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
        .kv_set("someone-else", "count", b"41")
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
