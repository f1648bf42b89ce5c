//! The store as the `kv` capability's backend: the facade joins the two,
//! so neither imports the other.

use capstan_plugin_host::capability::kv::{BackendResult, KvBackend};
use capstan_plugin_host::limits::KvUsage;
use capstan_store::Store;

/// The store seen as the `kv` capability's backend (a type of the engine's
/// own, since neither the trait nor the store is).
pub(crate) struct StoreKv(pub(crate) Store);

impl KvBackend for StoreKv {
    fn get(&self, plugin: &str, key: &str) -> BackendResult<Option<Vec<u8>>> {
        Ok(self.0.kv_get(plugin, key)?)
    }

    fn set(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: KvUsage,
    ) -> BackendResult<Result<(), KvUsage>> {
        Ok(self.0.kv_set(plugin, key, value, quota)?)
    }

    fn delete(&self, plugin: &str, key: &str) -> BackendResult<()> {
        Ok(self.0.kv_delete(plugin, key)?)
    }

    fn keys(&self, plugin: &str, prefix: &str) -> BackendResult<Vec<String>> {
        Ok(self.0.kv_keys(plugin, prefix)?)
    }
}
