//! A valid component that is not a Capstan plugin: it targets another world.
#![allow(missing_docs, unsafe_code)]
// On the host (clippy, tests) nothing is exported, so nothing is used.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

wit_bindgen::generate!({
    inline: "
        package test:other;
        world greeter {
            export greet: func(name: string) -> string;
        }
    ",
});

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        format!("hello {name}")
    }
}

// Exported only in the component: a host build (clippy, tests) links the
// crate as a cdylib, whose export list cannot hold these names.
#[cfg(target_family = "wasm")]
export!(Greeter);
