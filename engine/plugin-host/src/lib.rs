//! Capstan's plugin host: loads untrusted WebAssembly components under
//! wasmtime, checks their contract version, caches their compiled code and
//! calls them inside limits, with only the capabilities the user granted.
//! A crate below the engine: it reaches targets through `capstan-remote`
//! and `capstan-docker`, and the store only through [`capability::kv::KvBackend`].
//!
//! - [`plugin`]: the host, its cache, the contract's ABI and the params schema.
//! - [`capability`]: each door a plugin may be granted, with its check.
//! - [`target`]: a run's target, how it is reached.
//! - [`limits`]: per-run memory, CPU, wall time, output and key-value limits.

pub mod capability;
mod error;
pub mod limits;
pub mod log_sink;
pub mod param_error;
pub mod plugin;
pub mod target;
pub mod text;

pub use error::{PluginError, Result};
