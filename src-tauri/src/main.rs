//! Capstan's desktop window. Commands here translate between the UI and
//! the engine; they hold no logic of their own.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod error;
mod events;

use std::sync::Arc;
use std::time::Instant;

use capstan_app::window_state;
use capstan_engine::{BundledPlugin, Capstan, Home};

use commands::{docker, hosts, jobs, overview, plugins, run};

/// When the process started, for the start-up report.
struct Started(Instant);

/// Called by the UI once its first page is painted with data and can be
/// used. With `CAPSTAN_STARTUP_REPORT` set, prints how long that took
/// (`bench/window.sh` reads it).
#[tauri::command]
fn ui_ready(started: tauri::State<'_, Started>) {
    if std::env::var_os("CAPSTAN_STARTUP_REPORT").is_some() {
        println!(
            "capstan-app: interactive {} ms after start",
            started.0.elapsed().as_millis()
        );
    }
}

fn main() {
    let started = Instant::now();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let capstan = match open() {
        Ok(capstan) => capstan,
        Err(e) => {
            eprintln!("capstan-app: cannot open Capstan's data folder: {e}");
            std::process::exit(1);
        }
    };
    let home = capstan.home().root().to_path_buf();
    tauri::Builder::default()
        .manage(Arc::new(capstan))
        .manage(docker::Streams::default())
        .manage(Started(started))
        .setup(move |app| Ok(window_state::open_main_window(app, home.clone())?))
        .invoke_handler(tauri::generate_handler![
            ui_ready,
            overview::overview,
            hosts::hosts,
            hosts::save_host,
            hosts::remove_host,
            hosts::import_inventory,
            hosts::check_host,
            hosts::host_facts,
            plugins::plugins,
            plugins::inspect_plugin,
            plugins::install_plugin,
            plugins::set_grant,
            plugins::remove_plugin,
            run::run_action,
            run::run_playbook,
            run::rerun,
            jobs::jobs,
            jobs::job,
            docker::watch_docker,
            docker::service_tasks,
            docker::follow_logs,
            docker::stop_stream,
        ])
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
        sha256: p.sha256,
        wasm: p.wasm,
    });
    Ok(Capstan::open(Home::from_env()?)?.with_bundled(bundled))
}
