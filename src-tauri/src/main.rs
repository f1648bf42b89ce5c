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
use tauri::Manager;

use commands::{docker, hosts, jobs, notifications, overview, plugins, run, schedules, webhooks};

/// When the process started, and when the webview began loading the page,
/// for the start-up report.
struct Started {
    at: Instant,
    page_load: std::sync::OnceLock<u128>,
}

/// Called by the UI once its first page is painted with data and can be
/// used, with when (in ms since the page began loading) its code started,
/// its data arrived and it painted. With `CAPSTAN_STARTUP_REPORT` set,
/// prints how long that took and where the time went (`bench/window.sh`
/// reads it).
#[tauri::command]
fn ui_ready(started: tauri::State<'_, Started>, code_ms: f64, data_ms: f64, painted_ms: f64) {
    if std::env::var_os("CAPSTAN_STARTUP_REPORT").is_some() {
        let page = started
            .page_load
            .get()
            .map_or("?".to_string(), |ms| ms.to_string());
        println!(
            "capstan-app: interactive {} ms after start (page loading from {page} ms; then its code ran at +{code_ms:.0} ms, its data came at +{data_ms:.0} ms, it painted at +{painted_ms:.0} ms)",
            started.at.elapsed().as_millis()
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
    let capstan = Arc::new(capstan);
    // The first page's data is put together while the webview loads.
    let first_overview = capstan_app::first_overview::FirstOverview::start(capstan.clone());
    capstan_app::desktop_notifications::start(capstan.clone());
    tauri::Builder::default()
        .manage(capstan)
        .manage(first_overview)
        .manage(docker::Streams::default())
        .manage(Started {
            at: started,
            page_load: std::sync::OnceLock::new(),
        })
        .on_page_load(|webview, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Started {
                let started = webview.state::<Started>();
                let _ = started.page_load.set(started.at.elapsed().as_millis());
            }
        })
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
            jobs::cancel_job,
            docker::watch_docker,
            docker::service_tasks,
            docker::follow_logs,
            docker::stop_stream,
            schedules::schedules,
            schedules::add_schedule,
            schedules::pause_schedule,
            schedules::remove_schedule,
            schedules::secrets,
            schedules::set_secret,
            schedules::remove_secret,
            webhooks::webhooks,
            webhooks::add_webhook,
            webhooks::remove_webhook,
            notifications::channels,
            notifications::add_channel,
            notifications::remove_channel,
            notifications::rules,
            notifications::add_rule,
            notifications::remove_rule,
            notifications::notification_deliveries,
            notifications::smtp,
            notifications::set_smtp,
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
