//! The wasmtime engine, its linker and the calls into plugins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::Instrument;
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};

use super::abi::{self, ContractVersion, Instance, PreLinked};
use super::cache::{ArtifactCache, CacheOutcome, sha256_hex};
use super::call::{CallContext, Handled, PluginOutcome};
use super::manifest::{Manifest, ManifestRules};
use super::state::{Capabilities, RunState};
use crate::capability::SharedGrants;
use crate::capability::docker::DockerCapability;
use crate::capability::http::HttpCapability;
use crate::capability::kv::KvBackend;
use crate::capability::kv::KvCapability;
use crate::capability::log::{DiscardLogs, LogCapability, LogSink};
use crate::capability::remote::RemoteCapability;
use crate::limits::KvUsage;
use crate::limits::{LimitBreach, LimitKind, Limits, MAX_MEMORY_BYTES, human_bytes};
use crate::target::Target;
use crate::{PluginError as Error, Result};
use capstan_wire::events::Event;
use capstan_wire::status::{FailureKind, LogLevel, ResultStatus};

/// Memory per slot reset in place rather than returned to the OS.
const KEEP_RESIDENT_BYTES: usize = 4 << 20;

/// How often the epoch advances: the granularity of CPU and wall limits.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How instance memory is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Pre-reserved slots: instantiation in microseconds (the default).
    Pooling {
        /// Plugin instances alive at once, across all runs.
        max_instances: u32,
    },
    /// mmap per instance: less reserved address space, slower starts.
    OnDemand,
}

/// Settings of the plugin host.
#[derive(Debug, Clone, Copy)]
pub struct HostConfig {
    /// Instance allocation strategy.
    pub allocation: Allocation,
    /// When the engine's facade builds the host.
    pub start: HostStart,
}

/// When the engine's facade builds its plugin host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStart {
    /// When something first needs it (a window that may only show lists).
    OnFirstUse,
    /// At once, on another thread, while the store opens (a command that
    /// is about to call a plugin).
    Background,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            allocation: Allocation::Pooling { max_instances: 128 },
            start: HostStart::OnFirstUse,
        }
    }
}

/// Why a call did not produce an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// What happened, for people.
    pub message: String,
}

/// Everything a call is given besides its action and params.
#[derive(Clone)]
pub struct CallSetup {
    /// The plugin's name (scopes its kv keys).
    pub plugin: String,
    /// What it was granted.
    pub grants: SharedGrants,
    /// Limits for this call.
    pub limits: Limits,
    /// Where the `kv` capability keeps the plugin's keys.
    pub store: Option<Arc<dyn KvBackend>>,
    /// The run's targets.
    pub targets: Arc<Vec<Target>>,
    /// Where log lines go.
    pub log_sink: Arc<dyn LogSink>,
}

impl CallSetup {
    /// A call given nothing: no grants, default limits, no store, no
    /// targets, logs dropped (a plugin describing itself).
    pub fn bare(label: &str) -> Self {
        CallSetup {
            plugin: label.to_string(),
            grants: SharedGrants::default(),
            limits: Limits::default(),
            store: None,
            targets: Arc::new(Vec::new()),
            log_sink: Arc::new(DiscardLogs),
        }
    }
}

/// A plugin compiled, checked and pre-linked: each call instantiates it
/// afresh from here in microseconds.
pub struct LoadedPlugin {
    /// SHA-256 of its component file.
    pub sha256: String,
    /// The contract version it was built for.
    pub version: ContractVersion,
    /// Whether the compiled code came from the cache.
    pub from_cache: bool,
    pre: PreLinked,
}

/// Hosts plugins: one wasmtime engine, one linker with every supported
/// contract version, the compiled-code cache, and the loaded plugins.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<RunState>,
    cache: ArtifactCache,
    loaded: Mutex<HashMap<String, Arc<LoadedPlugin>>>,
    /// One permit per instance the pool holds: a call beyond it waits for
    /// a free slot instead of failing, however many targets run at once.
    slots: Arc<tokio::sync::Semaphore>,
}

