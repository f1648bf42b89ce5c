//! Webhooks: deliveries in (`POST /api/v1/hooks/{name}`, no token: the
//! delivery proves it knows the hook's secret), and the hooks themselves
//! (list, add, remove; `admin`). A refused delivery counts as a failed
//! authentication of its source.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use capstan_engine::{Accepted, Delivery};
use capstan_wire::webhooks::{Hook, HookSpec};
use capstan_wire::{Actor, ApiError, ErrorCode};
use serde::Serialize;

use crate::AppState;
use crate::auth::{Admin, Reader, refuse_if_blocked, source_of};
use crate::error::{Body, HttpError, HttpResult, PathOf};
use crate::routes::runs::start_scheduled;

/// What became of a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Delivered {
    /// The job it started; none for a repeat.
    pub job_id: Option<i64>,
    /// The delivery's id (its own, or one made from its body).
    pub delivery: String,
    /// True when the id was seen before and nothing ran.
    pub repeat: bool,
}

/// Takes a delivery: checks its signature (or token and timestamp),
/// ignores a repeated delivery id, and starts the hook's job.
#[utoipa::path(post, path = "/api/v1/hooks/{name}", operation_id = "deliver_webhook", tag = "webhooks",
    params(("name" = String, Path, description = "The webhook's name"),
        ("X-Hub-Signature-256" = Option<String>, Header, description = "sha256=HMAC-SHA256 of the body (hmac hooks)"),
        ("X-Capstan-Token" = Option<String>, Header, description = "The shared token (token hooks)"),
        ("X-Capstan-Timestamp" = Option<String>, Header, description = "Unix seconds, within 5 minutes (token hooks)")),
    request_body(content = String, description = "The payload, as the sender sends it (JSON for a playbook's `webhook.payload`)"),
    responses((status = 202, body = Delivered), (status = 200, description = "A repeated delivery: nothing ran", body = Delivered),
        (status = 401, body = ApiError), (status = 404, body = ApiError), (status = 429, body = ApiError)))]
pub async fn deliver(
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
    request: Request,
) -> HttpResult<(StatusCode, Json<Delivered>)> {
    let (parts, body) = request.into_parts();
    let source = source_of(&parts);
    refuse_if_blocked(&state, &source)?;
    let body = axum::body::to_bytes(body, crate::BODY_LIMIT)
        .await
        .map_err(|_| HttpError::new(ErrorCode::TooLarge, "the payload is over 1 MiB"))?;
    let headers = &parts.headers;
    let delivery = Delivery {
        body: &body,
        signature: header(headers, "x-hub-signature-256").or(header(headers, "x-gitea-signature")),
        token: header(headers, "x-capstan-token"),
        timestamp: header(headers, "x-capstan-timestamp"),
        delivery_id: header(headers, "x-github-delivery")
            .or(header(headers, "x-gitea-delivery"))
            .or(header(headers, "x-capstan-delivery")),
        event: header(headers, "x-github-event").or(header(headers, "x-gitea-event")),
    };
    let now = capstan_engine::clock::now_ms();
    match state.capstan.accept_delivery(&name, &delivery, now)? {
        Err(refused) => {
            state.failures.failed(&source);
            tracing::warn!(%source, hook = %name, why = %refused, "a webhook delivery was refused");
            Err(HttpError::new(ErrorCode::Unauthorized, refused.to_string()))
        }
        Ok(Accepted::Repeat { delivery }) => Ok((
            StatusCode::OK,
            Json(Delivered {
                job_id: None,
                delivery,
                repeat: true,
            }),
        )),
        Ok(Accepted::Start { job, delivery }) => {
            let actor = Actor::Webhook(name.clone());
            let job_id = start_scheduled(&state, &actor, *job).await?;
            state.capstan.delivery_started(&name, &delivery, job_id)?;
            tracing::info!(hook = %name, job_id, %delivery, "a delivery started a job");
            state.announce(
                capstan_wire::events::EventKind::WebhookReceived,
                serde_json::json!({ "webhook": name, "delivery": delivery, "job": job_id }),
            );
            Ok((
                StatusCode::ACCEPTED,
                Json(Delivered {
                    job_id: Some(job_id),
                    delivery,
                    repeat: false,
                }),
            ))
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every webhook, with its deliveries counted.
#[utoipa::path(get, path = "/api/v1/webhooks", operation_id = "list_webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<Hook>)),
    security(("token" = ["read"])))]
pub async fn list(_: Reader, State(state): State<AppState>) -> HttpResult<Json<Vec<Hook>>> {
    Ok(Json(state.capstan.webhooks()?))
}

/// Adds a webhook, once its secret exists and its job checks out.
#[utoipa::path(post, path = "/api/v1/webhooks", operation_id = "add_webhook", tag = "webhooks",
    request_body = HookSpec,
    responses((status = 201, body = Hook), (status = 400, body = ApiError),
        (status = 404, description = "No such secret or plugin", body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn add(
    Admin(caller): Admin,
    State(state): State<AppState>,
    Body(spec): Body<HookSpec>,
) -> HttpResult<(StatusCode, Json<Hook>)> {
    crate::routes::runs::refuse_environment_password(&spec.job, "job.request.become_password_env")?;
    let hook = state.capstan.add_webhook(spec, &caller.actor).await?;
    Ok((StatusCode::CREATED, Json(hook)))
}

/// Removes a webhook; its jobs stay in the history.
#[utoipa::path(delete, path = "/api/v1/webhooks/{name}", operation_id = "remove_webhook", tag = "webhooks",
    params(("name" = String, Path, description = "The webhook's name")),
    responses((status = 204), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn remove(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<StatusCode> {
    state.capstan.remove_webhook(&name, &caller.actor)?;
    Ok(StatusCode::NO_CONTENT)
}
