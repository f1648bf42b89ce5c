//! Structured log lines, streamed live to whoever watches the run.

use crate::bindings::capstan::plugin::log::{self as wit, Level};

/// Writes a line at `level` with key/value fields.
pub fn emit(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    wit::emit(level, message, &fields);
}

/// Writes a debug line.
pub fn debug(message: &str) {
    emit(Level::Debug, message, &[]);
}

/// Writes an info line.
pub fn info(message: &str) {
    emit(Level::Info, message, &[]);
}

/// Writes a warning.
pub fn warn(message: &str) {
    emit(Level::Warn, message, &[]);
}

/// Writes an error line.
pub fn error(message: &str) {
    emit(Level::Error, message, &[]);
}

pub use crate::bindings::capstan::plugin::log::Level as LogLevel;
