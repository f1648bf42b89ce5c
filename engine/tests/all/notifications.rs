//! Notifications against a real HTTP receiver on loopback: rules pick the
//! job ends, the `notify` plugin sends them through its `http` grant (the
//! channel's host, granted as the channel is added), a signed webhook's
//! signature holds, a failing channel is retried with backoff, and every
//! attempt is recorded without the channel's secret URL.

use capstan_engine::Capstan;
use capstan_engine::capability::{Capability, Grant};
use capstan_wire::Actor;
use capstan_wire::clock::now_ms;
use capstan_wire::notifications::{ChannelKind, ChannelSpec, DeliveryState, NotifyOn, RuleSpec};
use serde_json::{Value, json};

use crate::events::receiver;
use crate::support::{engine, install_probe, open, run};

fn me() -> Actor {
    Actor::User("tester".into())
}

fn slack(name: &str, secret: &str) -> ChannelSpec {
    ChannelSpec {
        name: name.into(),
        kind: ChannelKind::Slack,
        url: None,
        url_secret: Some(secret.into()),
        signing_secret: None,
        to: Vec::new(),
    }
}

fn rule(name: &str, on: NotifyOn, channel: &str) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        on,
        channel: channel.into(),
        plugin: None,
        playbook: None,
        schedule: None,
        group: None,
    }
}

/// Runs `plugin action` and returns the job as recorded.
async fn job_of(
    capstan: &Capstan,
    plugin: &str,
    action: &str,
    params: Value,
) -> capstan_wire::jobs::JobRecord {
    let (report, _) = run(capstan, plugin, action, params).await;
    capstan.job(report.job_id).unwrap()
}

#[tokio::test]
async fn a_failed_job_notifies_slack_and_a_signed_webhook_once_each() {
    let (dir, capstan) = engine();
    install_probe(&capstan, &[Capability::Kv]).await;
    let (port, seen) =
        receiver("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
    let slack_url = format!("http://127.0.0.1:{port}/services/T0/B0/SECRETTOKEN");
    capstan.set_secret("slack_url", &slack_url, &me()).unwrap();
    capstan.set_secret("sign_key", "k3y", &me()).unwrap();
    let channel = capstan
        .add_channel(slack("ops", "slack_url"), &me())
        .await
        .unwrap();
    assert_eq!(channel.host, format!("127.0.0.1:{port}"));
    let notify = capstan.plugin("notify").await.unwrap();
    assert_eq!(
        notify
            .grants
            .http_hosts()
            .map(|h| h.to_string())
            .collect::<Vec<_>>(),
        [format!("127.0.0.1:{port}")],
        "the plugin holds exactly the channel's host"
    );
    capstan
        .add_channel(
            ChannelSpec {
                name: "audit".into(),
                kind: ChannelKind::Webhook,
                url: Some(format!("http://127.0.0.1:{port}/hook")),
                url_secret: None,
                signing_secret: Some("sign_key".into()),
                to: Vec::new(),
            },
            &me(),
        )
        .await
        .unwrap();
    capstan
        .add_rule(rule("failures", NotifyOn::Failed, "ops"), &me())
        .unwrap();
    capstan
        .add_rule(
            RuleSpec {
                plugin: Some("probe".into()),
                ..rule("probe-ends", NotifyOn::Finished, "audit")
            },
            &me(),
        )
        .unwrap();

    let failed = job_of(&capstan, "probe", "panic", json!({})).await;
    let fine = job_of(&capstan, "debug", "msg", json!({ "msg": "hi" })).await;
    assert_eq!(capstan.queue_notifications(&failed).unwrap(), 2);
    assert_eq!(
        capstan.queue_notifications(&fine).unwrap(),
        0,
        "no rule matches"
    );
    assert_eq!(
        capstan.queue_notifications(&failed).unwrap(),
        0,
        "an end seen twice notifies once"
    );
    // Two services on one store send at once: each delivery is claimed by
    // one of them, and attempted once.
    let second = open(&dir);
    let now = now_ms();
    let (first_made, second_made) = tokio::join!(
        capstan.send_due_notifications(now),
        second.send_due_notifications(now)
    );
    assert_eq!(first_made.unwrap() + second_made.unwrap(), 2);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let to_slack = seen
        .iter()
        .find(|s| s.head.starts_with("POST /services/T0/B0/SECRETTOKEN "))
        .expect("slack was sent to");
    let text: Value = serde_json::from_slice(&to_slack.body).unwrap();
    let text = text["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("job {} `probe.panic`", failed.id)) && text.contains("failed"),
        "{text}"
    );
    let to_hook = seen
        .iter()
        .find(|s| s.head.starts_with("POST /hook "))
        .expect("the webhook was sent to");
    let body: Value = serde_json::from_slice(&to_hook.body).unwrap();
    assert_eq!(body["job"]["job"], failed.id);
    assert_eq!(body["rule"], "probe-ends");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"k3y");
    let tag = ring::hmac::sign(&key, &to_hook.body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        to_hook
            .head
            .to_ascii_lowercase()
            .contains(&format!("x-capstan-signature-256: sha256={hex}")),
        "{}",
        to_hook.head
    );

    let deliveries = capstan.notification_deliveries(10).unwrap();
    assert_eq!(deliveries.len(), 2);
    for delivery in &deliveries {
        assert_eq!(delivery.state, DeliveryState::Sent, "{delivery:?}");
        assert_eq!(delivery.history.len(), 1);
        assert!(delivery.history[0].ok);
    }
}

