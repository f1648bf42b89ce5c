//! Contract 0.2: a 0.1 plugin as it shipped still runs; the `http`
//! capability reaches granted hosts only, with bounds; events reach
//! subscribed plugins in order, at least once, with a bounded backlog and a
//! bounded wait for acknowledgements.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use capstan_engine::capability::{Capability, Grant};
use capstan_engine::events::{BusSettings, EventBus};
use capstan_engine::jobs::{FailureKind, ResultStatus};
use capstan_engine::plugin::{ContractVersion, LimitOverrides};
use capstan_wire::events::{Acknowledgements, EventKind};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{engine, install_probe, limit_probe, only, open, run};

/// What the receiver saw of one request.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

/// A real HTTP/1.1 server on 127.0.0.1 answering every request with
/// `answer`, recording what it was sent.
pub(crate) async fn receiver(answer: &'static str) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while buffer.len() < head_end + length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                }
                let body = buffer[head_end..].to_vec();
                log.lock().unwrap().push(Seen { head, body });
                if answer == "silence" {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, seen)
}

const OK_ANSWER: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello";

#[tokio::test]
async fn a_plugin_built_for_0_1_runs_unchanged() {
    let (_dir, capstan) = engine();
    let inspected = capstan
        .inspect_file(capstan_test_fixtures::PROBE_0_1.as_ref())
        .await
        .unwrap();
    assert_eq!(inspected.version, ContractVersion::V0_1);
    assert!(inspected.manifest.subscriptions.is_empty());
    capstan
        .install(
            &inspected,
            capstan_engine::capability::GrantSet::new([
                Capability::Kv,
                Capability::RemoteExec,
                Capability::Local,
            ]),
        )
        .unwrap();
    assert_eq!(capstan.plugin("probe").await.unwrap().api_version, "0.1.0");
    let (report, _) = run(&capstan, "probe", "echo", json!({ "a": 1 })).await;
    assert_eq!(only(&report).data, Some(json!({ "a": 1 })));
    for expected in 1..=2 {
        let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
        assert_eq!(only(&report).data, Some(json!({ "count": expected })));
    }
    let (report, _) = run(
        &capstan,
        "probe",
        "exec",
        json!({ "argv": ["echo", "from 0.1"] }),
    )
    .await;
    assert_eq!(only(&report).summary, "from 0.1");
    capstan.revoke("probe", Capability::Kv).await.unwrap();
    let (report, _) = run(&capstan, "probe", "counter", json!({})).await;
    assert_eq!(only(&report).failure, Some(FailureKind::Denied));
}

#[tokio::test]
async fn a_0_2_plugin_declares_its_subscriptions() {
    let (_dir, capstan) = engine();
    let inspected = capstan
        .inspect_file(capstan_test_fixtures::PROBE.as_ref())
        .await
        .unwrap();
    assert_eq!(inspected.version, ContractVersion::V0_2);
    assert_eq!(
        inspected.manifest.subscriptions,
        [
            EventKind::JobFinished,
            EventKind::ContainerChanged,
            EventKind::Announcement
        ]
    );
    assert!(inspected.requested.contains(&Capability::Http));
    assert!(inspected.requested.contains(&Capability::Events));
}

