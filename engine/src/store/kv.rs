//! Each plugin's private key-value store.

use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::Result;

impl Store {
    /// Reads `key` of `plugin`.
    pub fn kv_get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.with(|conn| {
            conn.query_row(
                "SELECT value FROM kv WHERE plugin = ?1 AND key = ?2",
                params![plugin, key],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Writes `key` of `plugin`.
    pub fn kv_set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO kv (plugin, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT(plugin, key) DO UPDATE SET value = excluded.value",
                params![plugin, key, value],
            )
        })?;
        Ok(())
    }

    /// Removes `key` of `plugin`.
    pub fn kv_delete(&self, plugin: &str, key: &str) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "DELETE FROM kv WHERE plugin = ?1 AND key = ?2",
                params![plugin, key],
            )
        })?;
        Ok(())
    }

    /// Keys of `plugin` starting with `prefix`, sorted.
    pub fn kv_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>> {
        self.with(|conn| {
            let mut stmt = conn.prepare("SELECT key FROM kv WHERE plugin = ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key")?;
            stmt.query_map(params![plugin, prefix], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
    }
}