#[tokio::test]
async fn a_failing_channel_is_retried_with_backoff_and_its_url_is_never_recorded() {
    let (dir, capstan) = engine();
    let (port, seen) = receiver(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\nconnection: close\r\n\r\nboom",
    )
    .await;
    let url = format!("http://127.0.0.1:{port}/services/SECRETTOKEN");
    capstan.set_secret("slack_url", &url, &me()).unwrap();
    capstan
        .add_channel(slack("ops", "slack_url"), &me())
        .await
        .unwrap();
    capstan
        .add_rule(rule("all", NotifyOn::Finished, "ops"), &me())
        .unwrap();
    let job = job_of(&capstan, "debug", "msg", json!({ "msg": "hi" })).await;
    assert_eq!(capstan.queue_notifications(&job).unwrap(), 1);

    let start = now_ms();
    assert_eq!(capstan.send_due_notifications(start).await.unwrap(), 1);
    let delivery = &capstan.notification_deliveries(1).unwrap()[0];
    assert_eq!(delivery.state, DeliveryState::Pending);
    assert_eq!(delivery.next_attempt_ms, Some(start + 2_000));
    assert_eq!(
        capstan.send_due_notifications(start + 1_000).await.unwrap(),
        0,
        "not due before its delay"
    );
    // 2 s, 4 s, 8 s, 16 s later: the last attempt gives up.
    let mut at = start;
    for delay in [2_000, 4_000, 8_000, 16_000] {
        at += delay;
        assert_eq!(capstan.send_due_notifications(at).await.unwrap(), 1);
    }
    let delivery = &capstan.notification_deliveries(1).unwrap()[0];
    assert_eq!(delivery.state, DeliveryState::Failed);
    assert_eq!(delivery.attempts, 5);
    assert_eq!(delivery.history.len(), 5);
    assert_eq!(
        seen.lock().unwrap().len(),
        5,
        "each attempt reached the receiver"
    );
    for attempt in &delivery.history {
        assert!(!attempt.ok);
        assert!(
            attempt.detail.contains("answered 500: boom"),
            "{}",
            attempt.detail
        );
        assert!(
            !attempt.detail.contains("SECRETTOKEN"),
            "{}",
            attempt.detail
        );
    }
    assert_eq!(
        capstan.send_due_notifications(at + 60_000).await.unwrap(),
        0
    );
    drop(capstan);
    let mut stored = std::fs::read(dir.path().join("capstan.db")).unwrap();
    stored.extend(std::fs::read(dir.path().join("capstan.db-wal")).unwrap_or_default());
    assert!(
        stored.windows(12).any(|w| w == b"answered 500"),
        "the attempts are in the files looked at"
    );
    assert!(
        !stored.windows(11).any(|w| w == b"SECRETTOKEN"),
        "the channel's URL is on disk in clear"
    );
}

#[tokio::test]
async fn channels_and_rules_refuse_what_cannot_work_and_hosts_are_taken_back() {
    let (_dir, capstan) = engine();
    capstan
        .set_secret("bad_url", "ftp://127.0.0.1/x", &me())
        .unwrap();
    capstan
        .set_secret("good_url", "http://127.0.0.1:9/y", &me())
        .unwrap();
    for (spec, why) in [
        (
            ChannelSpec {
                url: Some("http://127.0.0.1/".into()),
                url_secret: None,
                ..slack("a", "x")
            },
            "from a secret",
        ),
        (slack("a", "missing"), "missing"),
        (slack("a", "bad_url"), "scheme `ftp`"),
        (
            ChannelSpec {
                name: "a".into(),
                kind: ChannelKind::Webhook,
                url: Some("http://127.0.0.1:9/".into()),
                url_secret: None,
                signing_secret: Some("missing".into()),
                to: Vec::new(),
            },
            "missing",
        ),
        (slack("bad name!", "good_url"), "name"),
    ] {
        let err = capstan.add_channel(spec, &me()).await.unwrap_err();
        assert!(err.to_string().contains(why), "{why}: {err}");
    }
    let err = capstan
        .add_rule(rule("r", NotifyOn::Failed, "nowhere"), &me())
        .unwrap_err();
    assert!(err.to_string().contains("no channel `nowhere`"), "{err}");

    capstan
        .add_channel(slack("ops", "good_url"), &me())
        .await
        .unwrap();
    capstan
        .add_rule(rule("r", NotifyOn::Failed, "ops"), &me())
        .unwrap();
    let err = capstan.remove_channel("ops", &me()).await.unwrap_err();
    assert!(err.to_string().contains("used by rule(s) r"), "{err}");
    capstan.remove_rule("r", &me()).unwrap();
    capstan.remove_channel("ops", &me()).await.unwrap();
    let notify = capstan.plugin("notify").await.unwrap();
    assert_eq!(
        notify.grants.http_hosts().count(),
        0,
        "its host was taken back"
    );
    assert!(
        !notify
            .grants
            .grants()
            .any(|g| g == Grant::Http("127.0.0.1:9".parse().unwrap()))
    );
}

