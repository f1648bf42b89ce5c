//! What of the desktop shell can be tested without building the window:
//! the window's remembered size, the data its first page is given, and the
//! desktop notifications it shows.
//! (The binary is `main.rs`; it is compiled once, never as a test harness,
//! see `Cargo.toml`.)

pub mod desktop_notifications;
pub mod first_overview;
pub mod window_state;

/// The window's Content-Security-Policy, as `tauri.conf.json` sets it.
#[cfg(test)]
mod content_security_policy {
    fn csp() -> serde_json::Map<String, serde_json::Value> {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        config["app"]["security"]["csp"]
            .as_object()
            .expect("a CSP is set")
            .clone()
    }

    #[test]
    fn scripts_come_only_from_the_app_and_nothing_from_elsewhere() {
        let csp = csp();
        let script = csp["script-src"].as_str().unwrap();
        assert!(!script.contains("unsafe-inline") && !script.contains("'unsafe-eval'"));
        for (directive, sources) in &csp {
            // Tauri's own IPC endpoint is the one URL allowed.
            let sources = sources
                .as_str()
                .unwrap()
                .replace("http://ipc.localhost", "");
            assert!(
                !sources.contains("http:") && !sources.contains("https:") && !sources.contains('*'),
                "{directive} allows a remote origin: {sources}"
            );
        }
        assert_eq!(csp["object-src"], "'none'");
        assert_eq!(csp["base-uri"], "'none'");
    }
}
