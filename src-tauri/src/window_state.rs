//! The main window, opened at the size it had when it was last closed
//! (kept in `window.json` in Capstan's data folder), so it never opens
//! small and then jumps.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tauri::{WebviewUrl, WebviewWindowBuilder, WindowEvent};

/// The window's size (logical pixels) and whether it was maximised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowState {
    /// Inner width in logical pixels.
    pub width: f64,
    /// Inner height in logical pixels.
    pub height: f64,
    /// Maximised.
    pub maximized: bool,
}

impl Default for WindowState {
    fn default() -> Self {
        WindowState {
            width: 1180.0,
            height: 760.0,
            maximized: false,
        }
    }
}

const MIN_WIDTH: f64 = 760.0;
const MIN_HEIGHT: f64 = 500.0;

impl WindowState {
    fn file(home: &Path) -> PathBuf {
        home.join("window.json")
    }

    /// The saved state, or the default when there is none (or it is
    /// unreadable: a window that opens is worth more than an old size).
    pub fn load(home: &Path) -> WindowState {
        std::fs::read(Self::file(home))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<WindowState>(&bytes).ok())
            .filter(|s| s.width.is_finite() && s.height.is_finite())
            .map(|s| WindowState {
                width: s.width.clamp(MIN_WIDTH, 8192.0),
                height: s.height.clamp(MIN_HEIGHT, 8192.0),
                maximized: s.maximized,
            })
            .unwrap_or_default()
    }

    /// Saves the state (best effort: a read-only data folder only costs
    /// the remembered size).
    pub fn save(&self, home: &Path) {
        let text = serde_json::to_vec(self).expect("window state serialises");
        if let Err(e) = std::fs::write(Self::file(home), text) {
            tracing::debug!(error = %e, "could not save the window's size");
        }
    }
}

/// Opens the main window at its remembered size and keeps that size up to
/// date as the user resizes it.
pub fn open_main_window<R: tauri::Runtime>(
    app: &tauri::App<R>,
    home: PathBuf,
) -> tauri::Result<()> {
    let state = WindowState::load(&home);
    let window = WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
        .title("Capstan")
        .inner_size(state.width, state.height)
        .min_inner_size(MIN_WIDTH, MIN_HEIGHT)
        .maximized(state.maximized)
        .build()?;
    let handle = window.clone();
    let last = Mutex::new(state);
    window.on_window_event(move |event| {
        if let WindowEvent::Resized(size) = event {
            let scale = handle.scale_factor().unwrap_or(1.0);
            let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
            let mut now = *last;
            now.maximized = handle.is_maximized().unwrap_or(false);
            // A maximised window keeps the size it goes back to.
            if !now.maximized && size.width > 0 && size.height > 0 {
                now.width = f64::from(size.width) / scale;
                now.height = f64::from(size.height) / scale;
            }
            if now != *last {
                now.save(&home);
                *last = now;
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_size_comes_back_and_nonsense_reads_as_the_default() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(WindowState::load(home.path()), WindowState::default());
        let state = WindowState {
            width: 1400.0,
            height: 900.0,
            maximized: true,
        };
        state.save(home.path());
        assert_eq!(WindowState::load(home.path()), state);
        std::fs::write(home.path().join("window.json"), "{not json").unwrap();
        assert_eq!(WindowState::load(home.path()), WindowState::default());
        std::fs::write(
            home.path().join("window.json"),
            r#"{"width":10,"height":99999,"maximized":false}"#,
        )
        .unwrap();
        let clamped = WindowState::load(home.path());
        assert_eq!((clamped.width, clamped.height), (MIN_WIDTH, 8192.0));
    }
}
