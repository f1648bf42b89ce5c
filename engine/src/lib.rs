//! Capstan's headless core. The CLI and the desktop app are two thin faces
//! over [`Capstan`]: anything a button does, a command can do.
//!
//! - [`plugin`] hosts untrusted WebAssembly components under wasmtime.
//! - [`capability`] holds each door a plugin may be granted, with its check.
//! - [`remote`] reaches targets: the local machine, or hosts over SSH.
//! - [`docker`] reaches targets' Docker engines and keeps live views of them.
//! - [`inventory`] describes the hosts.
//! - [`store`] keeps plugins, grants, key-values and job history in SQLite.
//! - [`jobs`] runs an action over targets and records what happened.

pub mod capability;
pub mod docker;
pub mod error;
pub mod fan_out;
pub mod home;
pub mod inventory;
pub mod jobs;
pub mod limits;
pub mod log_sink;
pub mod param_error;
pub mod playbook;
pub mod plugin;
pub mod remote;
pub mod secrets;
pub mod target;
pub mod text;
pub use capstan_store as store;
pub use capstan_store::{clock, natural};
pub use capstan_yaml as yaml;

mod capstan;

pub use capstan::{
    BundledPlugin, Capstan, Inspected, JobDetail, JobFilter, PrepareOutcome, Prepared, Rerun,
};
pub use error::{Error, Result};
pub use home::Home;
pub use inventory::HostCheck;
