//! `kv`: a plugin's private key-value store, kept in the database.

use super::{Capability, HostError, SharedGrants};
use crate::store::{KvUsage, Store};

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// The `kv` capability of one call, scoped to one plugin's keys.
pub struct KvCapability {
    plugin: String,
    grants: SharedGrants,
    store: Option<Store>,
    quota: KvUsage,
}

impl KvCapability {
    /// Keys of `plugin` in `store` (none while the plugin describes
    /// itself), never more than `quota` in all.
    pub fn new(plugin: String, grants: SharedGrants, store: Option<Store>, quota: KvUsage) -> Self {
        KvCapability {
            plugin,
            grants,
            store,
            quota,
        }
    }

    fn open(&self, key: &str) -> Result<&Store, HostError> {
        self.grants.check(Capability::Kv)?;
        if key.len() > MAX_KEY_BYTES {
            return Err(HostError::Invalid(format!(
                "key is {} bytes, over {MAX_KEY_BYTES}",
                key.len()
            )));
        }
        self.store
            .as_ref()
            .ok_or_else(|| HostError::Failed("no store while a plugin describes itself".into()))
    }

    /// Reads a key.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        let store = self.open(key)?;
        store.kv_get(&self.plugin, key).map_err(store_error)
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
            .kv_set(&self.plugin, key, value, quota)
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
        store.kv_delete(&self.plugin, key).map_err(store_error)
    }

    /// Lists keys with a prefix.
    pub fn list_keys(&self, prefix: &str) -> Result<Vec<String>, HostError> {
        let store = self.open(prefix)?;
        store.kv_keys(&self.plugin, prefix).map_err(store_error)
    }
}

fn store_error(e: crate::Error) -> HostError {
    HostError::Failed(e.to_string())
}
