//! The store as the `kv` capability's backend: the facade joins the two,
//! so neither imports the other.

use crate::capability::kv::KvBackend;
use crate::limits::KvUsage;
use crate::store::Store;

impl KvBackend for Store {
    fn get(&self, plugin: &str, key: &str) -> crate::Result<Option<Vec<u8>>> {
        Ok(self.kv_get(plugin, key)?)
    }

    fn set(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: KvUsage,
    ) -> crate::Result<Result<(), KvUsage>> {
        Ok(self.kv_set(plugin, key, value, quota)?)
    }

    fn delete(&self, plugin: &str, key: &str) -> crate::Result<()> {
        Ok(self.kv_delete(plugin, key)?)
    }

    fn keys(&self, plugin: &str, prefix: &str) -> crate::Result<Vec<String>> {
        Ok(self.kv_keys(plugin, prefix)?)
    }
}
