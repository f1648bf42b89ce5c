//! API tokens: a name, a scope and the SHA-256 of the secret (the secret
//! itself is never stored), with who made it, expiry, last use and
//! revocation.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};
use capstan_wire::Actor;
use capstan_wire::tokens::{Scope, TokenInfo};

/// How often a token's last use is written: at most once a minute, so a
/// busy client does not turn every read into a write.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// A token to add.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    /// Its name, unique among tokens not revoked.
    pub name: &'a str,
    /// What it may do.
    pub scope: Scope,
    /// SHA-256 of the secret, lower-case hex.
    pub hash: &'a str,
    /// The secret's first characters.
    pub prefix: &'a str,
    /// Who makes it.
    pub created_by: &'a Actor,
    /// When it stops working.
    pub expires_at_ms: Option<i64>,
    /// Now.
    pub now_ms: i64,
}

impl Store {
    /// Adds a token; false (and nothing added) when a live token has
    /// that name.
    pub fn add_token(&self, token: &NewToken<'_>) -> Result<bool> {
        let added = self.with(|conn| {
            conn.execute(
                "INSERT INTO tokens (name, scope, hash, prefix, created_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    token.name,
                    token.scope.name(),
                    token.hash,
                    token.prefix,
                    token.created_by.to_string(),
                    token.now_ms,
                    token.expires_at_ms
                ],
            )
        });
        Store::added_unless_taken(added)
    }

    /// Every token, live ones first, then by name.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.with(|conn| {
            let mut stmt = conn.prepare(&format!(
                "{SELECT_TOKEN} ORDER BY revoked_at IS NOT NULL, name, created_at"
            ))?;
            stmt.query_map([], read_token)?.collect()
        })
    }

    /// The token whose secret hashes to `hash`, if any (revoked or
    /// expired ones too: the caller says why it is refused). Its last use
    /// is recorded, to the minute.
    ///
    /// A token found since the database last changed is answered from
    /// memory; any commit (a revocation by this process or another
    /// included) makes the next request read it again.
    pub fn token_by_hash(&self, hash: &str, now_ms: i64) -> Result<Option<TokenInfo>> {
        // The version first: a row read after it is at least that new.
        let version = self.data_version()?;
        let token = match self.cached_token(hash, version) {
            Some(token) => Some(token),
            None => {
                let token = self.read(|conn| {
                    conn.prepare_cached(&format!("{SELECT_TOKEN} WHERE hash = ?1"))?
                        .query_row([hash], read_token)
                        .optional()
                })?;
                if let Some(token) = &token {
                    self.cache_token(hash, version, token);
                }
                token
            }
        };
        if let Some(token) = &token
            && token.usable(now_ms)
            && token
                .last_used_at_ms
                .is_none_or(|last| now_ms - last >= LAST_USED_RESOLUTION_MS)
        {
            self.with(|conn| {
                conn.execute(
                    "UPDATE tokens SET last_used_at = ?2 WHERE hash = ?1",
                    params![hash, now_ms],
                )
            })?;
        }
        Ok(token)
    }

    /// Revokes the live token `name`; false when there is none.
    pub fn revoke_token(&self, name: &str, now_ms: i64) -> Result<bool> {
        let changed = self.with(|conn| {
            conn.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                params![name, now_ms],
            )
        })?;
        Ok(changed > 0)
    }
}

/// Tokens found lately, keyed by hash, all read at one database version.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    version: i64,
    found: HashMap<String, TokenInfo>,
}

/// The most tokens remembered; past that the cache starts again.
const CACHED_TOKENS: usize = 256;

impl Store {
    fn token_cache(&self) -> std::sync::MutexGuard<'_, TokenCache> {
        self.inner.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The token found for `hash` at database `version`, if remembered.
    fn cached_token(&self, hash: &str, version: i64) -> Option<TokenInfo> {
        let cache = self.token_cache();
        (cache.version == version)
            .then(|| cache.found.get(hash).cloned())
            .flatten()
    }

    fn cache_token(&self, hash: &str, version: i64, token: &TokenInfo) {
        let mut cache = self.token_cache();
        if cache.version != version || cache.found.len() >= CACHED_TOKENS {
            cache.found.clear();
            cache.version = version;
        }
        cache.found.insert(hash.to_string(), token.clone());
    }
}

const SELECT_TOKEN: &str = "SELECT name, scope, prefix, created_by, created_at, expires_at, last_used_at, revoked_at FROM tokens";

fn read_token(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenInfo> {
    let created_by: String = r.get(3)?;
    let Ok(created_by) = created_by.parse();
    Ok(TokenInfo {
        name: r.get(0)?,
        // The table's CHECK keeps it one of the three.
        scope: Scope::from_name(&r.get::<_, String>(1)?).unwrap_or(Scope::Read),
        prefix: r.get(2)?,
        created_by,
        created_at_ms: r.get(4)?,
        expires_at_ms: r.get(5)?,
        last_used_at_ms: r.get(6)?,
        revoked_at_ms: r.get(7)?,
    })
}
