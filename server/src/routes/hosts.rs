//! The inventory: hosts listed and shown with their last check (`read`);
//! added, edited, removed and imported from an Ansible inventory
//! (`admin`); logged in to and asked for facts (`run`). A host's key is
//! trusted through the API only with the fingerprint the caller compared
//! (`admin`).
//!
//! The service never reads a password from its own environment for an
//! API caller, so a host that logs in with `password-env` is refused here
//! (an imported inventory cannot name one).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use capstan_engine::remote::HostKeyPolicy;
use capstan_wire::hosts::{Facts, Host, HostCheck, HostForm, HostView};
use capstan_wire::{ApiError, ErrorCode};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Admin, Reader, Runner};
use crate::error::{Body, HttpError, HttpResult, PathOf};

/// Largest inventory text accepted.
pub const MAX_INVENTORY_BYTES: usize = 512 << 10;

/// Every host with its latest check.
#[utoipa::path(get, path = "/api/v1/hosts", operation_id = "list_hosts", tag = "hosts",
    responses((status = 200, body = Vec<HostView>)),
    security(("token" = ["read"])))]
pub async fn list(_: Reader, State(state): State<AppState>) -> HttpResult<Json<Vec<HostView>>> {
    Ok(Json(state.capstan.host_views()?))
}

/// One host with its latest check.
#[utoipa::path(get, path = "/api/v1/hosts/{name}", operation_id = "show_host", tag = "hosts",
    params(("name" = String, Path, description = "The host's name")),
    responses((status = 200, body = HostView), (status = 404, body = ApiError)),
    security(("token" = ["read"])))]
