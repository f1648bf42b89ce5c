//! Events: how each subscribed plugin is doing (`read`), and announcements
//! a producer makes and waits on (`run`): a deploy says a task is about to
//! stop and learns when the subscribers (the proxy) have acted on it.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use capstan_wire::ApiError;
use capstan_wire::events::{Acknowledgements, EventKind, SubscriberStatus};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::AppState;
use crate::auth::{Reader, Runner};
use crate::error::{Body, HttpError, HttpResult};

/// The longest a producer may wait for acknowledgements.
pub const MAX_WAIT_MS: u64 = 120_000;

/// An announcement to make.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// What it is about, for the subscribers to tell announcements apart
    /// (`task-stopping`).
    #[schema(min_length = 1, max_length = 200)]
    pub topic: String,
    /// Its details: a JSON object, merged into the event's data beside
    /// `topic`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    /// The target it concerns, if one.
    #[serde(default)]
    pub target: Option<String>,
    /// How long to wait for every subscriber to acknowledge, in
    /// milliseconds (at most 120,000); 0 waits for none.
    #[serde(default)]
    #[schema(maximum = 120000)]
    pub wait_ms: u64,
}

/// How each plugin that was handed events is doing since the service
/// started: delivered, retried, dropped, waiting.
#[utoipa::path(get, path = "/api/v1/events/subscribers", operation_id = "list_subscribers", tag = "events",
    responses((status = 200, body = Vec<SubscriberStatus>)),
    security(("token" = ["read"])))]
pub async fn subscribers(
    _: Reader,
    State(state): State<AppState>,
) -> HttpResult<Json<Vec<SubscriberStatus>>> {
    Ok(Json(state.events.status()))
}

/// Announces something to the plugins subscribed to `announcement`, and
/// waits (bounded) for them to acknowledge it.
#[utoipa::path(post, path = "/api/v1/events/announcements", operation_id = "announce", tag = "events",
    request_body = Announcement,
    responses((status = 200, description = "Who acknowledged, who is still pending, who gave up", body = Acknowledgements),
        (status = 400, body = ApiError)),
    security(("token" = ["run"])))]
pub async fn announce(
    _: Runner,
    State(state): State<AppState>,
    Body(body): Body<Announcement>,
) -> HttpResult<Json<Acknowledgements>> {
    let topic = body.topic.trim();
    if topic.is_empty() || topic.len() > 200 || topic.chars().any(char::is_control) {
        return Err(HttpError(ApiError::field(
            "topic",
            "topic must be 1 to 200 printable characters",
        )));
    }
    if body.wait_ms > MAX_WAIT_MS {
        return Err(HttpError(ApiError::field(
            "wait_ms",
            format!("wait_ms may be at most {MAX_WAIT_MS}"),
        )));
    }
    let mut data = body.data;
    data.insert("topic".into(), Value::String(topic.to_string()));
    let published =
        state
            .events
            .publish(EventKind::Announcement, body.target, Value::Object(data))?;
    Ok(Json(
        published
            .acknowledgements(Duration::from_millis(body.wait_ms))
            .await,
    ))
}
