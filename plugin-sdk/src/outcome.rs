//! How an action ended on a target.

use crate::bindings::capstan::plugin::types::Status as WitStatus;
use crate::bindings::exports::capstan::plugin::guest as wit;

/// How an action ended, in Ansible's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing needed to change.
    Ok,
    /// Something changed (or would, in check mode).
    Changed,
    /// The action could not do what was asked.
    Failed,
    /// Nothing to do here (a guard matched).
    Skipped,
}

/// The result of one action on one target.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// One line for the result table.
    pub summary: String,
    /// Unified diff of what changed.
    pub diff: Option<String>,
    /// Structured result (for `register` and `--json`).
    pub data: Option<serde_json::Value>,
}

impl Outcome {
    fn new(status: Status, summary: impl Into<String>) -> Self {
        Outcome {
            status,
            summary: summary.into(),
            diff: None,
            data: None,
        }
    }

    /// Nothing needed to change.
    pub fn ok(summary: impl Into<String>) -> Self {
        Self::new(Status::Ok, summary)
    }

    /// Something changed.
    pub fn changed(summary: impl Into<String>) -> Self {
        Self::new(Status::Changed, summary)
    }

    /// The action failed.
    pub fn failed(summary: impl Into<String>) -> Self {
        Self::new(Status::Failed, summary)
    }

    /// The action had nothing to do.
    pub fn skipped(summary: impl Into<String>) -> Self {
        Self::new(Status::Skipped, summary)
    }

    /// Attaches a unified diff.
    pub fn with_diff(mut self, diff: impl Into<String>) -> Self {
        self.diff = Some(diff.into());
        self
    }

    /// Attaches structured data.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    pub(crate) fn into_wit(self) -> wit::Outcome {
        wit::Outcome {
            status: match self.status {
                Status::Ok => WitStatus::Ok,
                Status::Changed => WitStatus::Changed,
                Status::Failed => WitStatus::Failed,
                Status::Skipped => WitStatus::Skipped,
            },
            summary: self.summary,
            diff: self.diff,
            data: self.data.map(|d| d.to_string()),
        }
    }
}
