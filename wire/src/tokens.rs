//! API tokens as faces list them: a name, a scope, dates. The secret is
//! shown once, when a token is made, and never stored.

use serde::{Deserialize, Serialize};

named_enum! {
    /// What a token may do; each scope includes the ones before it.
    pub enum Scope {
        /// See hosts, plugins, jobs, logs, schedules and Docker views.
        Read = "read",
        /// Also start, re-run and cancel jobs.
        Run = "run",
        /// Also change what Capstan is: plugins and grants, hosts,
        /// schedules, notifications, webhooks, secrets and tokens.
        Admin = "admin",
    }
}

impl Scope {
    /// Whether a token of this scope may do what `needed` allows.
    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

/// A token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    /// Its name: jobs it starts are launched by `token:NAME`.
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// The secret's first characters, to tell tokens apart.
    pub prefix: String,
    /// Who made it.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_by: crate::Actor,
    /// When it was made (ms since the epoch).
    pub created_at_ms: i64,
    /// When it stops working, if ever.
    pub expires_at_ms: Option<i64>,
    /// When it was last used (to the minute).
    pub last_used_at_ms: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
}

impl TokenInfo {
    /// Whether it can still be used at `now_ms`.
    pub fn usable(&self, now_ms: i64) -> bool {
        self.revoked_at_ms.is_none() && self.expires_at_ms.is_none_or(|end| now_ms < end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scope_includes_the_ones_before_it() {
        assert!(Scope::Admin.allows(Scope::Run));
        assert!(Scope::Run.allows(Scope::Read));
        assert!(Scope::Run.allows(Scope::Run));
        assert!(!Scope::Read.allows(Scope::Run));
        assert!(!Scope::Run.allows(Scope::Admin));
    }
}
