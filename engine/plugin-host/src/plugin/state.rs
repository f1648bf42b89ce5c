//! What one call of a plugin owns inside its wasmtime `Store`: WASI with
//! nothing opened, the capabilities it was given, its limits and clocks.

use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use crate::capability::docker::DockerCapability;
use crate::capability::http::HttpCapability;
use crate::capability::kv::KvCapability;
use crate::capability::log::LogCapability;
use crate::capability::remote::RemoteCapability;
use crate::capability::{Grant, HostError};
use crate::limits::{LimitBreach, LimitKind, human_bytes};

/// The data of one plugin call's `Store`.
pub struct RunState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) memory: MemoryGuard,
    pub(super) log: LogCapability,
    pub(super) kv: KvCapability,
    pub(super) remote: RemoteCapability,
    pub(super) docker: DockerCapability,
    pub(super) http: HttpCapability,
    pub(super) clock: GuestClock,
    /// The first grant a host call was refused for, if any.
    pub(super) denied: Option<Grant>,
    pub(super) stdout: MemoryOutputPipe,
    pub(super) stderr: MemoryOutputPipe,
}

impl RunState {
    /// A state whose WASI has no arguments, environment, files, sockets or
    /// real clocks: stdout and stderr go to capped in-memory pipes.
    pub(super) fn new(
        memory_limit: u64,
        cpu_limit: Duration,
        io_capacity: usize,
        capabilities: Capabilities,
    ) -> Self {
        let Capabilities {
            log,
            kv,
            remote,
            docker,
            http,
        } = capabilities;
        let stdout = MemoryOutputPipe::new(io_capacity);
        let stderr = MemoryOutputPipe::new(io_capacity);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        RunState {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryGuard {
                limit: memory_limit,
            },
            log,
            kv,
            remote,
            docker,
            http,
            clock: GuestClock::new(cpu_limit),
            denied: None,
            stdout,
            stderr,
        }
    }

    /// Remembers a refused capability so the run is reported as denied.
    pub(super) fn note<T>(&mut self, result: Result<T, HostError>) -> Result<T, HostError> {
        if let Err(HostError::Denied(grant)) = &result {
            self.denied.get_or_insert_with(|| grant.clone());
        }
        result
    }
}

/// The doors one call is given, each checking its grant on every call.
pub(super) struct Capabilities {
    pub(super) log: LogCapability,
    pub(super) kv: KvCapability,
    pub(super) remote: RemoteCapability,
    pub(super) docker: DockerCapability,
    pub(super) http: HttpCapability,
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory growth with an error that says so.
pub(super) struct MemoryGuard {
    limit: u64,
}

impl ResourceLimiter for MemoryGuard {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.limit {
            return Err(LimitBreach::new(
                LimitKind::Memory,
                format!(
                    "asked for {} of {}",
                    human_bytes(desired as u64),
                    human_bytes(self.limit)
                ),
            )
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Guest time: wall time since the call started minus time spent in host
/// calls (waiting on a command is not the plugin's CPU).
pub(super) struct GuestClock {
    started: Instant,
    in_host: Duration,
    limit: Duration,
}

impl GuestClock {
    fn new(limit: Duration) -> Self {
        GuestClock {
            started: Instant::now(),
            in_host: Duration::ZERO,
            limit,
        }
    }

    /// Starts counting afresh for a new call on a live instance.
    pub(super) fn restart(&mut self) {
        self.started = Instant::now();
        self.in_host = Duration::ZERO;
    }

    /// Adds time spent inside a host call.
    pub(super) fn add_host_time(&mut self, spent: Duration) {
        self.in_host += spent;
    }

    /// Errs once the guest has used up its CPU budget.
    pub(super) fn check(&self) -> Result<(), LimitBreach> {
        let guest = self.started.elapsed().saturating_sub(self.in_host);
        if guest > self.limit {
            return Err(LimitBreach::new(
                LimitKind::Cpu,
                format!("ran for more than {} ms of CPU", self.limit.as_millis()),
            ));
        }
        Ok(())
    }
}

/// Plugins are clock-free: time stands still at the epoch.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}
