//! The compiled-component cache: reused when sound, recompiled when not.

use capstan_engine::jobs::ResultStatus;
use serde_json::json;

use crate::support::{install_probe, only, open, run};

fn cache_files(dir: &tempfile::TempDir, ext: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
}

#[tokio::test]
async fn a_warm_start_uses_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    {
        let capstan = open(&dir);
        install_probe(&capstan, &[]).await;
    }
    let capstan = open(&dir);
    let record = capstan.plugin("probe").await.unwrap();
    let loaded = capstan.load_installed(&record).unwrap();
    assert!(loaded.from_cache, "the second process loads from the cache");
}

#[tokio::test]
async fn a_tampered_cache_file_is_recompiled_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let capstan = open(&dir);
        install_probe(&capstan, &[]).await;
    }
    let artifacts = cache_files(&dir, "cwasm");
    assert_eq!(artifacts.len(), 1);
    let mut bytes = std::fs::read(&artifacts[0]).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&artifacts[0], &bytes).unwrap();

    let capstan = open(&dir);
    let record = capstan.plugin("probe").await.unwrap();
    let loaded = capstan.load_installed(&record).unwrap();
    assert!(!loaded.from_cache, "a tampered entry must not be used");
    let (report, _) = run(&capstan, "probe", "echo", json!({ "a": 1 })).await;
    assert_eq!(only(&report).status, ResultStatus::Ok);
    assert_ne!(
        std::fs::read(&artifacts[0]).unwrap(),
        bytes,
        "the entry was rewritten"
    );
}

#[tokio::test]
async fn a_truncated_cache_file_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    {
        let capstan = open(&dir);
        install_probe(&capstan, &[]).await;
    }
    for artifact in cache_files(&dir, "cwasm") {
        std::fs::write(&artifact, b"\0asm").unwrap();
    }
    let capstan = open(&dir);
    let (report, _) = run(&capstan, "probe", "echo", json!({})).await;
    assert_eq!(only(&report).status, ResultStatus::Ok);
}

#[tokio::test]
async fn an_installed_file_changed_on_disk_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let capstan = open(&dir);
    install_probe(&capstan, &[]).await;
    let record = capstan.plugin("probe").await.unwrap();
    std::fs::write(
        &record.wasm_path,
        std::fs::read(capstan_test_fixtures::OTHER_WORLD).unwrap(),
    )
    .unwrap();
    let err = capstan.load_installed(&record).err().expect("refused");
    assert!(
        err.to_string()
            .contains("changed since `probe` was installed"),
        "{err}"
    );
}

#[test]
fn every_bundled_plugins_recorded_hash_is_its_bytes() {
    // The binary loads a bundled plugin by the SHA-256 its build recorded,
    // without hashing it again: the two must agree.
    for shipped in capstan_bundled::PLUGINS {
        assert_eq!(
            capstan_engine::plugin::sha256_of(shipped.wasm),
            shipped.sha256,
            "bundled plugin `{}`",
            shipped.name
        );
    }
}
