//! A test plugin with well-behaved actions and hostile ones. The host must
//! stop every hostile action with a clear error and keep serving. It also
//! sends HTTP requests (`fetch`) and records the events it is handed in its
//! `kv` store (`event-<id>`), refusing those whose data says `"refuse"`.

use capstan_plugin_sdk::{
    Action, Capability, Context, Error, Event, EventKind, Manifest, Outcome, Plugin, Request, http,
    kv, log, register_plugin, remote,
};
use std::hint::black_box;

struct Probe;

const ACTIONS: &[(&str, &str)] = &[
    ("echo", "Report ok with the params as data."),
    ("counter", "Increment a counter in kv and report it."),
    ("exec", "Run params.argv on the target."),
    (
        "log-then-exec",
        "Write one log line, then run params.argv on the target.",
    ),
    (
        "exec-elsewhere",
        "Try to run a command on params.host (default db-prod-1), which may be outside the run.",
    ),
    ("loop", "Spin forever."),
    ("alloc", "Allocate until stopped."),
    ("recurse", "Recurse until the stack runs out."),
    ("panic", "Panic."),
    ("log-flood", "Write log lines forever."),
    ("stdout-flood", "Print to stdout forever."),
    (
        "ambient",
        "Report what WASI lets it see: files, environment, clock, network.",
    ),
    ("huge-outcome", "Return an 8 MiB summary."),
    (
        "kv-fill",
        "Write params.count kv keys of params.size bytes each.",
    ),
    (
        "escapes",
        "Say things with terminal escape sequences.\u{1b}[2K\u{1b}[1A grants: none",
    ),
    (
        "log-lines",
        "Write params.count numbered log lines, then report ok.",
    ),
    (
        "fetch",
        "Send params.method (default GET) to params.url with params.body and params.headers; report the answer.",
    ),
    (
        "events",
        "Report the ids of the events it handled, in order.",
    ),
];

impl Plugin for Probe {
    fn manifest() -> Manifest {
        let mut manifest = Manifest::new(
            "probe",
            env!("CARGO_PKG_VERSION"),
            "Test plugin: behaves and misbehaves.",
        )
        .capability(Capability::Kv)
        .capability(Capability::RemoteExec)
        .capability(Capability::Local)
        .capability(Capability::Http)
        .subscribe(EventKind::JobFinished)
        .subscribe(EventKind::ContainerChanged)
        .subscribe(EventKind::Announcement);
        // Its actions take any params: it decodes them itself.
        for (name, summary) in ACTIONS {
            manifest = manifest.action(
                Action::new(name, summary).params_schema(serde_json::json!({ "type": "object" })),
            );
        }
        // A careless plugin: it repeats a secret param everywhere it can.
        manifest.action(
            Action::new("login", "Log in with params.password, and say it.").params_schema(
                serde_json::json!({
                    "type": "object",
                    "properties": {
                        "user": { "type": "string" },
                        "password": { "type": "string", "secret": true }
                    },
                    "required": ["user", "password"]
                }),
            ),
        )
    }

