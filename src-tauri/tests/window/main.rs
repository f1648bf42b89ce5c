//! The real window under Xvfb, driven through WebDriver (tauri-driver in
//! front of WebKitWebDriver), each test on its own display, data folder
//! and app process. Each test saves screenshots of the display under the
//! test output folder (`target/tmp/screenshots/`).

mod driver;
mod engine;
#[allow(dead_code)]
#[path = "../../../engine/tests/all/fleet.rs"]
mod fleet;

mod containers;
mod hosts;
mod notifications;
mod overview;
mod plugins;
mod run;
mod schedules;
mod swarm;

/// The engine on a test's data folder, as the app opens it.
pub use engine::open as engine;

/// Starts the test build of the app on `home`; `name` names the test's
/// screenshots (under the test output folder).
pub fn open(home: &std::path::Path, name: &str) -> driver::Window {
    driver::Window::launch(driver::Launch {
        app: std::path::Path::new(env!("CARGO_BIN_EXE_capstan-app")),
        home,
        shots: std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
        name,
        env: Vec::new(),
    })
}
