//! Capabilities, and the set a user granted to one plugin.

use std::sync::{Arc, RwLock};

use super::HostError;

pub use capstan_wire::plugins::{Capability, GrantSet};

/// Checking a [`GrantSet`] on a host call.
pub trait GrantCheck {
    /// Allows `cap` or says it is denied.
    fn check(&self, cap: Capability) -> Result<(), HostError>;
}

impl GrantCheck for GrantSet {
    fn check(&self, cap: Capability) -> Result<(), HostError> {
        if self.contains(cap) {
            Ok(())
        } else {
            Err(HostError::Denied(cap))
        }
    }
}

/// A plugin's grants as the running host sees them. Revoking through the
/// same engine takes effect on the very next host call, even mid-run.
#[derive(Debug, Clone, Default)]
pub struct SharedGrants(Arc<RwLock<GrantSet>>);

impl SharedGrants {
    /// Wraps a grant set.
    pub fn new(set: GrantSet) -> Self {
        SharedGrants(Arc::new(RwLock::new(set)))
    }

    /// Checks one capability against the current grants.
    pub fn check(&self, cap: Capability) -> Result<(), HostError> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).check(cap)
    }

    /// Replaces the grants.
    pub fn replace(&self, set: GrantSet) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = set;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for &cap in Capability::ALL {
            assert_eq!(cap.name().parse::<Capability>().unwrap(), cap);
        }
        let err = "network".parse::<Capability>().unwrap_err();
        assert!(err.contains("unknown capability `network`"), "{err}");
        assert!(err.contains("remote.exec"), "{err}");
    }

    #[test]
    fn check_denies_what_was_not_granted() {
        let grants = GrantSet::new([Capability::Kv]);
        assert!(grants.check(Capability::Kv).is_ok());
        assert_eq!(
            grants.check(Capability::RemoteExec),
            Err(HostError::Denied(Capability::RemoteExec))
        );
    }

    #[test]
    fn shared_grants_see_a_revoke_at_once() {
        let shared = SharedGrants::new(GrantSet::new([Capability::Kv]));
        let seen_by_run = shared.clone();
        assert!(seen_by_run.check(Capability::Kv).is_ok());
        shared.replace(GrantSet::default());
        assert!(seen_by_run.check(Capability::Kv).is_err());
    }
}
