//! Per-run limits on a plugin: memory, CPU, wall time, log and output size.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The limits one run of a plugin works within.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Linear memory, in bytes.
    pub memory_bytes: u64,
    /// Time spent executing guest code (host calls excluded), in ms.
    pub cpu_ms: u64,
    /// Time for the whole call, host calls included, in ms.
    pub wall_ms: u64,
    /// Bytes of log lines (and stdout/stderr) one call may write.
    pub log_bytes: u64,
    /// Bytes of an outcome, of a command's stdout or stderr, or of a file read.
    pub output_bytes: u64,
    /// Keys the plugin may keep in its `kv` store, across all its runs.
    pub kv_keys: u64,
    /// Bytes (keys and values) of its `kv` store, across all its runs.
    pub kv_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            cpu_ms: 10_000,
            wall_ms: 600_000,
            log_bytes: 1 << 20,
            output_bytes: 4 << 20,
            kv_keys: 10_000,
            kv_bytes: 16 << 20,
        }
    }
}

/// The most memory any override may give a plugin (the pool's slot size).
pub const MAX_MEMORY_BYTES: u64 = 1 << 30;

impl Limits {
    /// CPU budget as a duration.
    pub fn cpu(&self) -> Duration {
        Duration::from_millis(self.cpu_ms)
    }

    /// Wall-time budget as a duration.
    pub fn wall(&self) -> Duration {
        Duration::from_millis(self.wall_ms)
    }

    /// These limits with `overrides` applied.
    pub fn with(mut self, overrides: &LimitOverrides) -> Limits {
        if let Some(v) = overrides.memory_bytes {
            self.memory_bytes = v.min(MAX_MEMORY_BYTES);
        }
        if let Some(v) = overrides.cpu_ms {
            self.cpu_ms = v;
        }
        if let Some(v) = overrides.wall_ms {
            self.wall_ms = v;
        }
        if let Some(v) = overrides.log_bytes {
            self.log_bytes = v;
        }
        if let Some(v) = overrides.output_bytes {
            self.output_bytes = v;
        }
        if let Some(v) = overrides.kv_keys {
            self.kv_keys = v;
        }
        if let Some(v) = overrides.kv_bytes {
            self.kv_bytes = v;
        }
        self
    }
}

pub use capstan_wire::plugins::{KvUsage, LimitOverrides};

/// Which limit a plugin broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Asked for more memory than allowed.
    Memory,
    /// Executed longer than its CPU budget.
    Cpu,
    /// The whole call took longer than its wall-time budget.
    Wall,
    /// Wrote more log than allowed.
    Log,
    /// Returned or received more output than allowed.
    Output,
}

/// A broken limit: the error a plugin is stopped with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitBreach {
    /// Which limit.
    pub kind: LimitKind,
    /// What was asked against what was allowed.
    pub detail: String,
}

impl LimitBreach {
    /// A breach of `kind` with a detail message.
    pub fn new(kind: LimitKind, detail: impl Into<String>) -> Self {
        LimitBreach {
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for LimitBreach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            LimitKind::Memory => "memory limit",
            LimitKind::Cpu => "CPU time limit",
            LimitKind::Wall => "wall time limit",
            LimitKind::Log => "log size limit",
            LimitKind::Output => "output size limit",
        };
        write!(f, "stopped: {what} reached ({})", self.detail)
    }
}

impl std::error::Error for LimitBreach {}

/// Formats a byte count for messages (`64 MiB`, `512 KiB`, `17 bytes`).
pub fn human_bytes(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else if bytes >= 1 << 10 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_and_memory_is_capped_by_the_pool() {
        let limits = Limits::default().with(&LimitOverrides {
            cpu_ms: Some(50),
            memory_bytes: Some(u64::MAX),
            ..Default::default()
        });
        assert_eq!(limits.cpu_ms, 50);
        assert_eq!(limits.memory_bytes, MAX_MEMORY_BYTES);
        assert_eq!(limits.wall_ms, Limits::default().wall_ms);
    }

    #[test]
    fn bytes_read_like_a_person_writes_them() {
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(1536), "1 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
    }
}
