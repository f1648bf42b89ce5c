//! `log`: structured lines streamed live, always allowed, capped per call.

use std::sync::Arc;

use capstan_wire::jobs::LogLine;
use capstan_wire::status::LogLevel;

use crate::limits::{LimitBreach, LimitKind, human_bytes};
pub use crate::log_sink::{DiscardLogs, LogSink};
use crate::text::printable;
use capstan_wire::clock::now_ms;

/// The `log` capability of one call: the target it writes for, its byte
/// budget and where lines go.
pub struct LogCapability {
    target: String,
    budget: u64,
    used: u64,
    sink: Arc<dyn LogSink>,
}

impl LogCapability {
    /// A log for `target` that may write `budget` bytes into `sink`.
    pub fn new(target: String, budget: u64, sink: Arc<dyn LogSink>) -> Self {
        LogCapability {
            target,
            budget,
            used: 0,
            sink,
        }
    }

    /// Writes a line, or stops the plugin once it has written too much.
    pub fn emit(
        &mut self,
        level: LogLevel,
        message: String,
        fields: Vec<(String, String)>,
    ) -> Result<(), LimitBreach> {
        let size = message.len() + fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        self.used = self.used.saturating_add(size as u64);
        if self.used > self.budget {
            return Err(LimitBreach::new(
                LimitKind::Log,
                format!("wrote more than {} of log", human_bytes(self.budget)),
            ));
        }
        // Log lines reach terminals and the window: nothing in them may act
        // on those.
        self.sink.line(LogLine {
            target: self.target.clone(),
            level,
            message: printable(&message, true),
            fields: fields
                .into_iter()
                .map(|(k, v)| (printable(&k, false), printable(&v, true)))
                .collect(),
            at_ms: now_ms(),
        });
        Ok(())
    }
}
