//! Capstan's headless core. The CLI and the desktop app are two thin faces
//! over [`Capstan`]: anything a button does, a command can do.
//!
//! Its own modules:
//! - [`inventory`] describes the hosts.
//! - [`jobs`] runs an action over targets and announces what happened.
//! - [`playbook`] runs Ansible playbooks (the common subset) with plugins.
//! - [`cron`] reads schedules' cron expressions in their time zones.
//! - [`desktop`] shows desktop notifications over the session bus, and
//!   [`smtp`] sends e-mail: the channels the host itself sends.
//! - [`Capstan`], the facade, saves what runs announce and gives every face
//!   its views.
//!
//! The floors below it are crates of their own, re-exported here:
//! - [`plugin`] (with [`capability`], [`target`], [`limits`]) hosts
//!   untrusted WebAssembly components under wasmtime (`capstan-plugin-host`).
//! - [`remote`] reaches targets: the local machine, or hosts over SSH
//!   (`capstan-remote`).
//! - [`docker`] reaches targets' Docker engines and keeps live views of them
//!   (`capstan-docker`).
//! - [`store`] keeps plugins, grants, key-values and job history in SQLite
//!   (`capstan-store`).

pub mod cron;
pub mod desktop;
pub mod error;
pub mod events;
pub mod fan_out;
pub mod hex;
pub mod home;
pub mod inventory;
pub mod jobs;
pub mod playbook;
pub mod secrets;
pub mod smtp;
pub mod vault;
pub use capstan_docker as docker;
pub use capstan_plugin_host::{capability, limits, log_sink, param_error, plugin, target, text};
pub use capstan_remote as remote;
pub use capstan_store as store;
pub use capstan_wire::clock;
pub use capstan_wire::natural;
pub use capstan_yaml as yaml;

mod capstan;

pub use capstan::{
    Accepted, BundledPlugin, CANCEL_POLL, Capstan, CreatedToken, Delivery, DeliveryRefused, Due,
    EventDelivery, Inspected, JobControl, JobDetail, JobFilter, MAX_SECRET_BYTES, NEXT_SHOWN,
    PrepareOutcome, Prepared, Rerun, TIMESTAMP_WINDOW_MS, TOKEN_PREFIX, TokenRefused,
    WINDOW_FRESH_MS,
};
pub use error::{Error, Result};
pub use home::Home;
pub use inventory::HostCheck;
