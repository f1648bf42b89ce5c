//! Tauri's build step: reads tauri.conf.json and embeds the UI.

fn main() {
    tauri_build::build();
}
