//! The secrets store: names and dates listed, a value set or removed;
//! a value is never answered. Everything here takes `admin`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use capstan_wire::ApiError;
use capstan_wire::secrets::SecretInfo;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Admin;
use crate::error::{Body, HttpError, HttpResult, PathOf};

/// A value to store.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretValue {
    /// The value (at most 64 KiB); it is sealed and never sent back.
    #[schema(min_length = 1, max_length = 65536)]
    pub value: String,
}

/// Every secret's name and dates.
#[utoipa::path(get, path = "/api/v1/secrets", operation_id = "list_secrets", tag = "secrets",
    responses((status = 200, body = Vec<SecretInfo>)),
    security(("token" = ["admin"])))]
pub async fn list(_: Admin, State(state): State<AppState>) -> HttpResult<Json<Vec<SecretInfo>>> {
    Ok(Json(state.capstan.secrets()?))
}

/// Stores a secret, replacing one of that name.
#[utoipa::path(put, path = "/api/v1/secrets/{name}", operation_id = "set_secret", tag = "secrets",
    params(("name" = String, Path, description = "The secret's name (a variable name)")),
    request_body = SecretValue,
    responses((status = 200, body = SecretInfo), (status = 400, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn set(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
    Body(body): Body<SecretValue>,
) -> HttpResult<Json<SecretInfo>> {
    state
        .capstan
        .set_secret(&name, &body.value, &caller.actor)?;
    let stored = state
        .capstan
        .secrets()?
        .into_iter()
        .find(|s| s.name == name);
    stored.map(Json).ok_or_else(|| {
        HttpError::new(
            capstan_wire::ErrorCode::Failed,
            format!("secret `{name}` was stored but is gone"),
        )
    })
}

/// Removes a secret.
#[utoipa::path(delete, path = "/api/v1/secrets/{name}", operation_id = "remove_secret", tag = "secrets",
    params(("name" = String, Path, description = "The secret's name")),
    responses((status = 204), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn remove(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<StatusCode> {
    state.capstan.remove_secret(&name, &caller.actor)?;
    Ok(StatusCode::NO_CONTENT)
}
