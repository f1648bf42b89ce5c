//! The error a plugin's `run` returns; the host reports it as `failed`.

use std::fmt;

use crate::bindings::capstan::plugin::types::HostError;

/// Why an action could not complete.
#[derive(Debug, Clone)]
pub enum Error {
    /// The parameters did not match the action's schema.
    InvalidParams(String),
    /// The action is not one this plugin offers.
    UnknownAction(String),
    /// A host call failed (denied, unavailable, limit, ...).
    Host(HostError),
    /// Anything else, in the plugin's words.
    Failed(String),
}

impl Error {
    /// An error in the plugin's own words.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::Failed(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidParams(m) => write!(f, "invalid params: {m}"),
            Error::UnknownAction(a) => write!(f, "unknown action `{a}`"),
            Error::Host(e) => f.write_str(&describe(e)),
            Error::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<HostError> for Error {
    fn from(e: HostError) -> Self {
        Error::Host(e)
    }
}

/// Says what a host error means, in words a person reads in the result table.
fn describe(error: &HostError) -> String {
    match error {
        HostError::Denied(cap) => format!("denied: capability `{cap}` is not granted"),
        HostError::Invalid(m) => format!("invalid argument: {m}"),
        HostError::Unavailable(m) => format!("unavailable: {m}"),
        HostError::Limit(m) => format!("limit reached: {m}"),
        HostError::Failed(m) => format!("host error: {m}"),
    }
}
