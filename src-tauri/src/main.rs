//! Capstan's desktop window. Commands here translate between the UI and
//! the engine; they hold no logic of their own.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

use capstan_engine::{BundledPlugin, Capstan, Home};

fn main() {
    let capstan = match open() {
        Ok(capstan) => capstan,
        Err(e) => {
            eprintln!("capstan-app: cannot open Capstan's data folder: {e}");
            std::process::exit(1);
        }
    };
    tauri::Builder::default()
        .manage(capstan)
        .invoke_handler(tauri::generate_handler![commands::overview])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("capstan-app: the window could not start: {e}");
            std::process::exit(1);
        });
}

/// The engine on the user's data folder (or `CAPSTAN_HOME`), with the
/// bundled plugins, as the CLI opens it.
fn open() -> capstan_engine::Result<Capstan> {
    let bundled = capstan_bundled::PLUGINS.iter().map(|p| BundledPlugin {
        name: p.name,
        wasm: p.wasm,
    });
    Ok(Capstan::open(Home::from_env()?)?.with_bundled(bundled))
}
