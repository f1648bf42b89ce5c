//! Exit codes scripts can rely on.

use std::process::ExitCode;

/// What `capstan` exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything ok or changed.
    Success = 0,
    /// Capstan itself failed (store, runtime, I/O).
    Internal = 1,
    /// A target failed.
    Failed = 2,
    /// Bad input, or a capability was denied.
    DeniedOrBadInput = 3,
    /// The job was cancelled (Ctrl-C, `capstan jobs cancel`, the window,
    /// the API): 128 + SIGINT, as shells report an interrupted command.
    Cancelled = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// The exit code for an error that ended a command.
pub fn classify(error: &anyhow::Error) -> Exit {
    match error.downcast_ref::<capstan_engine::Error>() {
        Some(e) if e.is_bad_input() => Exit::DeniedOrBadInput,
        Some(capstan_engine::Error::PluginFailed { .. }) => Exit::Failed,
        _ if error.downcast_ref::<BadInput>().is_some() => Exit::DeniedOrBadInput,
        _ => Exit::Internal,
    }
}

/// A mistake in the command line that clap cannot see (a bad `-p`, say).
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}
