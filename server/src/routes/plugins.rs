//! Plugins: listed and shown with what they hold (`read`); inspected,
//! installed by upload, granted, revoked and removed (`admin`). An upload
//! is the component's bytes as the body, bounded by [`PLUGIN_BODY_LIMIT`];
//! it is installed with exactly the grants the query names, each among
//! what the plugin asks for.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use capstan_engine::Capstan;
use capstan_engine::capability::{Grant, GrantSet};
use capstan_wire::plugins::{Inspection, PluginView};
use capstan_wire::{ApiError, ErrorCode};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Admin, Reader};
use crate::error::{HttpError, HttpResult, Params, PathOf, RawBody};

/// Largest component accepted in an upload.
pub const PLUGIN_BODY_LIMIT: usize = 32 << 20;

/// A component file, sent as the request's body.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ComponentFile(#[allow(dead_code)] Vec<u8>);

/// Every plugin: installed ones, then bundled ones not installed yet.
#[utoipa::path(get, path = "/api/v1/plugins", operation_id = "list_plugins", tag = "plugins",
    responses((status = 200, body = Vec<PluginView>)),
    security(("token" = ["read"])))]
pub async fn list(_: Reader, State(state): State<AppState>) -> HttpResult<Json<Vec<PluginView>>> {
    Ok(Json(state.capstan.plugin_views().await?))
}

/// One plugin, with its actions, grants and limits.
#[utoipa::path(get, path = "/api/v1/plugins/{name}", operation_id = "show_plugin", tag = "plugins",
    params(("name" = String, Path, description = "The plugin's name")),
    responses((status = 200, body = PluginView), (status = 404, body = ApiError)),
    security(("token" = ["read"])))]
pub async fn show(
    _: Reader,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<Json<PluginView>> {
    Ok(Json(state.capstan.plugin_view(&name).await?))
}

/// Reads an uploaded component and says what it is and what it asks for,
/// installing nothing.
#[utoipa::path(post, path = "/api/v1/plugin-inspection", operation_id = "inspect_plugin", tag = "plugins",
    request_body(content = ComponentFile, content_type = "application/octet-stream"),
    responses((status = 200, body = Inspection), (status = 400, body = ApiError), (status = 413, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn inspect(
    _: Admin,
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> HttpResult<Json<Inspection>> {
    let inspected = read_component(&state.capstan, body).await?;
    Ok(Json(state.capstan.inspection(&inspected)?))
}

/// How an upload is installed.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstallOptions {
    /// The grants, separated by commas (`remote.exec,kv`, `http:hooks.example.com`);
    /// none when absent. Each must be among what the plugin asks for.
    #[param(max_length = 4096)]
    pub grants: Option<String>,
    /// The SHA-256 the caller inspected: the upload must still be that file.
    #[param(max_length = 64)]
    pub sha256: Option<String>,
    /// Replace an installed or bundled plugin of the same name.
    #[serde(default)]
    pub replace: bool,
    /// When replacing, keep the old plugin's stored data.
    #[serde(default)]
    pub keep_data: bool,
}

/// Installs an uploaded component with exactly the grants named. A plugin
/// of the same name is replaced only with `replace`.
#[utoipa::path(post, path = "/api/v1/plugins", operation_id = "install_plugin", tag = "plugins",
    params(InstallOptions),
    request_body(content = ComponentFile, content_type = "application/octet-stream"),
    responses((status = 201, body = PluginView), (status = 400, body = ApiError), (status = 413, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn install(
    Admin(caller): Admin,
    State(state): State<AppState>,
    Params(options): Params<InstallOptions>,
    RawBody(body): RawBody,
) -> HttpResult<(StatusCode, Json<PluginView>)> {
    let grants = parse_grants(options.grants.as_deref().unwrap_or(""))?;
    let inspected = read_component(&state.capstan, body).await?;
    if let Some(expected) = &options.sha256
        && !expected.eq_ignore_ascii_case(&inspected.sha256)
    {
        return Err(HttpError(ApiError::field(
            "sha256",
            format!(
                "the upload is not the file inspected: its SHA-256 is {}",
                inspected.sha256
            ),
        )));
    }
    let record = if options.replace {
        state
            .capstan
            .install_over_as(&inspected, grants, options.keep_data, &caller.actor)?
    } else {
        state
            .capstan
            .install_as(&inspected, grants, &caller.actor)?
    };
    Ok((StatusCode::CREATED, Json(Capstan::installed_view(record))))
}

/// Grants a capability the plugin asked for, or an HTTP host
/// (`http:HOST` or `http:HOST:PORT`) to a plugin that asked for `http`.
#[utoipa::path(put, path = "/api/v1/plugins/{name}/grants/{grant}", operation_id = "grant_plugin", tag = "plugins",
    params(("name" = String, Path, description = "The plugin's name"),
        ("grant" = String, Path, description = "A capability (`remote.exec`), or `http:HOST[:PORT]`")),
    responses((status = 200, body = PluginView), (status = 400, body = ApiError), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn grant(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf((name, grant)): PathOf<(String, String)>,
) -> HttpResult<Json<PluginView>> {
    let grant = parse_grant(&grant)?;
    state.capstan.grant_as(&name, grant, &caller.actor).await?;
    Ok(Json(state.capstan.plugin_view(&name).await?))
}

/// Revokes a grant (`http` takes every HTTP host back); the plugin's
/// running calls lose it at once.
#[utoipa::path(delete, path = "/api/v1/plugins/{name}/grants/{grant}", operation_id = "revoke_plugin", tag = "plugins",
    params(("name" = String, Path, description = "The plugin's name"),
        ("grant" = String, Path, description = "A capability, `http`, or `http:HOST[:PORT]`")),
    responses((status = 200, body = PluginView), (status = 400, body = ApiError), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn revoke(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf((name, grant)): PathOf<(String, String)>,
) -> HttpResult<Json<PluginView>> {
    let grant = parse_grant(&grant)?;
    state.capstan.revoke_as(&name, grant, &caller.actor).await?;
    Ok(Json(state.capstan.plugin_view(&name).await?))
}

/// Uninstalls a plugin and deletes its stored data.
#[utoipa::path(delete, path = "/api/v1/plugins/{name}", operation_id = "remove_plugin", tag = "plugins",
    params(("name" = String, Path, description = "The plugin's name")),
    responses((status = 204), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn remove(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<StatusCode> {
    state.capstan.remove_as(&name, &caller.actor)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn read_component(capstan: &Capstan, body: Bytes) -> HttpResult<capstan_engine::Inspected> {
    if body.is_empty() {
        return Err(HttpError::new(
            ErrorCode::BadInput,
            "send the component's bytes (a .wasm file) as the body",
        ));
    }
    Ok(capstan.inspect(body.to_vec(), "the upload").await?)
}

fn parse_grant(text: &str) -> HttpResult<Grant> {
    text.parse::<Grant>()
        .map_err(|e| HttpError(ApiError::field("grant", e.to_string())))
}

fn parse_grants(list: &str) -> HttpResult<GrantSet> {
    let grants = list
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|g| {
            g.parse::<Grant>()
                .map_err(|e| HttpError(ApiError::field("grants", e.to_string())))
        })
        .collect::<HttpResult<Vec<_>>>()?;
    Ok(GrantSet::from_grants(grants))
}
