//! API tokens: made with a random secret shown once (only its SHA-256 is
//! kept), listed, revoked, and checked when a request presents one.

use std::time::Duration;

use capstan_plugin_host::plugin::sha256_of;
use capstan_store::NewToken;
use capstan_wire::Actor;
use capstan_wire::clock::now_ms;
use capstan_wire::tokens::{Scope, TokenInfo};

use super::Capstan;
use crate::{Error, Result};

/// What every secret starts with, so one pasted in the wrong place is
/// recognised (and secret scanners can match it).
pub const TOKEN_PREFIX: &str = "capstan_";

/// Characters of the secret kept to tell tokens apart in lists.
const SHOWN_CHARS: usize = TOKEN_PREFIX.len() + 6;

/// A token just made: its description and its secret, which is not kept
/// and cannot be shown again.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    /// The token as lists show it.
    pub info: TokenInfo,
    /// The secret a client presents (`Authorization: Bearer …`).
    pub secret: String,
}

/// Why a presented secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefused {
    /// No token has that secret.
    #[error("unknown token")]
    Unknown,
    /// The token was revoked.
    #[error("token `{0}` was revoked")]
    Revoked(String),
    /// The token expired.
    #[error("token `{0}` expired")]
    Expired(String),
}

impl Capstan {
    /// Makes a token `name` with `scope`, lasting `lifetime` (or until
    /// revoked), on behalf of `by`.
    pub fn create_token(
        &self,
        name: &str,
        scope: Scope,
        lifetime: Option<Duration>,
        by: &Actor,
    ) -> Result<CreatedToken> {
        check_name(name)?;
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::BadInput(format!("no random bytes from the OS: {e}")))?;
        let secret = format!("{TOKEN_PREFIX}{}", crate::hex::encode(&bytes));
        let now = now_ms();
        let expires_at_ms = lifetime.map(|d| now.saturating_add(d.as_millis() as i64));
        let hash = sha256_of(secret.as_bytes());
        let prefix = &secret[..SHOWN_CHARS];
        let added = self.store.add_token(&NewToken {
            name,
            scope,
            hash: &hash,
            prefix,
            created_by: by,
            expires_at_ms,
            now_ms: now,
        })?;
        if !added {
            return Err(Error::BadInput(format!(
                "a token named `{name}` exists: revoke it first, or pick another name"
            )));
        }
        let detail = match expires_at_ms {
            Some(_) => format!("scope {scope}, {prefix}…, expires"),
            None => format!("scope {scope}, {prefix}…, does not expire"),
        };
        self.audit_as(by, "create", &format!("token:{name}"), &detail)?;
        let info = TokenInfo {
            name: name.to_string(),
            scope,
            prefix: prefix.to_string(),
            created_by: by.clone(),
            created_at_ms: now,
            expires_at_ms,
            last_used_at_ms: None,
            revoked_at_ms: None,
        };
        Ok(CreatedToken { info, secret })
    }

    /// Every token (never their secrets), live ones first.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>> {
        Ok(self.store.tokens()?)
    }

    /// Revokes the live token `name`: refused from its next request on.
    pub fn revoke_token(&self, name: &str, by: &Actor) -> Result<()> {
        if !self.store.revoke_token(name, now_ms())? {
            return Err(Error::BadInput(format!(
                "there is no live token named `{name}` (`capstan tokens list`)"
            )));
        }
        self.audit_as(by, "revoke", &format!("token:{name}"), "")
    }

    /// The token a request presented, if it may be used now.
    pub fn authenticate(
        &self,
        secret: &str,
    ) -> Result<std::result::Result<TokenInfo, TokenRefused>> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(Err(TokenRefused::Unknown));
        }
        let now = now_ms();
        let found = self
            .store
            .token_by_hash(&sha256_of(secret.as_bytes()), now)?;
        Ok(match found {
            None => Err(TokenRefused::Unknown),
            Some(token) if token.revoked_at_ms.is_some() => Err(TokenRefused::Revoked(token.name)),
            Some(token) if !token.usable(now) => Err(TokenRefused::Expired(token.name)),
            Some(token) => Ok(token),
        })
    }

    /// Appends an audit entry about `subject` (`kind:name`) made by `by`.
    pub fn audit_as(&self, by: &Actor, action: &str, subject: &str, detail: &str) -> Result<()> {
        // An OS user is written bare, as every entry was before actors had kinds.
        let actor = match by {
            Actor::User(name) => name.clone(),
            other => other.to_string(),
        };
        let entry = capstan_store::AuditEntry::about(now_ms(), &actor, action, subject, detail);
        Ok(self.store.audit(&entry)?)
    }
}

/// A token name: 1 to 64 letters, digits, `.`, `_` or `-`.
fn check_name(name: &str) -> Result<()> {
    let fits = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if fits {
        return Ok(());
    }
    Err(Error::BadInput(format!(
        "token name `{}`: use 1 to 64 letters, digits, `.`, `_` or `-`",
        name.escape_debug()
    )))
}
