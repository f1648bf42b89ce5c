//! Tokens: list, create (the secret is in the answer, once) and revoke.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use capstan_wire::tokens::{Scope, TokenInfo};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Admin;
use crate::error::{Body, HttpResult, PathOf};

/// The longest lifetime a token can be given: 100 years.
pub const MAX_LIFETIME_SECS: u64 = 100 * 365 * 86_400;

/// A token to make.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Its name (letters, digits, `.`, `_`, `-`).
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]+$")]
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// How long it lasts, in seconds (default: until revoked).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3_153_600_000_u64)]
    pub expires_in_seconds: Option<u64>,
}

/// A token just made, with its secret (shown this once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MadeToken {
    /// The token as lists show it.
    pub token: TokenInfo,
    /// The secret; it is not kept and cannot be shown again.
    pub secret: String,
}

/// Every token (never their secrets), live ones first.
#[utoipa::path(get, path = "/api/v1/tokens", operation_id = "list_tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenInfo>)),
    security(("token" = ["admin"])))]
pub async fn list(_: Admin, State(state): State<AppState>) -> HttpResult<Json<Vec<TokenInfo>>> {
    Ok(Json(state.capstan.tokens()?))
}

/// Makes a token.
#[utoipa::path(post, path = "/api/v1/tokens", operation_id = "create_token", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = MadeToken), (status = 400, body = capstan_wire::ApiError)),
    security(("token" = ["admin"])))]
pub async fn create(
    Admin(caller): Admin,
    State(state): State<AppState>,
    Body(new): Body<NewToken>,
) -> HttpResult<(StatusCode, Json<MadeToken>)> {
    let lifetime = match new.expires_in_seconds {
        Some(0) => {
            return Err(crate::error::HttpError(capstan_wire::ApiError::field(
                "expires_in_seconds",
                "a token must last at least a second",
            )));
        }
        Some(seconds) if seconds > MAX_LIFETIME_SECS => {
            return Err(crate::error::HttpError(capstan_wire::ApiError::field(
                "expires_in_seconds",
                format!(
                    "at most {MAX_LIFETIME_SECS} (100 years); leave it out for a token that does not expire"
                ),
            )));
        }
        Some(seconds) => Some(std::time::Duration::from_secs(seconds)),
        None => None,
    };
    let made = state
        .capstan
        .create_token(&new.name, new.scope, lifetime, &caller.actor)?;
    Ok((
        StatusCode::CREATED,
        Json(MadeToken {
            token: made.info,
            secret: made.secret,
        }),
    ))
}

/// Revokes a token: refused from its next request on.
#[utoipa::path(delete, path = "/api/v1/tokens/{name}", operation_id = "revoke_token", tag = "tokens",
    params(("name" = String, Path, description = "The token's name")),
    responses((status = 204), (status = 400, body = capstan_wire::ApiError)),
    security(("token" = ["admin"])))]
pub async fn revoke(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<StatusCode> {
    state.capstan.revoke_token(&name, &caller.actor)?;
    Ok(StatusCode::NO_CONTENT)
}
