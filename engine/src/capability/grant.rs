//! Capabilities, and the set a user granted to one plugin.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use super::HostError;

/// One narrow permission a plugin asks for and a user grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Its own persistent key-value store.
    Kv,
    /// Run commands on the run's targets.
    RemoteExec,
    /// Read, write and inspect files on the run's targets.
    RemoteFiles,
    /// See the Docker engines of the run's targets (containers, images,
    /// services, logs).
    DockerRead,
    /// Change the Docker engines of the run's targets.
    DockerWrite,
    /// Act on `local`, this computer, as the user running Capstan: needed
    /// besides `remote.*` or `docker.*` for any call on that target.
    Local,
}

impl Capability {
    /// Every capability this host knows, in display order.
    pub const ALL: [Capability; 6] = [
        Capability::Kv,
        Capability::RemoteExec,
        Capability::RemoteFiles,
        Capability::DockerRead,
        Capability::DockerWrite,
        Capability::Local,
    ];

    /// The name used in manifests, the CLI and the store.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Kv => "kv",
            Capability::RemoteExec => "remote.exec",
            Capability::RemoteFiles => "remote.files",
            Capability::DockerRead => "docker.read",
            Capability::DockerWrite => "docker.write",
            Capability::Local => "local",
        }
    }

    /// What granting it allows, in plain words for the grant prompt.
    pub fn plain_words(self) -> &'static str {
        match self {
            Capability::Kv => "keep its own data between runs (a private key-value store)",
            Capability::RemoteExec => {
                "run commands, as your login, on the hosts you run it against"
            }
            Capability::RemoteFiles => "read and write files on the hosts you run it against",
            Capability::DockerRead => {
                "see the containers, images, services and logs of the hosts' Docker engines"
            }
            Capability::DockerWrite => {
                "create, change and remove containers, images, networks, volumes and swarm \
                 services on the hosts' Docker engines (as powerful as root there)"
            }
            Capability::Local => {
                "do all of the above on this computer too, as you (Capstan's own data \
                 folder stays out of its file calls)"
            }
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Capability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Capability::ALL.iter().map(|c| c.name()).collect();
                format!("unknown capability `{s}` (known: {})", known.join(", "))
            })
    }
}

/// The capabilities granted to one plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantSet(BTreeSet<Capability>);

impl GrantSet {
    /// A set holding exactly these capabilities.
    pub fn new(caps: impl IntoIterator<Item = Capability>) -> Self {
        GrantSet(caps.into_iter().collect())
    }

    /// Allows `cap` or says it is denied.
    pub fn check(&self, cap: Capability) -> Result<(), HostError> {
        if self.0.contains(&cap) {
            Ok(())
        } else {
            Err(HostError::Denied(cap))
        }
    }

    /// True when `cap` is granted.
    pub fn contains(&self, cap: Capability) -> bool {
        self.0.contains(&cap)
    }

    /// The granted capabilities, sorted.
    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        self.0.iter().copied()
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
        for cap in Capability::ALL {
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