/// aiosmtpd (PyPI), in a virtualenv of the target folder made on first use.
fn aiosmtpd_python() -> std::path::PathBuf {
    let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("aiosmtpd-venv");
    let python = venv.join("bin/python");
    let ready = |python: &std::path::Path| {
        std::process::Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ready(&python) {
        let made = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 runs (./dev test installs python3-venv)");
        assert!(made.success(), "python3 -m venv failed");
        let installed = std::process::Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "aiosmtpd==1.4.*"])
            .status()
            .unwrap();
        assert!(installed.success(), "pip could not install aiosmtpd");
    }
    python
}

/// A real SMTP server (aiosmtpd) on 127.0.0.1 that requires STARTTLS with
/// a self-signed certificate; what it receives is printed on its stdout.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    cert: std::path::PathBuf,
    received: std::sync::Arc<std::sync::Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new(aiosmtpd_python())
            .args([
                "-u",
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
            ])
            .arg("--tlscert")
            .arg(&cert)
            .arg("--tlskey")
            .arg(&key)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let received = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = received.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd never listened"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        SmtpServer {
            child,
            port,
            cert,
            received,
            _dir: dir,
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_failed_job_is_mailed_over_starttls_to_a_real_smtp_server() {
    let server = tokio::task::spawn_blocking(SmtpServer::start)
        .await
        .unwrap();
    let (_dir, capstan) = engine();
    let email = ChannelSpec {
        name: "mail".into(),
        kind: ChannelKind::Email,
        url: None,
        url_secret: None,
        signing_secret: None,
        to: vec!["ops@example.com".into(), "lead@example.com".into()],
    };
    let err = capstan.add_channel(email.clone(), &me()).await.unwrap_err();
    assert!(
        err.to_string().contains("no SMTP server is configured"),
        "{err}"
    );
    let smtp = capstan_wire::notifications::SmtpSettings {
        host: "localhost".into(),
        port: server.port,
        security: capstan_wire::notifications::SmtpSecurity::Required,
        from: "capstan@example.com".into(),
        user: None,
        password_secret: None,
        ca_cert: Some(server.cert.display().to_string()),
    };
    capstan.set_smtp(smtp.clone(), &me()).unwrap();
    capstan.add_channel(email, &me()).await.unwrap();
    capstan
        .add_rule(rule("failures", NotifyOn::Failed, "mail"), &me())
        .unwrap();
    install_probe(&capstan, &[]).await;
    let failed = job_of(&capstan, "probe", "panic", json!({})).await;
    assert_eq!(capstan.queue_notifications(&failed).unwrap(), 1);
    capstan.send_due_notifications(now_ms()).await.unwrap();
    let delivery = &capstan.notification_deliveries(1).unwrap()[0];
    assert_eq!(delivery.state, DeliveryState::Sent, "{delivery:?}");
    assert!(
        delivery.history[0].detail.starts_with("250"),
        "{delivery:?}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let message = loop {
        let text = server.received.lock().unwrap().clone();
        if text.contains("END MESSAGE") {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "aiosmtpd printed: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        message.contains(&format!(
            "Subject: [Capstan] job {} `probe.panic` failed",
            failed.id
        )),
        "{message}"
    );
    assert!(
        message.contains("To: ops@example.com, lead@example.com"),
        "{message}"
    );
    // aiosmtpd records the recipients of the envelope.
    assert!(message.contains("lead@example.com"), "{message}");

    // A server that does not offer STARTTLS is refused when it is required:
    // the plain receiver here answers HTTP, which is not SMTP either way.
    let plain = capstan_wire::notifications::SmtpSettings { port: 1, ..smtp };
    let mail = capstan_engine::smtp::Mail {
        to: vec!["ops@example.com".into()],
        subject: "x".into(),
        body: "y".into(),
    };
    let err = capstan_engine::smtp::send(&plain, None, &mail)
        .await
        .unwrap_err();
    assert!(err.contains("could not connect"), "{err}");
}

