//! Plugin host figures, each beside a baseline measured in the same run:
//!
//! 1. instantiate + call of a bare wit-bindgen guest (baseline) against a
//!    real first-party plugin's trivial action (`debug msg`) through the
//!    engine, with the pooling allocator and on demand;
//! 2. a call on a live instance;
//! 3. first load of a plugin (compile + cache write) against a warm load;
//! 4. a whole `capstan run` process with a warm cache against `/bin/true`
//!    (pass the binary as the first argument).
//!
//! Run it with `bench/run.sh`, which builds everything in release first.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_engine::plugin::{
    Allocation, ArtifactCache, CallContext, CallSetup, HostConfig, PluginHost,
};
use capstan_engine::target::Target;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

const ITERATIONS: usize = 3000;
const WARMUP: usize = 300;
const ROUNDS: usize = 3;

fn main() {
    // Backtrace capture makes traps (and so some paths) far slower.
    // SAFETY: no other thread exists yet.
    #[allow(unsafe_code)]
    unsafe {
        std::env::remove_var("RUST_BACKTRACE")
    };
    let capstan_bin = std::env::args().nth(1).map(PathBuf::from);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let debug_wasm = capstan_bundled::find("debug")
        .expect("bundled debug plugin")
        .wasm;

    println!(
        "# Capstan plugin host benchmark ({ROUNDS} interleaved rounds of {ITERATIONS} iterations, each after {WARMUP} warm-up)\n"
    );
    println!("| measurement | p50 | p99 | vs baseline |");
    println!("|---|---|---|---|");

    // Interleave rounds so a noisy moment hurts every row alike.
    let (mut bare, mut pooled, mut on_demand, mut live) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        bare.extend(runtime.block_on(bare_guest_instantiate_and_call()));
        pooled.extend(runtime.block_on(engine_instantiate_and_call(
            debug_wasm,
            Allocation::Pooling { max_instances: 128 },
        )));
        on_demand.extend(runtime.block_on(engine_instantiate_and_call(
            debug_wasm,
            Allocation::OnDemand,
        )));
        live.extend(runtime.block_on(live_instance_calls(debug_wasm)));
    }
    row(
        "baseline: bare wit-bindgen guest, instantiate + call (pooling)",
        &bare,
        None,
    );
    row(
        "`debug msg` through the engine, instantiate + call (pooling)",
        &pooled,
        Some(&bare),
    );
    row(
        "`debug msg` through the engine, instantiate + call (on demand)",
        &on_demand,
        Some(&bare),
    );
    row(
        "`debug msg` on a live instance (call only)",
        &live,
        Some(&bare),
    );

    let (first, warm) = first_and_warm_load(debug_wasm);
    println!(
        "\nfirst load of `debug` (compile + cache): {}; warm load from the cache: {} ({:.0}x faster)",
        ms(first),
        ms(warm),
        first.as_secs_f64() / warm.as_secs_f64()
    );

    if let Some(bin) = capstan_bin {
        whole_process(&bin);
    } else {
        println!("\n(pass the capstan binary as the first argument to time whole processes)");
    }
}

fn row(name: &str, samples: &[Duration], baseline: Option<&[Duration]>) {
    let p50 = percentile(samples, 0.50);
    let p99 = percentile(samples, 0.99);
    let ratio = baseline.map_or("1.00x".into(), |b| {
        format!(
            "{:.2}x",
            p50.as_secs_f64() / percentile(b, 0.50).as_secs_f64()
        )
    });
    println!("| {name} | {} | {} | {ratio} |", us(p50), us(p99));
}

fn percentile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn setup(targets: Arc<Vec<Target>>) -> CallSetup {
    CallSetup {
        targets,
        ..CallSetup::bare("debug")
    }
}

fn context() -> CallContext {
    CallContext {
        target: "local".into(),
        targets: vec!["local".into()],
        check: false,
        diff: false,
    }
}

