//! A small WebDriver client for the window: start a display, tauri-driver
//! and the app; find, click, type, read, wait; screenshots of the display
//! (WebDriver's own screenshot call hangs under WebKitWebDriver here).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fleet::free_port;

/// What to start and where its screenshots go.
pub struct Launch<'a> {
    /// The app binary.
    pub app: &'a Path,
    /// Its data folder (`CAPSTAN_HOME`).
    pub home: &'a Path,
    /// Where screenshots are saved.
    pub shots: PathBuf,
    /// Names the screenshots.
    pub name: &'a str,
    /// More environment for the app (through tauri-driver).
    pub env: Vec<(&'a str, &'a str)>,
}

/// How long a step waits for the window to show what it expects.
const PATIENCE: Duration = Duration::from_secs(30);

/// Processes that die with the test. Each is first asked to stop
/// (SIGTERM), which tauri-driver answers by killing the WebKitWebDriver it
/// started (a plain kill left that running after every test), then killed.
struct Kill(Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for child in self.0.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether a live X server holds display `n`. A server that was killed
/// leaves its socket and lock file behind; X itself takes such a display
/// over, so only a lock naming a live process counts.
fn display_taken(n: u32) -> bool {
    std::fs::read_to_string(format!("/tmp/.X{n}-lock"))
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

/// Starts Xvfb on a display of its own; returns `:N`.
fn start_display(kill: &mut Kill) -> String {
    for n in 90 + std::process::id() % 50..200 {
        if display_taken(n) {
            continue;
        }
        let mut child = Command::new("Xvfb")
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
        // Ready once the lock is ours (a stale socket may already exist);
        // gone if another test took the display first.
        let ours = child.id().to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        let ready = loop {
            let lock = std::fs::read_to_string(format!("/tmp/.X{n}-lock")).unwrap_or_default();
            if lock.trim() == ours && Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                break true;
            }
            if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if ready {
            kill.0.push(child);
            return format!(":{n}");
        }
        let _ = child.kill();
        let _ = child.wait();
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
pub struct Window {
    port: u16,
    session: String,
    display: String,
    app: PathBuf,
    name: String,
    shots_dir: PathBuf,
    shots: usize,
    _kill: Kill,
}

impl Window {
    /// Starts `launch.app` on its own display, behind tauri-driver.
    pub fn launch(launch: Launch<'_>) -> Window {
        let home = launch.home;
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
            .envs(launch.env.iter().copied())
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
        let mut window = Window {
            port,
            session: String::new(),
            display,
            app: launch.app.to_path_buf(),
            name: launch.name.to_string(),
            shots_dir: launch.shots,
            shots: 0,
            _kill: kill,
        };
        window.start_session();
        window
    }

    fn start_session(&mut self) {
        let created = webdriver(
            self.port,
            "POST",
            "/session",
            Some(json!({
                "capabilities": { "alwaysMatch": { "tauri:options": { "application": self.app } } }
            })),
        );
        self.session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
    }

    /// Closes the app and starts it again (same display and data folder).
    pub fn restart(&mut self) {
        self.call("DELETE", "", None);
        self.start_session();
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        webdriver(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        )
    }

    fn find_now(&self, css: &str) -> Option<String> {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found["value"]
            .as_object()
            .and_then(|o| o.get(ELEMENT_KEY))
            .and_then(Value::as_str)
            .map(String::from)
    }

    /// The first element matching `css`, once there is one.
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(id) = self.find_now(css) {
                return id;
            }
            assert!(
                Instant::now() < deadline,
                "nothing matched `{css}`; the page says: {}",
                self.page_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether something matches `css` now.
    pub fn exists(&self, css: &str) -> bool {
        self.find_now(css).is_some()
    }

    /// Clicks the first element matching `css`.
    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Replaces the text of the input matching `css` with `text`.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Picks `value` in the `<select>` matching `css`.
    pub fn select(&self, css: &str, value: &str) {
        self.find(&format!("{css} option[value='{value}']"));
        self.script(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
             s.dispatchEvent(new Event('change', { bubbles: true }));",
            json!([css, value]),
        );
    }

    /// Runs JavaScript in the page; returns its value.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )["value"]
            .clone()
    }

    /// The text of the first element matching `css`, once it has some.
    pub fn text(&self, css: &str) -> String {
        self.wait_text(css, |t| !t.is_empty())
    }

    /// The text of the first element matching `css`, once `ready` holds.
    /// It is the element's rendered text (`innerText`): WebKitWebDriver's
    /// own text call leaves out cells cut with an ellipsis.
    pub fn wait_text(&self, css: &str, ready: impl Fn(&str) -> bool) -> String {
        self.wait_text_within(css, PATIENCE, ready)
    }

    /// [`Window::wait_text`] for a step that waits on something slower than
    /// the window (containers starting on a loaded machine).
    pub fn wait_text_within(
        &self,
        css: &str,
        patience: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + patience;
        let mut last = String::new();
        loop {
            let text = self.script(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                json!([css]),
            );
            if let Some(text) = text.as_str() {
                last = text.trim().to_string();
                if ready(&last) {
                    return last;
                }
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` never got the expected text; last: {last:?}; the page says: {}",
                self.page_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Everything the page shows, for failure messages.
    pub fn page_text(&self) -> String {
        self.script(
            "const m = document.querySelector('main') || document.body; return m.innerText;",
            json!([]),
        )
        .as_str()
        .unwrap_or_default()
        .chars()
        .take(2_000)
        .collect()
    }

    /// The window's size as WebDriver reports it.
    pub fn size(&self) -> (f64, f64) {
        let rect = self.call("GET", "/window/rect", None);
        (
            rect["value"]["width"].as_f64().unwrap_or_default(),
            rect["value"]["height"].as_f64().unwrap_or_default(),
        )
    }

    /// Resizes the window.
    pub fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// Saves the display as `<test>-<n>-<what>.png`; returns its path.
    pub fn screenshot(&mut self, what: &str) -> PathBuf {
        // Let the last change paint.
        std::thread::sleep(Duration::from_millis(300));
        let dir = &self.shots_dir;
        std::fs::create_dir_all(dir).unwrap();
        self.shots += 1;
        let path = dir.join(format!("{}-{}-{what}.png", self.name, self.shots));
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(&path)
            .status()
            .expect("ImageMagick's import");
        assert!(status.success());
        assert!(
            std::fs::metadata(&path).unwrap().len() > 10_000,
            "{} looks empty",
            path.display()
        );
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
