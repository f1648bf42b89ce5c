//! The doors a plugin can be granted. Each capability owns its grant check
//! and its host implementation in a module of its own; `log` is always open.

pub mod docker;
mod grant;
pub mod http;
pub mod kv;
pub mod log;
pub mod remote;

pub use grant::{Capability, Grant, GrantCheck, GrantSet, HttpHost, SharedGrants};

/// Why a host call refused or failed, independent of the contract version;
/// each version's bindings map it onto their own `host-error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The capability (or HTTP host) is not granted.
    Denied(Grant),
    /// An argument was refused.
    Invalid(String),
    /// The target could not be reached.
    Unavailable(String),
    /// A per-run limit was reached.
    Limit(String),
    /// Anything else.
    Failed(String),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Denied(grant) => write!(f, "capability `{grant}` is not granted"),
            HostError::Invalid(m) => write!(f, "invalid argument: {m}"),
            HostError::Unavailable(m) => write!(f, "unavailable: {m}"),
            HostError::Limit(m) => write!(f, "limit reached: {m}"),
            HostError::Failed(m) => write!(f, "{m}"),
        }
    }
}

/// The run's target called `name`, once `cap` is granted (and `local` too
/// when that target is this computer); a name outside the run is refused
/// (a plugin never picks an arbitrary host).
pub(crate) fn run_target<'a>(
    grants: &SharedGrants,
    cap: Capability,
    targets: &'a [crate::target::Target],
    name: &str,
) -> Result<&'a crate::target::Target, HostError> {
    grants.check(cap)?;
    let target = targets.iter().find(|t| t.name == name).ok_or_else(|| {
        HostError::Invalid(format!(
            "target `{}` is not part of this run",
            name.escape_debug()
        ))
    })?;
    // This computer, as the user running Capstan, is a grant of its own.
    if target.is_local() {
        grants.check(Capability::Local)?;
    }
    Ok(target)
}