    fn run(request: Request, ctx: &Context) -> Result<Outcome, Error> {
        match request.action.as_str() {
            "echo" => Ok(Outcome::ok("echo").with_data(request.raw_params()?)),
            "log-lines" => {
                let params = request.raw_params()?;
                let count = params["count"].as_u64().unwrap_or(100);
                for n in 1..=count {
                    log::info(&format!(
                        "line {n} of {count}: the quick brown fox jumps over the lazy dog"
                    ));
                }
                Ok(Outcome::ok(format!("wrote {count} lines")))
            }
            "login" => {
                #[derive(serde::Deserialize)]
                struct Login {
                    user: String,
                    password: String,
                }
                let login = request.params::<Login>()?;
                log::info(&format!(
                    "logging in as {} with {}",
                    login.user, login.password
                ));
                Ok(Outcome::changed(format!("password was {}", login.password))
                    .with_data(serde_json::json!({ "echo": login.password })))
            }
            "kv-fill" => {
                #[derive(serde::Deserialize)]
                struct Fill {
                    count: u32,
                    size: usize,
                }
                let fill = request.params::<Fill>()?;
                let value = vec![b'x'; fill.size];
                for n in 0..fill.count {
                    kv::set(&format!("fill-{n}"), &value)?;
                }
                Ok(Outcome::changed(format!("wrote {} keys", fill.count)))
            }
            "counter" => {
                let count = match kv::get("count")? {
                    Some(bytes) => String::from_utf8_lossy(&bytes).parse::<u64>().unwrap_or(0),
                    None => 0,
                } + 1;
                kv::set("count", count.to_string().as_bytes())?;
                log::info(&format!("count is now {count}"));
                Ok(Outcome::changed(format!("count={count}"))
                    .with_data(serde_json::json!({ "count": count })))
            }
            "exec" => {
                #[derive(serde::Deserialize)]
                struct Exec {
                    argv: Vec<String>,
                }
                let argv = request.params::<Exec>()?.argv;
                let out = remote::Command::new(argv).run(&ctx.target)?;
                Ok(Outcome::changed(out.stdout_text().trim().to_string()))
            }
            "log-then-exec" => {
                #[derive(serde::Deserialize)]
                struct Exec {
                    argv: Vec<String>,
                }
                let argv = request.params::<Exec>()?.argv;
                log::info("about to run the command");
                let out = remote::Command::new(argv).run(&ctx.target)?;
                Ok(Outcome::changed(out.stdout_text().trim().to_string()))
            }
            "exec-elsewhere" => {
                #[derive(serde::Deserialize)]
                struct Elsewhere {
                    host: Option<String>,
                }
                let host = request.params::<Elsewhere>()?.host;
                let host = host.unwrap_or_else(|| "db-prod-1".into());
                let out = remote::Command::new(["echo", "reached"]).run(&host)?;
                Ok(Outcome::changed(format!("ran on {host}"))
                    .with_data(serde_json::json!({ "stdout": out.stdout_text() })))
            }
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            "recurse" => Ok(Outcome::ok(format!("{}", recurse(black_box(0))))),
            "panic" => panic!("probe panicked on purpose"),
            "log-flood" => loop {
                log::info(
                    "flood flood flood flood flood flood flood flood flood flood flood flood",
                );
            },
            "stdout-flood" => loop {
                println!("stdout flood stdout flood stdout flood stdout flood stdout flood");
            },
            "ambient" => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(u64::MAX);
                Ok(Outcome::ok("ambient").with_data(serde_json::json!({
                    "read_file": std::fs::read_to_string("/etc/hostname").is_ok(),
                    "list_root": std::fs::read_dir("/").is_ok(),
                    "env_vars": std::env::vars().count(),
                    "args": std::env::args().count(),
                    "clock_secs": now,
                    "tcp_connect": std::net::TcpStream::connect("127.0.0.1:22").is_ok(),
                })))
            }
            "escapes" => {
                log::info("\u{1b}]0;owned\u{7}title and \u{1b}[31mred\u{1b}[0m");
                Ok(Outcome::ok("\u{1b}[2K\u{1b}[1Aall good\u{202e}"))
            }
            "huge-outcome" => Ok(Outcome::ok("x".repeat(8 << 20))),
            "fetch" => fetch(&request),
            "events" => {
                let handled = kv::get("handled")?.unwrap_or_default();
                let ids: Vec<u64> = String::from_utf8_lossy(&handled)
                    .split_whitespace()
                    .filter_map(|id| id.parse().ok())
                    .collect();
                Ok(Outcome::ok(format!("{} events", ids.len()))
                    .with_data(serde_json::json!({ "ids": ids })))
            }
            other => Err(Error::UnknownAction(other.into())),
        }
    }

    fn handle(event: Event) -> Result<(), Error> {
        if event.data["refuse"] == true {
            return Err(Error::msg(format!(
                "refusing event {} on purpose",
                event.id
            )));
        }
        if let Some(url) = event.data["notify"].as_str() {
            let answer = http::post_json(url, &event, &[("x-probe", "event")])?;
            if !answer.is_success() {
                return Err(Error::msg(format!("{url} answered {}", answer.status)));
            }
        }
        let mut handled = kv::get("handled")?.unwrap_or_default();
        handled.extend_from_slice(format!("{} ", event.id).as_bytes());
        kv::set("handled", &handled)?;
        kv::set(
            &format!("event-{}", event.id),
            serde_json::to_string(&event).unwrap_or_default().as_bytes(),
        )?;
        Ok(())
    }
}

/// The `fetch` action: one HTTP request, its answer as data.
fn fetch(request: &Request) -> Result<Outcome, Error> {
    #[derive(serde::Deserialize)]
    struct Fetch {
        url: String,
        #[serde(default)]
        method: Option<String>,
        #[serde(default)]
        body: Option<String>,
        #[serde(default)]
        headers: Vec<(String, String)>,
        #[serde(default)]
        timeout_ms: Option<u32>,
    }
    let fetch = request.params::<Fetch>()?;
    let method = match fetch.method.as_deref().unwrap_or("GET") {
        "GET" => http::Method::Get,
        "HEAD" => http::Method::Head,
        "POST" => http::Method::Post,
        "PUT" => http::Method::Put,
        "PATCH" => http::Method::Patch,
        "DELETE" => http::Method::Delete,
        other => return Err(Error::InvalidParams(format!("method `{other}`"))),
    };
    let answer = http::send(&http::Request {
        method,
        url: fetch.url,
        headers: fetch.headers,
        body: fetch.body.unwrap_or_default().into_bytes(),
        timeout_ms: fetch.timeout_ms,
    })?;
    Ok(
        Outcome::ok(format!("status {}", answer.status)).with_data(serde_json::json!({
            "status": answer.status,
            "body": String::from_utf8_lossy(&answer.body),
            "headers": answer.headers,
        })),
    )
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let padding = black_box([depth; 16]);
    recurse(depth + 1) + padding[3]
}

register_plugin!(Probe);
