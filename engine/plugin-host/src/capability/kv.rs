//! `kv`: a plugin's private key-value store, kept in the database. The
//! capability reaches it through [`KvBackend`], a narrow trait, not the
//! store itself.

use std::sync::Arc;

use super::{Capability, HostError, SharedGrants};
use crate::limits::KvUsage;

/// Why the backend could not answer (the store's own error, boxed: this
/// crate does not know the store).
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// A backend call's result.
pub type BackendResult<T> = std::result::Result<T, BackendError>;

/// What the `kv` capability needs of the database: one plugin's keys,
/// read, written within a quota, removed and listed.
pub trait KvBackend: Send + Sync {
    /// Reads `key` of `plugin`.
    fn get(&self, plugin: &str, key: &str) -> BackendResult<Option<Vec<u8>>>;
    /// Writes `key` of `plugin` unless the plugin's keys would then pass
    /// `quota`; returns the usage it would have reached when refused.
    fn set(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: KvUsage,
    ) -> BackendResult<Result<(), KvUsage>>;
    /// Removes `key` of `plugin`.
    fn delete(&self, plugin: &str, key: &str) -> BackendResult<()>;
    /// `plugin`'s keys starting with `prefix`.
    fn keys(&self, plugin: &str, prefix: &str) -> BackendResult<Vec<String>>;
}

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// The `kv` capability of one call, scoped to one plugin's keys.
pub struct KvCapability {
    plugin: String,
    grants: SharedGrants,
    store: Option<Arc<dyn KvBackend>>,
    quota: KvUsage,
}

impl KvCapability {
    /// Keys of `plugin` in `store` (none while the plugin describes
    /// itself), never more than `quota` in all.
    pub fn new(
        plugin: String,
        grants: SharedGrants,
        store: Option<Arc<dyn KvBackend>>,
        quota: KvUsage,
    ) -> Self {
        KvCapability {
            plugin,
            grants,
            store,
            quota,
        }
    }

    fn open(&self, key: &str) -> Result<&dyn KvBackend, HostError> {
        self.grants.check(Capability::Kv)?;
        if key.len() > MAX_KEY_BYTES {
            return Err(HostError::Invalid(format!(
                "key is {} bytes, over {MAX_KEY_BYTES}",
                key.len()
            )));
        }
        self.store
            .as_deref()
            .ok_or_else(|| HostError::Failed("no store while a plugin describes itself".into()))
    }

    /// Reads a key.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        let store = self.open(key)?;
        store.get(&self.plugin, key).map_err(store_error)
    }

    /// Writes a key.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), HostError> {
        let store = self.open(key)?;
        if key.is_empty() {
            return Err(HostError::Invalid("key is empty".into()));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(HostError::Limit(format!(
                "value is {} bytes, over {MAX_VALUE_BYTES}",
                value.len()
            )));
        }
        let quota = self.quota;
        match store
            .set(&self.plugin, key, value, quota)
            .map_err(store_error)?
        {
            Ok(()) => Ok(()),
            Err(after) => Err(HostError::Limit(format!(
                "kv quota: writing `{}` would make {} keys and {} bytes, over the plugin's \
                 {} keys and {} bytes (`capstan plugin limits {} --kv-keys N --kv-mib N`)",
                key.escape_debug(),
                after.keys,
                after.bytes,
                quota.keys,
                quota.bytes,
                self.plugin
            ))),
        }
    }

    /// Removes a key.
    pub fn delete(&self, key: &str) -> Result<(), HostError> {
        let store = self.open(key)?;
        store.delete(&self.plugin, key).map_err(store_error)
    }

    /// Lists keys with a prefix.
    pub fn list_keys(&self, prefix: &str) -> Result<Vec<String>, HostError> {
        let store = self.open(prefix)?;
        store.keys(&self.plugin, prefix).map_err(store_error)
    }
}

fn store_error(e: BackendError) -> HostError {
    HostError::Failed(e.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;
    use crate::capability::GrantSet;

    /// Keys in memory: what the capability asks of its backend, no more.
    #[derive(Default)]
    struct InMemory(Mutex<BTreeMap<(String, String), Vec<u8>>>);

    impl KvBackend for InMemory {
        fn get(&self, plugin: &str, key: &str) -> BackendResult<Option<Vec<u8>>> {
            let keys = self.0.lock().unwrap();
            Ok(keys.get(&(plugin.into(), key.into())).cloned())
        }
        fn set(
            &self,
            plugin: &str,
            key: &str,
            value: &[u8],
            quota: KvUsage,
        ) -> BackendResult<Result<(), KvUsage>> {
            let mut keys = self.0.lock().unwrap();
            let after = KvUsage {
                keys: keys.keys().filter(|(p, k)| p == plugin && k != key).count() as u64 + 1,
                bytes: 0,
            };
            if after.keys > quota.keys {
                return Ok(Err(after));
            }
            keys.insert((plugin.into(), key.into()), value.to_vec());
            Ok(Ok(()))
        }
        fn delete(&self, plugin: &str, key: &str) -> BackendResult<()> {
            self.0.lock().unwrap().remove(&(plugin.into(), key.into()));
            Ok(())
        }
        fn keys(&self, plugin: &str, prefix: &str) -> BackendResult<Vec<String>> {
            let keys = self.0.lock().unwrap();
            Ok(keys
                .keys()
                .filter(|(p, k)| p == plugin && k.starts_with(prefix))
                .map(|(_, k)| k.clone())
                .collect())
        }
    }

    fn kv(plugin: &str, granted: bool, backend: &Arc<InMemory>) -> KvCapability {
        let grants = if granted {
            GrantSet::new([Capability::Kv])
        } else {
            GrantSet::new([])
        };
        KvCapability::new(
            plugin.into(),
            SharedGrants::new(grants),
            Some(backend.clone()),
            KvUsage {
                keys: 2,
                bytes: 1 << 20,
            },
        )
    }

    #[test]
    fn each_plugin_sees_its_own_keys_within_its_quota() {
        let backend = Arc::new(InMemory::default());
        let a = kv("a", true, &backend);
        let b = kv("b", true, &backend);
        a.set("x", b"1").unwrap();
        assert_eq!(a.get("x").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(
            b.get("x").unwrap(),
            None,
            "another plugin's keys are not seen"
        );
        a.set("y", b"2").unwrap();
        let over = a.set("z", b"3").unwrap_err().to_string();
        assert!(over.contains("kv quota") && over.contains("`z`"), "{over}");
        assert_eq!(a.list_keys("").unwrap(), ["x", "y"]);
        a.delete("x").unwrap();
        assert_eq!(a.list_keys("").unwrap(), ["y"]);
    }

    #[test]
    fn the_grant_and_the_key_rules_come_before_the_backend() {
        let backend = Arc::new(InMemory::default());
        assert!(matches!(
            kv("a", false, &backend).set("x", b"1"),
            Err(HostError::Denied(crate::capability::Grant::Capability(
                Capability::Kv
            )))
        ));
        let a = kv("a", true, &backend);
        assert!(matches!(a.set("", b"1"), Err(HostError::Invalid(_))));
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(a.get(&long), Err(HostError::Invalid(_))));
        let big = vec![0; MAX_VALUE_BYTES + 1];
        assert!(matches!(a.set("x", &big), Err(HostError::Limit(_))));
        assert!(
            backend.0.lock().unwrap().is_empty(),
            "nothing reached the backend"
        );
    }
}
