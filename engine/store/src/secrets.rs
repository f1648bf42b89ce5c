//! Sealed secrets: a nonce and a ciphertext per name (the engine seals and
//! opens them; the store never sees a value), with who set it and when.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};
use capstan_wire::Actor;
use capstan_wire::secrets::SecretInfo;

/// A secret as sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// The nonce it was sealed with.
    pub nonce: Vec<u8>,
    /// The ciphertext and its tag.
    pub sealed: Vec<u8>,
}

impl Store {
    /// Sets a secret (replacing one of that name); true when it is new.
    pub fn put_secret(
        &self,
        name: &str,
        secret: &SealedSecret,
        by: &Actor,
        now_ms: i64,
    ) -> Result<bool> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            let existed: bool = tx
                .query_row("SELECT 1 FROM secrets WHERE name = ?1", [name], |_| Ok(true))
                .optional()?
                .unwrap_or(false);
            tx.execute(
                "INSERT INTO secrets (name, nonce, sealed, updated_by, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT(name) DO UPDATE SET nonce = ?2, sealed = ?3, updated_by = ?4, updated_at = ?5",
                params![name, secret.nonce, secret.sealed, by.to_string(), now_ms],
            )?;
            tx.commit()?;
            Ok(!existed)
        })
    }

    /// The sealed secret called `name`.
    pub fn sealed_secret(&self, name: &str) -> Result<Option<SealedSecret>> {
        self.with(|conn| {
            conn.query_row(
                "SELECT nonce, sealed FROM secrets WHERE name = ?1",
                [name],
                |r| {
                    Ok(SealedSecret {
                        nonce: r.get(0)?,
                        sealed: r.get(1)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Every secret's name and dates, by name.
    pub fn secrets(&self) -> Result<Vec<SecretInfo>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT name, updated_by, created_at, updated_at FROM secrets ORDER BY name",
            )?;
            stmt.query_map([], |r| {
                Ok(SecretInfo {
                    name: r.get(0)?,
                    updated_by: r.get::<_, String>(1)?.parse().unwrap_or_default(),
                    created_at_ms: r.get(2)?,
                    updated_at_ms: r.get(3)?,
                })
            })?
            .collect()
        })
    }

    /// Removes a secret; false when there is none so named.
    pub fn remove_secret(&self, name: &str) -> Result<bool> {
        self.with(|conn| Ok(conn.execute("DELETE FROM secrets WHERE name = ?1", [name])? == 1))
    }
}
