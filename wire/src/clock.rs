//! The one clock every record is stamped with (on the host: the UI, built
//! for `wasm32-unknown-unknown`, has no clock to read and never calls it).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch: the unit of every timestamp Capstan
/// keeps (log lines, jobs, audit entries, host checks).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