async fn engine_instantiate_and_call(wasm: &[u8], allocation: Allocation) -> Vec<Duration> {
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::new(
        HostConfig {
            allocation,
            ..HostConfig::default()
        },
        ArtifactCache::new(cache.path()),
    )
    .unwrap();
    let plugin = host.load(wasm, "debug").unwrap();
    let setup = setup(Arc::new(vec![Target::local()]));
    let ctx = context();
    let mut samples = Vec::with_capacity(ITERATIONS);
    for i in 0..WARMUP + ITERATIONS {
        let start = Instant::now();
        let outcome = host
            .run(&plugin, &setup, "msg", r#"{"msg":"hi"}"#, &ctx)
            .await;
        let took = start.elapsed();
        assert!(outcome.is_ok(), "{outcome:?}");
        if i >= WARMUP {
            samples.push(took);
        }
    }
    samples
}

async fn live_instance_calls(wasm: &[u8]) -> Vec<Duration> {
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::new(HostConfig::default(), ArtifactCache::new(cache.path())).unwrap();
    let plugin = host.load(wasm, "debug").unwrap();
    let setup = setup(Arc::new(vec![Target::local()]));
    let mut limits = setup.limits;
    limits.log_bytes = u64::MAX;
    let setup = CallSetup { limits, ..setup };
    let mut session = host.session(&plugin, &setup, "local").await.unwrap();
    let ctx = context();
    let mut samples = Vec::with_capacity(ITERATIONS);
    for i in 0..WARMUP + ITERATIONS {
        let start = Instant::now();
        let outcome = session.run("msg", r#"{"msg":"hi"}"#, &ctx).await;
        let took = start.elapsed();
        assert!(outcome.is_ok(), "{outcome:?}");
        if i >= WARMUP {
            samples.push(took);
        }
    }
    samples
}

fn first_and_warm_load(wasm: &[u8]) -> (Duration, Duration) {
    let cache = tempfile::tempdir().unwrap();
    let cold_host =
        PluginHost::new(HostConfig::default(), ArtifactCache::new(cache.path())).unwrap();
    let start = Instant::now();
    let loaded = cold_host.load(wasm, "debug").unwrap();
    let first = start.elapsed();
    assert!(!loaded.from_cache);
    let mut warm = Vec::new();
    for _ in 0..20 {
        // A new host has no loaded plugins: this reads the disk cache.
        let warm_host =
            PluginHost::new(HostConfig::default(), ArtifactCache::new(cache.path())).unwrap();
        let start = Instant::now();
        let loaded = warm_host.load(wasm, "debug").unwrap();
        warm.push(start.elapsed());
        assert!(loaded.from_cache);
    }
    (first, percentile(&warm, 0.5))
}

fn whole_process(bin: &PathBuf) {
    let run = |home: &std::path::Path| {
        let status = Command::new(bin)
            .args(["run", "debug", "msg", "-p", "msg=hi", "-q"])
            .env("CAPSTAN_HOME", home)
            .env_remove("RUST_BACKTRACE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    };
    let time = |count: usize, f: &dyn Fn()| {
        let mut samples = Vec::new();
        for _ in 0..count {
            let start = Instant::now();
            f();
            samples.push(start.elapsed());
        }
        percentile(&samples, 0.5)
    };
    // First use on a fresh home: creates the store, installs the bundled
    // plugin, compiles it and writes the cache.
    let first = time(5, &|| run(tempfile::tempdir().unwrap().path()));
    let home = tempfile::tempdir().unwrap();
    run(home.path());
    let truth = time(40, &|| {
        assert!(Command::new("/bin/true").status().unwrap().success());
    });
    let warm = time(40, &|| run(home.path()));
    println!(
        "\nwhole process, p50: `capstan run debug msg` warm {} vs `/bin/true` {}: {} more; \
         first use on a fresh home {}",
        ms(warm),
        ms(truth),
        ms(warm.saturating_sub(truth)),
        ms(first)
    );
}

/// Baseline: the bare `greeter` component (wit-bindgen, no Capstan SDK),
/// instantiated from an `InstancePre` and called, with a pooling engine
/// set up like Capstan's.
async fn bare_guest_instantiate_and_call() -> Vec<Duration> {
    struct Bare {
        wasi: WasiCtx,
        table: ResourceTable,
    }
    impl WasiView for Bare {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }
    let mut config = Config::new();
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(128)
        .total_core_instances(1280)
        .total_memories(256)
        .total_tables(512)
        .total_stacks(128)
        .max_memory_size(1 << 30)
        .linear_memory_keep_resident(4 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto);
    config
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).unwrap();
    let component = Component::from_file(&engine, capstan_test_fixtures::OTHER_WORLD).unwrap();
    let mut linker = Linker::<Bare>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    let pre = linker.instantiate_pre(&component).unwrap();
    let mut samples = Vec::with_capacity(ITERATIONS);
    for i in 0..WARMUP + ITERATIONS {
        let start = Instant::now();
        let mut store = Store::new(
            &engine,
            Bare {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
            },
        );
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = pre.instantiate_async(&mut store).await.unwrap();
        let greet = instance
            .get_typed_func::<(&str,), (String,)>(&mut store, "greet")
            .unwrap();
        let (reply,) = greet.call_async(&mut store, ("bench",)).await.unwrap();
        let took = start.elapsed();
        assert_eq!(reply, "hello bench");
        if i >= WARMUP {
            samples.push(took);
        }
    }
    samples
}