impl PluginHost {
    /// Configures wasmtime (epoch interruption, pooling allocator) and
    /// starts the epoch ticker.
    pub fn new(config: HostConfig, cache: ArtifactCache) -> Result<Self> {
        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(512 << 10)
            .cranelift_opt_level(wasmtime::OptLevel::None);
        if let Allocation::Pooling { max_instances } = config.allocation {
            let mut pool = PoolingAllocationConfig::new();
            pool.total_component_instances(max_instances)
                .total_core_instances(max_instances * 10)
                .total_memories(max_instances * 2)
                .total_tables(max_instances * 4)
                .total_stacks(max_instances)
                .max_memory_size(MAX_MEMORY_BYTES as usize)
                // Reset reused slots with memset on the pages that were
                // touched (found with PAGEMAP_SCAN where the kernel has it)
                // instead of madvise: the next instance takes no page faults.
                .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
                .table_keep_resident(64 << 10)
                .pagemap_scan(Enabled::Auto);
            wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let slots = match config.allocation {
            Allocation::Pooling { max_instances } => max_instances as usize,
            Allocation::OnDemand => tokio::sync::Semaphore::MAX_PERMITS,
        };
        let engine = Engine::new(&wasm)?;
        let mut linker = Linker::new(&engine);
        abi::add_to_linker(&mut linker)?;
        start_epoch_ticker(&engine);
        Ok(PluginHost {
            engine,
            linker,
            cache,
            loaded: Mutex::new(HashMap::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(slots)),
        })
    }

    /// Loads a component (from memory or the cache of loaded plugins):
    /// checks it is a plugin of a supported version and pre-links it.
    /// `label` names it in errors (a file path or a plugin name).
    pub fn load(&self, wasm: &[u8], label: &str) -> Result<Arc<LoadedPlugin>> {
        self.load_hashed(wasm, sha256_hex(wasm), label)
    }

    /// [`PluginHost::load`] for a caller that already hashed `wasm` (its
    /// SHA-256 as lower-case hex), so the bytes are not hashed twice.
    pub fn load_hashed(
        &self,
        wasm: &[u8],
        sha256: String,
        label: &str,
    ) -> Result<Arc<LoadedPlugin>> {
        if let Some(loaded) = self
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&sha256)
        {
            return Ok(loaded.clone());
        }
        let not_a_plugin = |reason: String| Error::NotAPlugin {
            path: label.to_string(),
            reason,
        };
        if !wasm.starts_with(b"\0asm") {
            return Err(not_a_plugin(format!(
                "it does not start with the WebAssembly magic bytes ({} bytes read)",
                wasm.len()
            )));
        }
        let (component, outcome) =
            self.cache
                .load(&self.engine, wasm, &sha256)
                .map_err(|e| match e {
                    Error::NotAPlugin { reason, .. } => not_a_plugin(reason),
                    other => other,
                })?;
        let version = ContractVersion::detect(&self.engine, &component).map_err(not_a_plugin)?;
        let pre = self
            .prelink(version, &component)
            .map_err(|e| not_a_plugin(format!("{e:#}")))?;
        let loaded = Arc::new(LoadedPlugin {
            sha256: sha256.clone(),
            version,
            from_cache: outcome == CacheOutcome::Hit,
            pre,
        });
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sha256, loaded.clone());
        Ok(loaded)
    }

    fn prelink(
        &self,
        version: ContractVersion,
        component: &Component,
    ) -> wasmtime::Result<PreLinked> {
        let pre = self.linker.instantiate_pre(component)?;
        PreLinked::new(version, pre)
    }

    /// Asks a plugin to describe itself, with no capabilities and default
    /// limits. A plugin that traps or lies about its name is refused.
    pub async fn describe(&self, plugin: &LoadedPlugin, label: &str) -> Result<Manifest> {
        let setup = CallSetup::bare(label);
        let mut store = self.new_store(&setup, "");
        let result = tokio::time::timeout(setup.limits.wall(), async {
            let instance = plugin.pre.instantiate(&mut store).await?;
            instance.describe(&mut store).await
        })
        .await;
        let failed = |reason: String| Error::Failed {
            plugin: label.to_string(),
            reason: format!("while describing itself: {reason}"),
        };
        let manifest = match result {
            Ok(Ok(manifest)) => manifest,
            Ok(Err(e)) => return Err(failed(classify(&e, &store).message)),
            Err(_) => return Err(failed(wall_breach(&setup.limits).to_string())),
        };
        manifest.validate().map_err(|reason| Error::NotAPlugin {
            path: label.to_string(),
            reason: reason.to_string(),
        })?;
        Ok(manifest)
    }

    /// Runs one action for one target in a fresh instance, within the
    /// setup's limits. Never panics or traps the host: every failure of the
    /// plugin comes back as a [`CallFailure`].
    pub async fn run(
        &self,
        plugin: &LoadedPlugin,
        setup: &CallSetup,
        action: &str,
        params_json: &str,
        context: &CallContext,
    ) -> std::result::Result<PluginOutcome, CallFailure> {
        let span = tracing::debug_span!(
            "plugin_call",
            plugin = %setup.plugin,
            action = %action,
            target = %context.target
        );
        async {
            let _slot = self.slot().await;
            let started = std::time::Instant::now();
            let mut store = self.new_store(setup, &context.target);
            let result = tokio::time::timeout(setup.limits.wall(), async {
                let instance = plugin.pre.instantiate(&mut store).await?;
                instance.run(&mut store, action, params_json, context).await
            })
            .await;
            let outcome = finish_call(result, &mut store, &setup.limits);
            match &outcome {
                Ok(done) => tracing::debug!(
                    status = %done.status,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "plugin call returned"
                ),
                Err(failure) => tracing::debug!(
                    failure = %failure.kind,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "plugin call failed"
                ),
            }
            outcome
        }
        .instrument(span)
        .await
    }

    /// Hands one event to a plugin's `handler` in a fresh instance, within
    /// the setup's limits and grants (the setup's targets are the event's).
    pub async fn handle(
        &self,
        plugin: &LoadedPlugin,
        setup: &CallSetup,
        event: &Event,
    ) -> std::result::Result<Handled, CallFailure> {
        let span = tracing::debug_span!(
            "plugin_event",
            plugin = %setup.plugin,
            event = event.id,
            kind = %event.kind
        );
        async {
            let _slot = self.slot().await;
            let target = event.target.as_deref().unwrap_or("");
            let mut store = self.new_store(setup, target);
            let result = tokio::time::timeout(setup.limits.wall(), async {
                let instance = plugin.pre.instantiate(&mut store).await?;
                instance.handle(&mut store, event).await
            })
            .await;
            let handled = settle(result, &mut store, &setup.limits)?;
            Ok(match handled {
                None => Handled::NoHandler,
                Some(Ok(())) => Handled::Acknowledged,
                Some(Err(reason)) => Handled::Refused(reason),
            })
        }
        .instrument(span)
        .await
    }

    /// Instantiates a plugin once for many calls (the fast path for
    /// repeated actions on one target). The session ends at its first trap.
    pub async fn session(
        &self,
        plugin: &LoadedPlugin,
        setup: &CallSetup,
        target: &str,
    ) -> Result<Session> {
        let slot = self.slot().await;
        let mut store = self.new_store(setup, target);
        let instance = plugin
            .pre
            .instantiate(&mut store)
            .await
            .map_err(|e| Error::Failed {
                plugin: setup.plugin.clone(),
                reason: classify(&e, &store).message,
            })?;
        Ok(Session {
            store,
            instance,
            limits: setup.limits,
            poisoned: false,
            _slot: slot,
        })
    }

    /// Waits for a free instance slot.
    async fn slot(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.slots
            .clone()
            .acquire_owned()
            .await
            .expect("the slot semaphore is never closed")
    }

    fn new_store(&self, setup: &CallSetup, target: &str) -> Store<RunState> {
        let limits = setup.limits;
        let state = RunState::new(
            limits.memory_bytes,
            limits.cpu(),
            limits.log_bytes as usize,
            Capabilities {
                log: LogCapability::new(
                    target.to_string(),
                    limits.log_bytes,
                    setup.log_sink.clone(),
                ),
                kv: KvCapability::new(
                    setup.plugin.clone(),
                    setup.grants.clone(),
                    setup.store.clone(),
                    KvUsage {
                        keys: limits.kv_keys,
                        bytes: limits.kv_bytes,
                    },
                ),
                remote: RemoteCapability::new(
                    setup.grants.clone(),
                    setup.targets.clone(),
                    limits.output_bytes,
                ),
                docker: DockerCapability::new(
                    setup.grants.clone(),
                    setup.targets.clone(),
                    limits.output_bytes,
                ),
                http: HttpCapability::new(setup.grants.clone(), limits.output_bytes),
            },
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        // A new store's deadline is 0 and would trap at once: give it one
        // tick, then check the CPU budget and yield to the executor on each
        // tick so the wall-time timeout can fire even in a tight loop.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| {
            ctx.data().clock.check().map_err(wasmtime::Error::new)?;
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }
}

