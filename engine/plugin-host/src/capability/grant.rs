//! Capabilities, and the set a user granted to one plugin.

use std::sync::{Arc, RwLock};

use super::HostError;

pub use capstan_wire::grants::{Grant, GrantSet, HttpHost};
pub use capstan_wire::plugins::Capability;

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
            Err(HostError::Denied(Grant::Capability(cap)))
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

    /// Allows a request to `host:port` by `scheme` (`http` or `https`), or
    /// says which grant it lacks: `http:HOST:PORT`.
    pub fn check_http(&self, scheme: &str, host: &str, port: u16) -> Result<(), HostError> {
        let grants = self.0.read().unwrap_or_else(|e| e.into_inner());
        if grants.allows_http(scheme, host, port) {
            return Ok(());
        }
        let default_port = matches!((scheme, port), ("http", 80) | ("https", 443));
        Err(HostError::Denied(Grant::Http(HttpHost {
            host: host.to_string(),
            port: (!default_port).then_some(port),
        })))
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
            Err(HostError::Denied(Grant::Capability(Capability::RemoteExec)))
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

    #[test]
    fn an_http_refusal_names_the_host_and_port_to_grant() {
        let shared = SharedGrants::new(GrantSet::from_grants(["http:hooks.example.com"
            .parse()
            .unwrap()]));
        assert!(shared.check_http("https", "hooks.example.com", 443).is_ok());
        let refused = shared
            .check_http("http", "hooks.example.com", 8080)
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "capability `http:hooks.example.com:8080` is not granted"
        );
        let refused = shared
            .check_http("https", "other.example", 443)
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "capability `http:other.example` is not granted"
        );
    }
}