/// Installs the probe with kv, http and events, and `extra`.
async fn reactive_probe(capstan: &capstan_engine::Capstan, extra: &[&str]) {
    install_probe(
        capstan,
        &[Capability::Kv, Capability::Http, Capability::Events],
    )
    .await;
    for grant in extra {
        capstan
            .grant("probe", grant.parse::<Grant>().unwrap())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn http_reaches_a_granted_host_and_nothing_else() {
    let (_dir, capstan) = engine();
    let (port, seen) = receiver(OK_ANSWER).await;
    reactive_probe(&capstan, &[]).await;
    let fetch = json!({
        "url": format!("http://127.0.0.1:{port}/hook?x=1"),
        "method": "POST",
        "body": "payload",
        "headers": [["X-Signature", "abc"]],
    });

    // Not granted: refused before any connection, naming the grant.
    let (report, _) = run(&capstan, "probe", "fetch", fetch.clone()).await;
    let result = only(&report);
    assert_eq!(result.failure, Some(FailureKind::Denied), "{result:?}");
    assert!(
        result.summary.contains(&format!("http:127.0.0.1:{port}")),
        "{}",
        result.summary
    );
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent");

    // Granted: the request goes out as asked, the answer comes back.
    capstan
        .grant(
            "probe",
            format!("http:127.0.0.1:{port}").parse::<Grant>().unwrap(),
        )
        .await
        .unwrap();
    let (report, _) = run(&capstan, "probe", "fetch", fetch).await;
    let result = only(&report);
    assert_eq!(result.status, ResultStatus::Ok, "{result:?}");
    let data = result.data.clone().unwrap();
    assert_eq!(data["status"], 200);
    assert_eq!(data["body"], "hello");
    let sent = seen.lock().unwrap()[0].clone();
    assert!(
        sent.head.starts_with("POST /hook?x=1 HTTP/1.1\r\n"),
        "{}",
        sent.head
    );
    assert!(
        sent.head.to_ascii_lowercase().contains("x-signature: abc"),
        "{}",
        sent.head
    );
    assert!(
        sent.head.contains(&format!("host: 127.0.0.1:{port}")),
        "{}",
        sent.head
    );
    assert_eq!(sent.body, b"payload");

    // The same host on another port, or another host, is still refused.
    for url in [
        "http://127.0.0.1:1/".to_string(),
        format!("http://localhost:{port}/"),
    ] {
        let (report, _) = run(&capstan, "probe", "fetch", json!({ "url": url })).await;
        assert_eq!(only(&report).failure, Some(FailureKind::Denied), "{url}");
    }
    assert_eq!(seen.lock().unwrap().len(), 1);

    // Revoking `http` takes the host with it.
    capstan.revoke("probe", Capability::Http).await.unwrap();
    let record = capstan.plugin("probe").await.unwrap();
    assert_eq!(record.grants.http_hosts().count(), 0);
}

#[tokio::test]
async fn http_bounds_time_and_size_and_follows_no_redirect() {
    let (_dir, capstan) = engine();
    let (silent, _) = receiver("silence").await;
    let (redirect, _) = receiver(
        "HTTP/1.1 302 Found\r\nlocation: http://elsewhere.example/\r\ncontent-length: 0\r\n\r\n",
    )
    .await;
    // A body with no length, ended by closing: only reading it finds its size.
    let endless: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{}",
            "x".repeat(300_000)
        )
        .into_boxed_str(),
    );
    let (big, _) = receiver(endless).await;
    reactive_probe(
        &capstan,
        &[
            &format!("http:127.0.0.1:{silent}"),
            &format!("http:127.0.0.1:{redirect}"),
            &format!("http:127.0.0.1:{big}"),
        ],
    )
    .await;

    let (report, _) = run(
        &capstan,
        "probe",
        "fetch",
        json!({ "url": format!("http://127.0.0.1:{silent}/"), "timeout_ms": 300 }),
    )
    .await;
    let result = only(&report);
    assert_eq!(result.status, ResultStatus::Failed);
    assert!(
        result.summary.contains("did not answer within 300 ms"),
        "{}",
        result.summary
    );

    let (report, _) = run(
        &capstan,
        "probe",
        "fetch",
        json!({ "url": format!("http://127.0.0.1:{redirect}/") }),
    )
    .await;
    let data = only(&report).data.clone().unwrap();
    assert_eq!(data["status"], 302, "the redirect is the answer: {data}");

    limit_probe(
        &capstan,
        LimitOverrides {
            output_bytes: Some(64 << 10),
            ..LimitOverrides::default()
        },
    )
    .await;
    let (report, _) = run(
        &capstan,
        "probe",
        "fetch",
        json!({ "url": format!("http://127.0.0.1:{big}/") }),
    )
    .await;
    let result = only(&report);
    assert_eq!(result.status, ResultStatus::Failed);
    assert!(
        result.summary.contains("over 65536 bytes"),
        "{}",
        result.summary
    );

    for (url, why) in [
        ("ftp://127.0.0.1/", "scheme `ftp`"),
        ("http://user:pw@127.0.0.1/", "user name"),
    ] {
        let (report, _) = run(&capstan, "probe", "fetch", json!({ "url": url })).await;
        let summary = only(&report).summary.clone();
        assert!(summary.contains(why), "{url}: {summary}");
    }
}

