//! What a call into a plugin is given and what it gives back, in the
//! engine's own types: every contract version converts to these.

use capstan_wire::status::ResultStatus;

/// Where and how a call runs: which target, which targets, which modes.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The target this call acts on.
    pub target: String,
    /// Every target of the run.
    pub targets: Vec<String>,
    /// Check mode.
    pub check: bool,
    /// Diff requested.
    pub diff: bool,
}

/// What a plugin returned from `run`.
#[derive(Debug, Clone)]
pub struct PluginOutcome {
    /// How the action ended: ok, changed, failed or skipped.
    pub status: ResultStatus,
    /// One line for people.
    pub summary: String,
    /// A diff, if any.
    pub diff: Option<String>,
    /// JSON data, if any (as the plugin wrote it).
    pub data: Option<String>,
}

/// What a plugin's `handler` made of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// It handled the event.
    Acknowledged,
    /// It could not, for this reason: deliver it again later.
    Refused(String),
    /// It has no `handler` (a 0.1 plugin, or a 0.2 one without events).
    NoHandler,
}
