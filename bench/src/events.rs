//! Event → subscribed plugin's `handle` (issue 13: p95 < 20 ms), beside a
//! baseline measured in the same run:
//!
//! - baseline: one `handle` call made directly (`Capstan::deliver_event`:
//!   the plugin's record read, a fresh instance, the call, the grant
//!   checks), what any delivery costs at the least;
//! - measured: `EventBus::publish` until the subscriber has acknowledged
//!   (`Published::acknowledgements`): the subscriber lookup, the queue, the
//!   plugin's worker, the same call, and the acknowledgement back. The
//!   handle is called before it returns, so this bounds "event → handle
//!   called" from above.
//!
//! The subscriber is the probe test plugin, whose `handle` writes the event
//! to its `kv` store (two store writes per event). Run it with
//! `cargo run --release -p capstan-bench --bin events`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_engine::capability::{Capability, GrantSet};
use capstan_engine::events::{BusSettings, EventBus};
use capstan_engine::{Capstan, EventDelivery, Home};
use capstan_wire::events::{Event, EventKind};
use serde_json::json;

const ITERATIONS: usize = 500;
const WARMUP: usize = 50;
const ROUNDS: usize = 3;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(measure());
}

async fn measure() {
    let home = tempfile::tempdir().unwrap();
    let capstan = Arc::new(Capstan::open(Home::at(home.path()).unwrap()).unwrap());
    let inspected = capstan
        .inspect_file(capstan_test_fixtures::PROBE.as_ref())
        .await
        .unwrap();
    capstan
        .install(
            &inspected,
            GrantSet::new([Capability::Kv, Capability::Events]),
        )
        .unwrap();
    let bus = EventBus::new(capstan.clone(), BusSettings::default());

    println!(
        "# Event → handle ({ROUNDS} interleaved rounds of {ITERATIONS} events, each after {WARMUP} warm-up)\n"
    );
    let (mut direct, mut through_bus) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        direct.extend(direct_calls(&capstan).await);
        through_bus.extend(bus_round_trips(&bus).await);
    }
    let (d50, d95, d99) = percentiles(&mut direct);
    let (b50, b95, b99) = percentiles(&mut through_bus);
    println!("| measurement | p50 | p95 | p99 |");
    println!("|---|---|---|---|");
    println!(
        "| `handle` called directly (baseline) | {} | {} | {} |",
        ms(d50),
        ms(d95),
        ms(d99)
    );
    println!(
        "| publish → acknowledged through the bus | {} | {} | {} |",
        ms(b50),
        ms(b95),
        ms(b99)
    );
    println!(
        "\nevent → handle p95: {} (goal < 20 ms); the bus adds {} at p95 ({:.2}x the direct call)",
        ms(b95),
        ms(b95.saturating_sub(d95)),
        b95.as_secs_f64() / d95.as_secs_f64()
    );
}

async fn direct_calls(capstan: &Capstan) -> Vec<Duration> {
    let mut times = Vec::with_capacity(ITERATIONS);
    for n in 0..WARMUP + ITERATIONS {
        let event = Event {
            id: n as u64,
            kind: EventKind::JobFinished,
            at_ms: 0,
            target: None,
            data: json!({ "job": n }),
        };
        let started = Instant::now();
        let delivered = capstan.deliver_event("probe", &event).await.unwrap();
        let took = started.elapsed();
        assert_eq!(delivered, EventDelivery::Acknowledged);
        if n >= WARMUP {
            times.push(took);
        }
    }
    times
}

async fn bus_round_trips(bus: &EventBus) -> Vec<Duration> {
    let mut times = Vec::with_capacity(ITERATIONS);
    for n in 0..WARMUP + ITERATIONS {
        let started = Instant::now();
        let published = bus
            .publish(EventKind::JobFinished, None, json!({ "job": n }))
            .unwrap();
        let acks = published.acknowledgements(Duration::from_secs(10)).await;
        let took = started.elapsed();
        assert_eq!(acks.acknowledged, ["probe"], "{acks:?}");
        if n >= WARMUP {
            times.push(took);
        }
    }
    times
}

fn percentiles(times: &mut [Duration]) -> (Duration, Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.50), at(0.95), at(0.99))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