/// A bus that retries quickly, for tests.
fn quick_bus(capstan: Arc<capstan_engine::Capstan>, attempts: u32, backlog: usize) -> EventBus {
    EventBus::new(
        capstan,
        BusSettings {
            backlog,
            attempts,
            first_retry: Duration::from_millis(20),
            max_retry: Duration::from_millis(100),
        },
    )
}

/// Publishes one event and waits (30 s at most) for it to be settled.
async fn settled(bus: &EventBus, kind: EventKind, data: Value) -> Acknowledgements {
    bus.publish_and_wait(kind, None, data, Duration::from_secs(30))
        .await
        .unwrap()
}

/// The event ids the probe recorded, in the order it handled them.
async fn handled(capstan: &capstan_engine::Capstan) -> Vec<u64> {
    let (report, _) = run(capstan, "probe", "events", json!({})).await;
    let data = only(&report).data.clone().unwrap();
    serde_json::from_value(data["ids"].clone()).unwrap()
}

#[tokio::test]
async fn events_reach_a_subscriber_in_order_and_are_acknowledged() {
    let (_dir, capstan) = engine();
    reactive_probe(&capstan, &[]).await;
    let capstan = Arc::new(capstan);
    let bus = quick_bus(capstan.clone(), 3, 100);

    let mut published = Vec::new();
    for n in 0..20 {
        published.push(
            bus.publish(EventKind::JobFinished, None, json!({ "job": n }))
                .unwrap(),
        );
    }
    // Not subscribed: nobody gets it, and a wait on it ends at once.
    let nobody = bus
        .publish_and_wait(
            EventKind::NodeChanged,
            None,
            json!({}),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(nobody.complete() && nobody.acknowledged.is_empty());

    let last = published.last().unwrap();
    let acks = last.acknowledgements(Duration::from_secs(30)).await;
    assert_eq!(acks.acknowledged, ["probe"], "{acks:?}");
    let ids: Vec<u64> = published.iter().map(|p| p.event.id).collect();
    assert_eq!(handled(&capstan).await, ids, "handled once each, in order");
    let status = bus.status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].delivered, 20);
    assert_eq!(status[0].dropped, 0);
}

#[tokio::test]
async fn a_refused_event_is_retried_with_its_id_then_given_up() {
    let (_dir, capstan) = engine();
    reactive_probe(&capstan, &[]).await;
    let capstan = Arc::new(capstan);
    let bus = quick_bus(capstan.clone(), 3, 100);
    let acks = settled(&bus, EventKind::JobFinished, json!({ "refuse": true })).await;
    assert!(acks.acknowledged.is_empty());
    let capstan_wire::events::GaveUp {
        plugin,
        reason: why,
    } = &acks.failed[0];
    assert_eq!(plugin, "probe");
    assert!(why.contains("gave up after 3 attempts"), "{why}");
    assert!(
        why.contains(&format!("refusing event {} on purpose", acks.event)),
        "{why}"
    );
    let status = &bus.status()[0];
    assert_eq!((status.retried, status.dropped), (3, 1));
    // Given up on is settled: a restart does not hand it again.
    assert!(capstan.store().owed_events().unwrap().is_empty());
    // The next event is not held up by the one given up on.
    let acks = settled(&bus, EventKind::JobFinished, json!({})).await;
    assert_eq!(acks.acknowledged, ["probe"]);
}