/// A live instance, reused across calls until it traps.
pub struct Session {
    store: Store<RunState>,
    instance: Instance,
    limits: Limits,
    poisoned: bool,
    /// Its instance's slot in the pool, given back when the session ends.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Session {
    /// Calls `run` on the live instance.
    pub async fn run(
        &mut self,
        action: &str,
        params_json: &str,
        context: &CallContext,
    ) -> std::result::Result<PluginOutcome, CallFailure> {
        if self.poisoned {
            return Err(CallFailure {
                kind: FailureKind::Host,
                message: "this instance trapped earlier; start a new session".into(),
            });
        }
        self.store.data_mut().clock.restart();
        self.store.set_epoch_deadline(1);
        let result = tokio::time::timeout(
            self.limits.wall(),
            self.instance
                .run(&mut self.store, action, params_json, context),
        )
        .await;
        // After a trap (or a timeout mid-call) the instance cannot be re-entered.
        self.poisoned = !matches!(result, Ok(Ok(_)));
        finish_call(result, &mut self.store, &self.limits)
    }
}

/// Turns what a call returned into an outcome or a failure, forwarding the
/// plugin's stdout and stderr to its log and enforcing the output limit.
fn finish_call(
    result: std::result::Result<wasmtime::Result<PluginOutcome>, tokio::time::error::Elapsed>,
    store: &mut Store<RunState>,
    limits: &Limits,
) -> std::result::Result<PluginOutcome, CallFailure> {
    let outcome = settle(result, store, limits)?;
    let size = outcome.summary.len()
        + outcome.diff.as_ref().map_or(0, String::len)
        + outcome.data.as_ref().map_or(0, String::len);
    if size as u64 > limits.output_bytes {
        return Err(CallFailure {
            kind: FailureKind::Limit,
            message: LimitBreach::new(
                LimitKind::Output,
                format!(
                    "the outcome is {}, over {}",
                    human_bytes(size as u64),
                    human_bytes(limits.output_bytes)
                ),
            )
            .to_string(),
        });
    }
    let unreachable = store.data().remote.unreachable();
    let unreachable = unreachable.or_else(|| store.data().docker.unreachable());
    if let Some(why) = unreachable
        && outcome.status == ResultStatus::Failed
    {
        return Err(CallFailure {
            kind: FailureKind::Unreachable,
            message: why.to_string(),
        });
    }
    if let Some(cap) = &store.data().denied
        && outcome.status == ResultStatus::Failed
    {
        return Err(CallFailure {
            kind: FailureKind::Denied,
            message: format!(
                "denied: the plugin needs capability `{cap}`, which is not granted ({})",
                outcome.summary
            ),
        });
    }
    Ok(outcome)
}

