//! What a playbook run shares: the loaded plugins, the templates, the
//! hosts and their targets, where events and logs go.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::PlaybookOptions;
use super::report::PlaybookEventSink;
use super::template::Templates;
use crate::secrets::Secrets;
use capstan_plugin_host::log_sink::LogSink;
use capstan_plugin_host::plugin::{CallSetup, LoadedPlugin, PluginHost};
use capstan_plugin_host::target::Target;

/// A plugin ready to be called for a module.
pub(crate) struct PreparedPlugin {
    pub loaded: Arc<LoadedPlugin>,
    pub setup: CallSetup,
    /// Parameter schema of each action.
    pub schemas: HashMap<String, Json>,
}

/// A host as a playbook run sees it.
pub(crate) struct RunHost {
    pub name: String,
    pub target: Target,
    /// Inventory variables and magic variables.
    pub vars: Map<String, Json>,
    /// The inventory names the login (`ansible_user`): a `remote_user`
    /// keyword then leaves it as it is.
    pub user_given: bool,
}

/// Everything every task of a run shares.
pub(crate) struct RunContext {
    pub host: Arc<PluginHost>,
    pub plugins: HashMap<String, PreparedPlugin>,
    pub templates: Templates,
    pub dir: PathBuf,
    pub options: PlaybookOptions,
    pub events: PlaybookEventSink,
    /// Where log lines go (as [`super::PlaybookEvent::Log`]).
    pub logs: Arc<dyn LogSink>,
    /// The run's hosts as the inventory describes them (for host patterns).
    pub inventory: Vec<crate::inventory::Host>,
    /// Every host's target, sharing its connections: a task's plugin may
    /// reach the run's other hosts (a worker joining the manager's swarm).
    pub targets: Vec<Target>,
    /// This computer, where `delegate_to: localhost` and `local_action`
    /// run (Capstan's own folders out of its reach).
    pub controller: Target,
    /// Whether tasks get `hostvars` (something the run renders names it).
    pub hostvars_used: bool,
    /// Opens vault-encrypted vars files and values read during the run.
    pub vault: Arc<crate::vault::Vault>,
    /// Values masked in every outcome, event and log line of the run.
    pub secrets: Secrets,
    /// The sudo password opened from `options.become_password_secret`.
    pub sudo_password: Option<capstan_remote::SudoPassword>,
    /// Handlers of roles read during the run (an `include_role` whose
    /// name has a template), with where their play starts.
    pub late_handlers: std::sync::Mutex<Vec<(capstan_yaml::Pos, crate::playbook::model::Task)>>,
    /// A notification no handler answers to only warns (once per name),
    /// as `error_on_missing_handler = False` asks; else the task fails.
    pub missing_handler_warns: bool,
    /// The handler warnings given already (a missing name, a handler whose
    /// name cannot be rendered), each once per run.
    pub missing_handlers_warned: std::sync::Mutex<Vec<String>>,
    /// At most so many hosts run a task at once (`forks` in ansible.cfg).
    pub forks: usize,
    /// Handlers run on failed hosts too (`--force-handlers`, ansible.cfg's
    /// `force_handlers`, `ANSIBLE_FORCE_HANDLERS`), unless a play says not.
    pub force_handlers: bool,
    /// Where facts are kept between runs (ansible.cfg's `fact_caching`).
    pub fact_cache: Option<crate::playbook::fact_cache::FactCache>,
    /// What the run warns about before its first play (settings of
    /// ansible.cfg it does not honour).
    pub warnings: Vec<String>,
    /// `--start-at-task`'s pattern until a task matches it (then `None`):
    /// steps before are passed over.
    pub start_at: std::sync::Mutex<Option<String>>,
    /// Cancelling it stops the hosts' tasks under way; no task starts after.
    pub cancel: tokio_util::sync::CancellationToken,
}
