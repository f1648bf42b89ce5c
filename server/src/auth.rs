//! Who a request is and what it may do. On TCP a request presents a token
//! (`Authorization: Bearer capstan_…`); on the Unix socket, which only its
//! owner can open, a request without one acts as that OS user with every
//! scope. Each route takes one of [`Reader`], [`Runner`] or [`Admin`]:
//! the extractor refuses a request whose scope is too small (403) or that
//! is not authenticated (401). Failed authentications are counted per
//! source; past [`MAX_FAILURES`] in [`FAILURE_WINDOW`] the source is
//! answered 429 until the window ends.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use capstan_engine::TokenRefused;
use capstan_wire::tokens::Scope;
use capstan_wire::{Actor, ErrorCode};

use crate::AppState;
use crate::error::HttpError;

/// Failed authentications a source may make in [`FAILURE_WINDOW`] by
/// default (`capstan serve --auth-failures`).
pub const MAX_FAILURES: u32 = 10;

/// The window failures are counted over.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Sources tracked at most; past that the oldest windows are dropped.
const TRACKED_SOURCES: usize = 10_000;

/// Who made a request, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Recorded on what they start or change.
    pub actor: Actor,
    /// What they may do.
    pub scope: Scope,
}

/// Counts failed authentications per source.
#[derive(Debug)]
pub struct FailureLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    max: u32,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter::new(MAX_FAILURES)
    }
}

impl FailureLimiter {
    /// A limiter that blocks a source after `max` failures in
    /// [`FAILURE_WINDOW`].
    pub fn new(max: u32) -> Self {
        FailureLimiter {
            windows: Mutex::default(),
            max: max.max(1),
        }
    }

    /// Whether `source` is over its limit now.
    pub(crate) fn blocked(&self, source: &str) -> bool {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        windows
            .get(source)
            .is_some_and(|(start, count)| start.elapsed() < FAILURE_WINDOW && *count >= self.max)
    }

    /// Counts one failure of `source`.
    pub(crate) fn failed(&self, source: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= TRACKED_SOURCES {
            windows.retain(|_, (start, _)| start.elapsed() < FAILURE_WINDOW);
        }
        let entry = windows
            .entry(source.to_string())
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= FAILURE_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

/// Authenticates a request and checks it may do what `needed` allows.
pub async fn authorize(
    parts: &Parts,
    state: &AppState,
    needed: Scope,
) -> Result<Caller, HttpError> {
    let source = source_of(parts);
    refuse_if_blocked(state, &source)?;
    let presented = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default())
        .map(|value| value.strip_prefix("Bearer ").unwrap_or_default().trim());
    let caller = match (presented, &state.socket_user) {
        (None, Some(user)) => Caller {
            actor: user.clone(),
            scope: Scope::Admin,
        },
        (None, None) => {
            return Err(HttpError::new(
                ErrorCode::Unauthorized,
                "this API needs a token: `Authorization: Bearer capstan_…` (`capstan tokens create`)",
            ));
        }
        (Some(secret), _) => match state.capstan.authenticate(secret)? {
            Ok(token) => Caller {
                actor: Actor::Token(token.name),
                scope: token.scope,
            },
            Err(refused) => {
                state.failures.failed(&source);
                tracing::warn!(%source, why = %refused, "a request's token was refused");
                let message = match refused {
                    TokenRefused::Unknown => "the token is not one of this Capstan's".to_string(),
                    other => other.to_string(),
                };
                return Err(HttpError::new(ErrorCode::Unauthorized, message));
            }
        },
    };
    if !caller.scope.allows(needed) {
        return Err(HttpError::new(
            ErrorCode::Forbidden,
            format!(
                "{} has scope `{}`; this needs `{needed}`",
                caller.actor, caller.scope
            ),
        ));
    }
    Ok(caller)
}

/// Where a request comes from: its IP address, or `unix` for the socket.
pub fn source_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unix".to_string(), |info| info.0.ip().to_string())
}

/// 429 when `source` failed to authenticate too often lately.
pub fn refuse_if_blocked(state: &AppState, source: &str) -> Result<(), HttpError> {
    if state.failures.blocked(source) {
        return Err(HttpError::new(
            ErrorCode::RateLimited,
            format!(
                "too many failed authentications from {source}: wait up to {} s",
                FAILURE_WINDOW.as_secs()
            ),
        ));
    }
    Ok(())
}

macro_rules! scoped_caller {
    ($(#[$doc:meta])* $name:ident, $scope:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Caller);

        impl FromRequestParts<AppState> for $name {
            type Rejection = HttpError;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
                authorize(parts, state, $scope).await.map($name)
            }
        }
    };
}

scoped_caller!(
    /// A caller allowed to look (`read` scope or more).
    Reader,
    Scope::Read
);
scoped_caller!(
    /// A caller allowed to start and cancel jobs (`run` scope or more).
    Runner,
    Scope::Run
);
scoped_caller!(
    /// A caller allowed to change what Capstan is (`admin` scope).
    Admin,
    Scope::Admin
);