/// A `dbus-daemon` of the test's own, on a socket in a fresh folder.
struct SessionBus {
    daemon: std::process::Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl SessionBus {
    fn start() -> SessionBus {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let address = format!("unix:path={}", socket.display());
        let daemon = std::process::Command::new("dbus-daemon")
            .args([
                "--session",
                "--nofork",
                "--nopidfile",
                "--address",
                &address,
            ])
            .spawn()
            .expect("dbus-daemon (Debian's dbus-daemon) runs");
        for _ in 0..200 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        SessionBus {
            daemon,
            address,
            _dir: dir,
        }
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Stands in for a desktop's notification service on `address`: answers
/// every `Notify` with id 41 and hands its summary and body to the test.
fn notification_service(address: &str) -> std::sync::mpsc::Receiver<(String, String)> {
    use capstan_engine::desktop::dbus::{Connection, Kind, Value};
    let mut bus = Connection::open(address).unwrap();
    bus.request_name(capstan_engine::desktop::SERVICE).unwrap();
    let (shown, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(call) = bus.read() {
            if call.kind != Kind::Call || call.member.as_deref() != Some("Notify") {
                continue;
            }
            let text = |at: usize| match call.body.get(at) {
                Some(Value::Str(s)) => s.clone(),
                _ => String::new(),
            };
            let _ = shown.send((text(3), text(4)));
            if bus.reply(&call, &[Value::U32(41)]).is_err() {
                break;
            }
        }
    });
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn a_desktop_channel_shows_a_job_s_end_through_the_session_bus_and_says_when_it_cannot() {
    let (_dir, capstan) = engine();
    let desktop = ChannelSpec {
        kind: ChannelKind::Desktop,
        ..slack("me", "unused")
    };
    let refused = capstan
        .add_channel(desktop.clone(), &me())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("takes no URL"), "{refused}");
    let desktop = ChannelSpec {
        url_secret: None,
        ..desktop
    };
    capstan.add_channel(desktop, &me()).await.unwrap();
    capstan
        .add_rule(rule("mine", NotifyOn::Finished, "me"), &me())
        .unwrap();
    let job = job_of(&capstan, "debug", "msg", json!({ "msg": "hi" })).await;
    assert_eq!(capstan.queue_notifications(&job).unwrap(), 1);
    let attempt_says = |capstan: &Capstan| {
        let delivery = capstan.notification_deliveries(1).unwrap().remove(0);
        (
            delivery.state,
            delivery.history.last().unwrap().detail.clone(),
        )
    };

    // No session bus at all, then a bus with no notification service:
    // each attempt records why.
    // SAFETY: this test's process (nextest runs each test alone) is the
    // only reader of the variable.
    #[allow(unsafe_code)]
    unsafe {
        std::env::remove_var("DBUS_SESSION_BUS_ADDRESS")
    };
    let start = now_ms();
    assert_eq!(capstan.send_due_notifications(start).await.unwrap(), 1);
    let (state, detail) = attempt_says(&capstan);
    assert_eq!(state, DeliveryState::Pending);
    assert!(detail.contains("no session bus"), "{detail}");
    let bus = SessionBus::start();
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &bus.address)
    };
    assert_eq!(
        capstan.send_due_notifications(start + 2_000).await.unwrap(),
        1
    );
    let (_, detail) = attempt_says(&capstan);
    assert!(detail.contains("no notification service"), "{detail}");

    // The window shows it, and from then on the service leaves desktop
    // deliveries to the window, until the window has not been seen for
    // a while.
    let shown = notification_service(&bus.address);
    let window = start + 6_000;
    assert_eq!(
        capstan
            .send_due_desktop_notifications(window)
            .await
            .unwrap(),
        1
    );
    let (state, detail) = attempt_says(&capstan);
    assert_eq!(state, DeliveryState::Sent, "{detail}");
    assert_eq!(detail, "shown (notification 41)");
    let (summary, body) = shown
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(summary, format!("Capstan: job {} ok", job.id));
    assert!(body.contains("`debug.msg`"), "{body}");

    let next = job_of(&capstan, "debug", "msg", json!({ "msg": "again" })).await;
    assert_eq!(capstan.queue_notifications(&next).unwrap(), 1);
    let due = window + 1_000;
    assert_eq!(capstan.send_due_notifications(due).await.unwrap(), 0);
    let gone = window + capstan_engine::WINDOW_FRESH_MS + 1;
    assert_eq!(capstan.send_due_notifications(gone).await.unwrap(), 1);
    let (summary, _) = shown
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(summary, format!("Capstan: job {} ok", next.id));
}
