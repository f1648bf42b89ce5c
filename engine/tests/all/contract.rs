//! Loading: only components of the plugin world, at a supported contract
//! version, get in; everything else is refused with a reason.

use capstan_engine::Error;
use capstan_engine::plugin::ContractVersion;

use crate::support::engine;

async fn refused(bytes: Vec<u8>) -> String {
    let (_dir, capstan) = engine();
    match capstan.inspect(bytes, "test.wasm").await {
        Err(e @ Error::NotAPlugin { .. }) => e.to_string(),
        other => panic!("expected NotAPlugin, got {other:?}"),
    }
}

#[tokio::test]
async fn a_plugin_describes_itself() {
    let (_dir, capstan) = engine();
    let inspected = capstan
        .inspect_file(capstan_test_fixtures::PROBE.as_ref())
        .await
        .unwrap();
    assert_eq!(inspected.manifest.name, "probe");
    assert_eq!(inspected.version, ContractVersion::V0_2);
    assert!(inspected.manifest.actions.iter().any(|a| a.name == "echo"));
    assert_eq!(
        inspected.manifest.capabilities,
        ["kv", "remote.exec", "local", "http", "events"]
    );
}

#[tokio::test]
async fn a_component_of_another_world_is_refused() {
    let message = refused(std::fs::read(capstan_test_fixtures::OTHER_WORLD).unwrap()).await;
    assert!(
        message.contains("not built with capstan-plugin-sdk"),
        "{message}"
    );
    assert!(
        message.contains("greet"),
        "it lists what it exports: {message}"
    );
}

#[tokio::test]
async fn a_plugin_for_an_unknown_contract_version_is_refused() {
    let message = refused(std::fs::read(capstan_test_fixtures::FUTURE_VERSION).unwrap()).await;
    assert!(message.contains("capstan:plugin@9.0.0"), "{message}");
    assert!(message.contains("0.1.x"), "{message}");
}

#[tokio::test]
async fn a_plugin_whose_params_schema_cannot_be_read_is_refused_at_install() {
    let (_dir, capstan) = engine();
    let bytes = std::fs::read(capstan_test_fixtures::BAD_SCHEMA).unwrap();
    let message = match capstan.inspect(bytes, "bad.wasm").await {
        Err(e @ Error::PluginFailed { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(message.contains("bad.wasm"), "{message}");
    assert!(message.contains("action `broken`"), "{message}");
    assert!(message.contains("params schema is not JSON"), "{message}");
}

#[tokio::test]
async fn a_truncated_file_is_refused() {
    let mut bytes = std::fs::read(capstan_test_fixtures::PROBE).unwrap();
    bytes.truncate(bytes.len() / 2);
    let message = refused(bytes).await;
    assert!(
        message.contains("test.wasm is not a Capstan plugin"),
        "{message}"
    );
}

#[tokio::test]
async fn random_bytes_are_refused() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let message = refused(bytes).await;
    assert!(message.contains("magic bytes"), "{message}");
}

#[tokio::test]
async fn a_core_module_is_not_a_component() {
    // The smallest valid core module: magic and version 1.
    let message = refused(b"\0asm\x01\0\0\0".to_vec()).await;
    assert!(
        message.contains("test.wasm is not a Capstan plugin"),
        "{message}"
    );
}