/// What any call returned, once its output is forwarded to its log: the
/// value, or why there is none (a trap, a limit, the wall clock).
fn settle<T>(
    result: std::result::Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
    store: &mut Store<RunState>,
    limits: &Limits,
) -> std::result::Result<T, CallFailure> {
    forward_stdio(store);
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(classify(&e, store)),
        Err(_) => Err(CallFailure {
            kind: FailureKind::Limit,
            message: wall_breach(limits).to_string(),
        }),
    }
}

fn wall_breach(limits: &Limits) -> LimitBreach {
    LimitBreach::new(
        LimitKind::Wall,
        format!("took longer than {} s", limits.wall_ms as f64 / 1000.0),
    )
}

/// Says why a call trapped, in words a person can act on.
fn classify(error: &wasmtime::Error, store: &Store<RunState>) -> CallFailure {
    if let Some(breach) = error.downcast_ref::<LimitBreach>() {
        return CallFailure {
            kind: FailureKind::Limit,
            message: breach.to_string(),
        };
    }
    let stderr = String::from_utf8_lossy(&store.data().stderr.contents())
        .trim()
        .to_string();
    let tail = |text: &str| {
        let start = text.len().saturating_sub(600);
        text[text.ceil_char_boundary(start)..].to_string()
    };
    if let Some(trap) = error.downcast_ref::<Trap>() {
        let message = match trap {
            Trap::StackOverflow => "crashed: stack overflow (recursion too deep)".to_string(),
            Trap::UnreachableCodeReached if stderr.contains("panicked") => {
                format!("crashed: the plugin panicked: {}", tail(&stderr))
            }
            Trap::UnreachableCodeReached => "crashed: the plugin aborted (unreachable instruction)".to_string(),
            // A Rust guest keeps its stack in linear memory: deep recursion
            // runs off its start before the wasm stack is exhausted.
            Trap::MemoryOutOfBounds => {
                "crashed: out-of-bounds memory access (a stack overflow from deep recursion, or a memory bug in the plugin)"
                    .to_string()
            }
            Trap::Interrupt => "stopped: interrupted".to_string(),
            other => format!("crashed: {other}"),
        };
        return CallFailure {
            kind: FailureKind::Crashed,
            message,
        };
    }
    CallFailure {
        kind: FailureKind::Host,
        message: format!("{error:#}"),
    }
}

/// Forwards what the plugin printed to its log (stdout as info, stderr as
/// warn), within what is left of its log budget.
fn forward_stdio(store: &mut Store<RunState>) {
    let state = store.data_mut();
    let streams = [
        (state.stdout.contents(), LogLevel::Info),
        (state.stderr.contents(), LogLevel::Warn),
    ];
    for (bytes, level) in streams {
        for line in String::from_utf8_lossy(&bytes).lines() {
            if state.log.emit(level, line.to_string(), Vec::new()).is_err() {
                return;
            }
        }
    }
}

/// Advances the engine's epoch every tick until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("capstan-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the epoch ticker: CPU limits will not apply");
    }
}
