//! Each plugin's private key-value store.

use rusqlite::{OptionalExtension, params};

use super::KvUsage;
use super::Result;
use super::Store;

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

    /// Writes `key` of `plugin` unless the plugin's store would then hold
    /// more than `quota` (keys, bytes of keys and values); returns the
    /// usage it would have reached when refused.
    pub fn kv_set(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: KvUsage,
    ) -> Result<std::result::Result<(), KvUsage>> {
        self.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            let (keys, bytes): (u64, u64) = tx.query_row(
                "SELECT COUNT(*), COALESCE(SUM(length(CAST(key AS BLOB)) + length(value)), 0)
                 FROM kv WHERE plugin = ?1 AND key != ?2",
                params![plugin, key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let after = KvUsage {
                keys: keys + 1,
                bytes: bytes + key.len() as u64 + value.len() as u64,
            };
            if after.keys > quota.keys || after.bytes > quota.bytes {
                return Ok(Err(after));
            }
            tx.execute(
                "INSERT INTO kv (plugin, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT(plugin, key) DO UPDATE SET value = excluded.value",
                params![plugin, key, value],
            )?;
            tx.commit()?;
            Ok(Ok(()))
        })
    }

    /// How much `plugin` keeps in its store.
    pub fn kv_usage(&self, plugin: &str) -> Result<KvUsage> {
        self.with(|conn| {
            conn.query_row(
                "SELECT COUNT(*), COALESCE(SUM(length(CAST(key AS BLOB)) + length(value)), 0)
                 FROM kv WHERE plugin = ?1",
                params![plugin],
                |r| {
                    Ok(KvUsage {
                        keys: r.get(0)?,
                        bytes: r.get(1)?,
                    })
                },
            )
        })
    }

    /// Removes every key of `plugin`.
    pub fn kv_clear(&self, plugin: &str) -> Result<()> {
        self.with(|conn| conn.execute("DELETE FROM kv WHERE plugin = ?1", params![plugin]))?;
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
