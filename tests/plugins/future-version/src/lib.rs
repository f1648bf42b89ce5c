//! A component claiming a contract version this host does not support.
#![allow(missing_docs, unsafe_code)]
// On the host (clippy, tests) nothing is exported, so nothing is used.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

wit_bindgen::generate!({
    inline: "
        package capstan:plugin@9.0.0;
        interface guest {
            describe: func() -> string;
        }
        world plugin {
            export guest;
        }
    ",
});

struct Future;

impl exports::capstan::plugin::guest::Guest for Future {
    fn describe() -> String {
        "from the future".into()
    }
}

// Exported only in the component: a host build (clippy, tests) links the
// crate as a cdylib, whose export list cannot hold these names.
#[cfg(target_family = "wasm")]
export!(Future);