pub async fn show(
    _: Reader,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<Json<HostView>> {
    state
        .capstan
        .host_views()?
        .into_iter()
        .find(|view| view.host.name == name)
        .map(Json)
        .ok_or_else(|| no_host(&name))
}

/// Adds a host; a host of that name is never replaced (edit it instead).
#[utoipa::path(post, path = "/api/v1/hosts", operation_id = "add_host", tag = "hosts",
    request_body = HostForm,
    responses((status = 201, body = Host), (status = 400, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn add(
    Admin(caller): Admin,
    State(state): State<AppState>,
    Body(form): Body<HostForm>,
) -> HttpResult<(StatusCode, Json<Host>)> {
    refuse_password_env_form(&form)?;
    let host = state.capstan.save_host_form(&form, None)?;
    audit(&state, &caller.actor, "add", &host.name)?;
    Ok((StatusCode::CREATED, Json(host)))
}

/// Saves an edit of host `name`; the form may rename it.
#[utoipa::path(put, path = "/api/v1/hosts/{name}", operation_id = "edit_host", tag = "hosts",
    params(("name" = String, Path, description = "The host's name before the edit")),
    request_body = HostForm,
    responses((status = 200, body = Host), (status = 400, body = ApiError), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn edit(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
    Body(form): Body<HostForm>,
) -> HttpResult<Json<Host>> {
    refuse_password_env_form(&form)?;
    let host = state.capstan.save_host_form(&form, Some(&name))?;
    audit(&state, &caller.actor, "edit", &name)?;
    Ok(Json(host))
}

/// Removes a host; its jobs stay in the history.
#[utoipa::path(delete, path = "/api/v1/hosts/{name}", operation_id = "remove_host", tag = "hosts",
    params(("name" = String, Path, description = "The host's name")),
    responses((status = 204), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn remove(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<StatusCode> {
    state.capstan.remove_host(&name)?;
    audit(&state, &caller.actor, "remove", &name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Logs in to a host and runs `uname`, with a host key Capstan knows
/// already; an unknown key is answered with its fingerprint, to compare
/// and then trust.
#[utoipa::path(post, path = "/api/v1/hosts/{name}/check", operation_id = "check_host", tag = "hosts",
    params(("name" = String, Path, description = "The host's name")),
    responses((status = 200, body = HostCheck), (status = 404, body = ApiError)),
    security(("token" = ["run"])))]
pub async fn check(
    _: Runner,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<Json<HostCheck>> {
    Ok(Json(
        state
            .capstan
            .check_host(&name, HostKeyPolicy::RequireKnown)
            .await?,
    ))
}

/// The fingerprint of a host key the caller compared with the host's own.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustKey {
    /// `ALGORITHM SHA256:…`, as a check answered it.
    #[schema(min_length = 1, max_length = 200)]
    pub fingerprint: String,
}

/// Logs in to a host whose key Capstan does not know yet, recording the
/// key only if it has exactly this fingerprint.
#[utoipa::path(post, path = "/api/v1/hosts/{name}/trust", operation_id = "trust_host_key", tag = "hosts",
    params(("name" = String, Path, description = "The host's name")),
    request_body = TrustKey,
    responses((status = 200, body = HostCheck), (status = 400, body = ApiError), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn trust(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
    Body(key): Body<TrustKey>,
) -> HttpResult<Json<HostCheck>> {
    let fingerprint = key.fingerprint.trim().to_string();
    if fingerprint.is_empty() {
        return Err(HttpError(ApiError::field(
            "fingerprint",
            "give the fingerprint a check answered",
        )));
    }
    let checked = state
        .capstan
        .check_host(&name, HostKeyPolicy::TrustFingerprint(fingerprint))
        .await?;
    if checked.reachable {
        audit(&state, &caller.actor, "trust-key", &name)?;
    }
    Ok(Json(checked))
}

/// Gathers a host's facts with the `setup` plugin (a recorded job).
#[utoipa::path(post, path = "/api/v1/hosts/{name}/facts", operation_id = "gather_facts", tag = "hosts",
    params(("name" = String, Path, description = "The host's name")),
    responses((status = 200, body = Facts), (status = 404, body = ApiError)),
    security(("token" = ["run"])))]
pub async fn facts(
    _: Runner,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<Json<Facts>> {
    Ok(Json(state.capstan.facts(&name).await?))
}

/// An Ansible inventory to import.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryImport {
    /// The inventory, INI or YAML (at most 512 KiB).
    #[schema(max_length = 524288)]
    pub text: String,
}

/// Imports an Ansible inventory (INI or YAML), replacing hosts of the same
/// name: every host is checked first, and a bad line saves nothing.
#[utoipa::path(post, path = "/api/v1/inventory", operation_id = "import_inventory", tag = "hosts",
    request_body = InventoryImport,
    responses((status = 200, description = "The hosts imported", body = Vec<Host>), (status = 400, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn import(
    Admin(caller): Admin,
    State(state): State<AppState>,
    Body(inventory): Body<InventoryImport>,
) -> HttpResult<Json<Vec<Host>>> {
    if inventory.text.len() > MAX_INVENTORY_BYTES {
        return Err(HttpError(ApiError::field(
            "text",
            format!(
                "the inventory is larger than {} KiB",
                MAX_INVENTORY_BYTES >> 10
            ),
        )));
    }
    let hosts = state
        .capstan
        .import_inventory_text("the inventory", &inventory.text)
        .map_err(|e| HttpError(field_of(e, "text")))?;
    for host in &hosts {
        audit(&state, &caller.actor, "import", &host.name)?;
    }
    Ok(Json(hosts))
}

const PASSWORD_ENV_REFUSED: &str = "the service does not read passwords from its environment for \
     API callers: log in with a key file or the agent";

fn refuse_password_env_form(form: &HostForm) -> HttpResult<()> {
    if form.auth.trim() == "password-env" {
        return Err(HttpError(ApiError::field("auth", PASSWORD_ENV_REFUSED)));
    }
    Ok(())
}

/// The engine's error, with `field` named when it names none (an import's
/// syntax error is about the text).
fn field_of(error: capstan_engine::Error, field: &str) -> ApiError {
    let api = error.to_api();
    if api.field.is_none() && api.code == ErrorCode::BadInput {
        ApiError::field(field, api.message)
    } else {
        api
    }
}

fn no_host(name: &str) -> HttpError {
    HttpError::new(
        ErrorCode::NotFound,
        format!("no host called `{name}` (GET /api/v1/hosts lists them)"),
    )
}

fn audit(state: &AppState, by: &capstan_wire::Actor, action: &str, host: &str) -> HttpResult<()> {
    Ok(state
        .capstan
        .audit_as(by, action, &format!("host:{host}"), "")?)
}
