//! Runs Ansible playbooks (the common subset) with Capstan's plugins:
//! each module is a sandboxed plugin action, each host keeps one SSH
//! connection for the whole run, and every task runs on all its hosts at
//! once (Ansible's linear strategy; at most 200 hosts at a time,
//! `MAX_PARALLEL_TARGETS` in the job runner).
//!
//! - [`capstan_yaml`] loads YAML with file positions.
//! - [`model`] reads plays, tasks and handlers, refusing what is unsupported.
//! - [`modules`] maps module names and arguments onto plugin actions.
//! - [`template`] is Jinja (minijinja) with Ansible's filters.
//! - `prepare` finds the plugins a run needs and checks `notify`.
//! - `run` executes plays and records each task's results, with
//!   `actions` doing the controller-side half of some modules; a task
//!   that cannot run says why with a [`TaskError`].
//! - [`report`] is what a run tells the world: events, outcomes, recap.

mod actions;
mod adhoc;
pub mod ansible_cfg;
mod clock;
mod conditional;
pub(crate) mod context;
mod controller_files;
mod copy_folder;
pub mod fact_cache;
mod filters;
mod jinja_errors;
mod jinja_tests;
mod json_out;
mod list_filters;
mod lookups;
pub mod model;
pub mod modules;
pub mod outline;
mod path_filters;
pub(crate) mod prepare;
pub mod report;
pub mod run;
mod selection;
mod sha512_crypt;
mod task_error;
pub mod template;
mod template_files;
mod truth;
mod unary_plus;
mod yaml_out;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use adhoc::AdHoc;
pub use capstan_yaml::Pos;
pub use report::{PlaybookEvent, PlaybookEventSink, PlaybookReport, Recap, TaskOutcome};
pub use task_error::TaskError;
pub use template::TemplateError;

/// A problem in a playbook or a file it uses, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookError {
    /// Where, when known.
    pub at: Option<Pos>,
    /// What is wrong.
    pub message: String,
}

impl PlaybookError {
    /// An error at a position.
    pub fn at(pos: &Pos, message: impl Into<String>) -> Self {
        PlaybookError {
            at: Some(pos.clone()),
            message: message.into(),
        }
    }

    /// An error with no position.
    pub fn plain(message: impl Into<String>) -> Self {
        PlaybookError {
            at: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(pos) => write!(f, "{pos}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for PlaybookError {}

/// An error about a node of a playbook, at its place.
pub(crate) trait NodeError {
    /// An error naming where this node is.
    fn error(&self, message: impl Into<String>) -> PlaybookError;
}

impl NodeError for capstan_yaml::Node {
    fn error(&self, message: impl Into<String>) -> PlaybookError {
        PlaybookError::at(&self.pos, message)
    }
}

impl From<crate::vault::ReadError> for PlaybookError {
    fn from(e: crate::vault::ReadError) -> Self {
        match e {
            crate::vault::ReadError::File(message) => PlaybookError::plain(message),
            crate::vault::ReadError::Yaml(e) => e.into(),
        }
    }
}

impl From<capstan_yaml::YamlError> for PlaybookError {
    fn from(e: capstan_yaml::YamlError) -> Self {
        let whole_file = e.at.line == 0;
        PlaybookError {
            at: (!whole_file).then_some(e.at),
            message: e.message,
        }
    }
}

impl From<PlaybookError> for crate::Error {
    fn from(e: PlaybookError) -> Self {
        crate::Error::BadInput(e.to_string())
    }
}

/// How to run a playbook (the flags of `capstan playbook run`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlaybookOptions {
    /// The playbook file.
    pub playbook: PathBuf,
    /// An inventory file (INI or YAML); without one, the stored inventory.
    pub inventory: Option<PathBuf>,
    /// Only hosts matching this pattern (`--limit`).
    pub limit: Option<String>,
    /// Only tasks with one of these tags (`--tags`).
    pub tags: Vec<String>,
    /// Not tasks with one of these tags (`--skip-tags`).
    pub skip_tags: Vec<String>,
    /// Extra variables (`-e`), stronger than any other.
    pub extra_vars: serde_json::Map<String, serde_json::Value>,
    /// Check mode: change nothing, report what would change.
    pub check: bool,
    /// Show diffs of what changes.
    pub diff: bool,
    /// Record unknown host keys instead of refusing them.
    pub trust_new_hosts: bool,
    /// Environment variable holding the sudo password, for `become`.
    pub become_password_env: Option<String>,
    /// The stored secret holding the sudo password, for `become` (it wins
    /// over `become_password_env`); the engine opens it when the run starts.
    pub become_password_secret: Option<String>,
    /// Names of extra variables whose values are secret (`--secret`):
    /// masked in every stored or printed output.
    pub secret_vars: Vec<String>,
    /// Files holding vault passwords (`--vault-password-file`); an
    /// executable one is run for it.
    pub vault_password_files: Vec<PathBuf>,
    /// `--vault-id [ID@]FILE`: passwords for vault ids.
    pub vault_ids: Vec<String>,
    /// Read the `ansible.cfg` a playbook's project keeps (the CLI does; a
    /// run the service starts for a caller does not, as its paths and
    /// password files would be the service machine's).
    pub ansible_cfg: bool,
    /// `--start-at-task PATTERN`: tasks before the first whose name
    /// matches are passed over (not run, not counted).
    pub start_at_task: Option<String>,
    /// `--force-handlers`: handlers run on hosts that failed after
    /// notifying them, unless a play says `force_handlers: false`.
    pub force_handlers: bool,
    /// `--flush-cache`: the facts kept from earlier runs (a fact cache
    /// set up in ansible.cfg) are forgotten before this one.
    #[serde(default)]
    pub flush_cache: bool,
    /// An ad-hoc command to run instead of reading `playbook` (which then
    /// only says where it runs from: roles and files are found beside it).
    /// Its arguments may hold secrets: never serialized.
    #[serde(skip)]
    pub adhoc: Option<AdHoc>,
}
