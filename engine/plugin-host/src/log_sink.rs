//! Where a run's log lines go as they are written: the job recorder, the
//! playbook runner, a masking layer, or nowhere.

use capstan_wire::jobs::LogLine;

/// Receives a run's log lines as they are written.
pub trait LogSink: Send + Sync {
    /// One line, already charged against the budget.
    fn line(&self, line: LogLine);
}

/// A sink that drops everything (used while a plugin describes itself).
#[derive(Debug, Default)]
pub struct DiscardLogs;

impl LogSink for DiscardLogs {
    fn line(&self, _line: LogLine) {}
}

/// A function of a line is a sink: a runner turns its lines into events
/// this way.
impl<F: Fn(LogLine) + Send + Sync> LogSink for F {
    fn line(&self, line: LogLine) {
        self(line)
    }
}
