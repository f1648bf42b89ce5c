//! An empty Tauri window, built like Capstan's (same Tauri, features and
//! WebKit), that prints `ready` once its page has painted: the baseline
//! `bench/window.sh` measures Capstan's start-up time and memory against.

use std::time::Instant;

struct Started(Instant);

/// Called by the page after its first paint.
#[tauri::command]
fn ready(started: tauri::State<'_, Started>) {
    println!(
        "empty-window: interactive {} ms after start",
        started.0.elapsed().as_millis()
    );
}

fn main() {
    let started = Instant::now();
    tauri::Builder::default()
        .manage(Started(started))
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!())
        .expect("the empty window starts");
}