#[test]
fn events_owed_when_the_service_died_are_handed_again_when_it_starts() {
    let (dir, capstan) = engine();
    // The first service publishes three events and dies before its
    // workers run: its runtime is dropped with them.
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    first.block_on(reactive_probe(&capstan, &[]));
    let capstan = Arc::new(capstan);
    let owed: Vec<u64> = first.block_on(async {
        let bus = quick_bus(capstan.clone(), 3, 100);
        (0..3)
            .map(|n| {
                bus.publish(EventKind::JobFinished, None, json!({ "job": n }))
                    .unwrap()
                    .event
                    .id
            })
            .collect()
    });
    drop(first);
    // An event owed to a plugin that is gone.
    let gone = capstan_wire::events::Event {
        id: 1,
        kind: EventKind::JobFinished,
        at_ms: 0,
        target: None,
        data: json!({}),
    };
    capstan
        .store()
        .owe_event(&["gone".to_string()], &gone, 0)
        .unwrap();
    drop(capstan);

    // The next service, on the same store.
    let capstan = Arc::new(open(&dir));
    let second = tokio::runtime::Runtime::new().unwrap();
    second.block_on(async {
        assert!(handled(&capstan).await.is_empty(), "nothing ran yet");
        let bus = quick_bus(capstan.clone(), 3, 100);
        assert_eq!(bus.resume().unwrap(), 3, "the gone plugin's is struck off");
        let later = bus
            .publish(EventKind::JobFinished, None, json!({ "job": 3 }))
            .unwrap();
        let acks = later.acknowledgements(Duration::from_secs(30)).await;
        assert_eq!(acks.acknowledged, ["probe"], "{acks:?}");
        let mut expected = owed.clone();
        expected.push(later.event.id);
        assert_eq!(handled(&capstan).await, expected, "once each, in order");
        assert!(capstan.store().owed_events().unwrap().is_empty());
        // A third start owes nothing.
        assert_eq!(quick_bus(capstan.clone(), 3, 100).resume().unwrap(), 0);
    });
}

#[tokio::test]
async fn without_the_events_grant_nothing_is_delivered() {
    let (_dir, capstan) = engine();
    reactive_probe(&capstan, &[]).await;
    capstan.revoke("probe", Capability::Events).await.unwrap();
    let capstan = Arc::new(capstan);
    let bus = quick_bus(capstan.clone(), 3, 100);
    let acks = settled(&bus, EventKind::JobFinished, json!({})).await;
    let why = &acks.failed[0].reason;
    assert!(why.contains("not granted `events`"), "{why}");
    assert!(handled(&capstan).await.is_empty());
}

#[tokio::test]
async fn a_backlog_is_bounded_and_a_wait_is_too() {
    let (_dir, capstan) = engine();
    reactive_probe(&capstan, &[]).await;
    let capstan = Arc::new(capstan);
    // One refused event holds the worker in its (long) retry delay.
    let bus = EventBus::new(
        capstan.clone(),
        BusSettings {
            backlog: 2,
            attempts: 2,
            first_retry: Duration::from_secs(60),
            max_retry: Duration::from_secs(60),
        },
    );
    let stuck = bus
        .publish(EventKind::JobFinished, None, json!({ "refuse": true }))
        .unwrap();
    // Wait until the worker took it (its queue is empty again).
    let mut waited = 0;
    while bus.status()[0].retried == 0 && waited < 300 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    let mut later = Vec::new();
    for _ in 0..5 {
        later.push(
            bus.publish(EventKind::Announcement, None, json!({ "topic": "x" }))
                .unwrap(),
        );
    }
    let status = &bus.status()[0];
    assert_eq!((status.backlog, status.dropped), (2, 3), "{status:?}");
    let dropped = later[4].acknowledgements(Duration::ZERO).await;
    assert!(
        dropped.failed[0].reason.contains("backlog is full"),
        "{dropped:?}"
    );
    // A producer's wait ends when it says, with the subscriber pending.
    let started = std::time::Instant::now();
    let acks = stuck.acknowledgements(Duration::from_millis(200)).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(acks.pending, ["probe"]);
}

#[tokio::test]
async fn a_handler_can_notify_a_granted_host() {
    let (_dir, capstan) = engine();
    let (port, seen) = receiver(OK_ANSWER).await;
    reactive_probe(&capstan, &[&format!("http:127.0.0.1:{port}")]).await;
    let capstan = Arc::new(capstan);
    let bus = quick_bus(capstan.clone(), 2, 10);
    let notify = format!("http://127.0.0.1:{port}/notify");
    let acks = settled(
        &bus,
        EventKind::JobFinished,
        json!({ "job": 7, "status": "failed", "notify": notify }),
    )
    .await;
    assert_eq!(acks.acknowledged, ["probe"], "{acks:?}");
    let sent = seen.lock().unwrap()[0].clone();
    let event: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(event["kind"], "job-finished");
    assert_eq!(event["data"]["job"], 7);
    assert_eq!(event["id"], acks.event);
}
