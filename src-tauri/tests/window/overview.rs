//! The Overview on a store seeded through the engine; the window keeps
//! the size it was given.

use capstan_engine::inventory::{Host, HostAuth};
use serde_json::json;

/// Two hosts (prod and dev) and one finished job, through the engine.
fn seed(home: &std::path::Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let capstan = crate::engine(home);
        for (name, env) in [("web-1", "prod"), ("web-2", "dev")] {
            capstan
                .add_host(&Host {
                    name: name.into(),
                    address: "127.0.0.1".into(),
                    port: 22,
                    user: "deploy".into(),
                    auth: HostAuth::Agent,
                    environment: Some(env.into()),
                    groups: vec!["web".into()],
                    vars: Default::default(),
                })
                .unwrap();
        }
        let request = capstan_engine::jobs::RunRequest::new(
            "debug",
            "msg",
            json!({ "msg": "hello" }),
            ["local"],
        );
        capstan
            .run(request, std::sync::Arc::new(|_| {}))
            .await
            .unwrap();
    });
}

#[test]
fn the_overview_shows_the_engines_hosts_and_jobs_and_the_window_keeps_its_size() {
    let home = tempfile::tempdir().unwrap();
    seed(home.path());
    let mut window = crate::open(home.path(), "overview");
    assert_eq!(window.text("h1"), "Overview");
    // WebKitGTK is given only fontconfig's generic families: each font
    // name it cannot find costs a fontconfig search at start.
    let fonts = window.script(
        "return [getComputedStyle(document.body).fontFamily, \
                 getComputedStyle(document.querySelector('nav kbd')).fontFamily];",
        json!([]),
    );
    assert_eq!(fonts, json!(["sans-serif", "monospace"]));
    let hosts = window.text(".card:nth-child(1)");
    assert!(
        hosts.contains("HOSTS") && hosts.contains("dev") && hosts.contains("prod"),
        "{hosts}"
    );
    let services = window.text(".card:nth-child(5)");
    assert!(
        services.contains("SERVICES") && services.contains('—'),
        "outside a swarm: {services}"
    );
    let jobs = window.text("table tbody");
    assert!(
        jobs.contains("debug msg") && jobs.contains("finished"),
        "{jobs}"
    );
    window.screenshot("overview");

    // Keyboard: Ctrl+5 is the Jobs page; Enter on a row opens the job.
    window.script(
        "document.dispatchEvent(new KeyboardEvent('keydown', { key: '5', ctrlKey: true, bubbles: true }));",
        json!([]),
    );
    assert_eq!(window.text("h1"), "Jobs");
    window.wait_text(".jobs-list", |t| t.contains("debug msg"));

    // A size the user gave the window comes back at the next start.
    window.resize(1000, 640);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = window.size();
    assert!(
        (before.0 - 1000.0).abs() < 2.0 && (before.1 - 640.0).abs() < 2.0,
        "the window did not take the size: {before:?}"
    );
    window.restart();
    assert_eq!(window.text("h1"), "Overview");
    let after = window.size();
    assert!(
        (after.0 - before.0).abs() < 2.0 && (after.1 - before.1).abs() < 2.0,
        "the window opened at {after:?}, it was closed at {before:?}"
    );
}

#[test]
fn the_theme_follows_the_systems_dark_setting() {
    let home = tempfile::tempdir().unwrap();
    let mut window = crate::driver::Window::launch(crate::driver::Launch {
        app: std::path::Path::new(env!("CARGO_BIN_EXE_capstan-app")),
        home: home.path(),
        shots: std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
        name: "dark",
        env: vec![("GTK_THEME", "Adwaita:dark")],
    });
    assert_eq!(window.text("h1"), "Overview");
    let background = window.script(
        "return getComputedStyle(document.body).backgroundColor;",
        json!([]),
    );
    assert_eq!(
        background,
        json!("rgb(18, 22, 28)"),
        "the dark theme's background"
    );
    window.screenshot("overview");
}
