//! The real window under Xvfb, driven through WebDriver (tauri-driver in
//! front of WebKitWebDriver), on a store seeded through the engine. Each
//! test saves a screenshot of the display under the test output folder.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Processes that die with the test.
struct Kill(Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for child in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Xvfb on a display of its own; returns `:N`.
fn start_display(kill: &mut Kill) -> String {
    for n in 90 + std::process::id() % 50..200 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let child = Command::new("Xvfb")
            .args([
                format!(":{n}"),
                "-screen".into(),
                "0".into(),
                "1280x800x24".into(),
                "-nolisten".into(),
                "tcp".into(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (./dev setup installs it)");
        kill.0.push(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            assert!(Instant::now() < deadline, "Xvfb :{n} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        return format!(":{n}");
    }
    panic!("no free X display between :90 and :199");
}

/// One WebDriver call: `method path` with an optional JSON body. An empty
/// or cut answer (tauri-driver still starting the native driver) is tried
/// again, a few times.
fn webdriver(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut last = String::new();
    for _ in 0..20 {
        match exchange(port, method, path, &body) {
            Ok(value) => return value,
            Err(answer) => last = answer,
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{method} {path}: no JSON answer: {last}");
}

fn exchange(port: u16, method: &str, path: &str, body: &str) -> Result<Value, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let Some((_, json_text)) = answer.split_once("\r\n\r\n") else {
        return Err(answer);
    };
    // tauri-driver may answer chunked: take the JSON object inside.
    let (Some(start), Some(end)) = (json_text.find('{'), json_text.rfind('}')) else {
        return Err(answer);
    };
    serde_json::from_str(&json_text[start..=end]).map_err(|e| format!("{e}: {answer}"))
}

/// The key WebDriver names a found element by.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session on the app, behind tauri-driver, on its own display.
struct Window {
    port: u16,
    session: String,
    display: String,
    _kill: Kill,
}

impl Window {
    fn open(home: &Path) -> Window {
        let mut kill = Kill(Vec::new());
        let display = start_display(&mut kill);
        let port = free_port();
        let driver = Command::new(tauri_driver())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &free_port().to_string(),
            ])
            .env("DISPLAY", &display)
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("CAPSTAN_HOME", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver (./dev setup installs it)");
        kill.0.push(driver);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        let created = webdriver(
            port,
            "POST",
            "/session",
            Some(json!({
                "capabilities": { "alwaysMatch": { "tauri:options": { "application": env!("CARGO_BIN_EXE_capstan-app") } } }
            })),
        );
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        Window {
            port,
            session,
            display,
            _kill: kill,
        }
    }

    /// The text of the first element matching `css`, once it has some.
    fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = webdriver(
                self.port,
                "POST",
                &format!("/session/{}/element", self.session),
                Some(json!({ "using": "css selector", "value": css })),
            );
            if let Some(id) = found["value"]
                .as_object()
                .and_then(|o| o.get(ELEMENT_KEY))
                .and_then(Value::as_str)
            {
                let text = webdriver(
                    self.port,
                    "GET",
                    &format!("/session/{}/element/{id}/text", self.session),
                    None,
                );
                let text = text["value"].as_str().unwrap_or_default().to_string();
                if !text.is_empty() {
                    return text;
                }
            }
            assert!(
                Instant::now() < deadline,
                "nothing matched `{css}`: {found}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Saves the display as a PNG (WebDriver's own screenshot hangs here).
    fn screenshot(&self, name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(&path)
            .status()
            .expect("ImageMagick's import");
        assert!(status.success());
        path
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            webdriver(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            )
        });
    }
}

fn tauri_driver() -> PathBuf {
    let cargo_bin =
        Path::new(&std::env::var("HOME").unwrap_or_default()).join(".cargo/bin/tauri-driver");
    if cargo_bin.exists() {
        cargo_bin
    } else {
        PathBuf::from("tauri-driver")
    }
}

#[test]
fn the_overview_shows_the_engines_hosts_and_jobs() {
    let home = tempfile::tempdir().unwrap();
    seed(home.path());
    let window = Window::open(home.path());
    assert_eq!(window.text("h1"), "Overview");
    let hosts = window.text(".card:nth-child(1)");
    assert!(
        hosts.contains("HOSTS") && hosts.contains('2') && hosts.contains("prod: 1"),
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
    let shot = window.screenshot("overview");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "{}",
        shot.display()
    );
}

/// Two hosts (prod and dev) and one finished job, through the engine.
fn seed(home: &Path) {
    use capstan_engine::inventory::{Host, HostAuth};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let bundled = capstan_bundled::PLUGINS
            .iter()
            .map(|p| capstan_engine::BundledPlugin {
                name: p.name,
                wasm: p.wasm,
            });
        let capstan = capstan_engine::Capstan::open(capstan_engine::Home::at(home).unwrap())
            .unwrap()
            .with_bundled(bundled);
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
