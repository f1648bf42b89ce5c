//! A plugin of the real contract whose second action's params schema is
//! not JSON: the host must refuse it at install rather than skip checking.
#![allow(missing_docs, unsafe_code)]
// On the host (clippy, tests) nothing is exported, so nothing is used.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

wit_bindgen::generate!({
    path: "../../../plugin-sdk/wit/v0.1.0",
    world: "plugin",
});

use exports::capstan::plugin::guest::{ActionInfo, Context, Guest, Manifest, Outcome};

struct BadSchema;

impl Guest for BadSchema {
    fn describe() -> Manifest {
        Manifest {
            name: "bad-schema".into(),
            version: "0.1.0".into(),
            summary: "Test plugin: an action whose schema cannot be read.".into(),
            actions: vec![
                ActionInfo {
                    name: "fine".into(),
                    summary: "A well-described action.".into(),
                    params_schema: r#"{"type": "object", "properties": {}}"#.into(),
                },
                ActionInfo {
                    name: "broken".into(),
                    summary: "An action whose schema is not JSON.".into(),
                    params_schema: r#"{"type": "object", "properties": {"#.into(),
                },
            ],
            capabilities: vec![],
        }
    }

    fn run(_action: String, _params: String, _context: Context) -> Outcome {
        Outcome {
            status: capstan::plugin::types::Status::Ok,
            summary: "never reached".into(),
            diff: None,
            data: None,
        }
    }
}

// Exported only in the component: a host build (clippy, tests) links the
// crate as a cdylib, whose export list cannot hold these names.
#[cfg(target_family = "wasm")]
export!(BadSchema);
