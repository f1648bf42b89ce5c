//! Notifications: channels and rules (listed with `read`, changed with
//! `admin`) and the deliveries with every attempt (`read`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use capstan_wire::ApiError;
use capstan_wire::notifications::{
    Channel, ChannelSpec, NotificationDelivery, Rule, RuleSpec, SmtpSettings,
};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Admin, Reader};
use crate::error::{Body, HttpError, HttpResult, Params, PathOf};

/// Every channel.
#[utoipa::path(get, path = "/api/v1/notifications/channels", operation_id = "list_channels", tag = "notifications",
    responses((status = 200, body = Vec<Channel>)),
    security(("token" = ["read"])))]
pub async fn channels(_: Reader, State(state): State<AppState>) -> HttpResult<Json<Vec<Channel>>> {
    Ok(Json(state.capstan.channels()?))
}

/// Adds a channel; its plugin is granted the channel's host.
#[utoipa::path(post, path = "/api/v1/notifications/channels", operation_id = "add_channel", tag = "notifications",
    request_body = ChannelSpec,
    responses((status = 201, body = Channel), (status = 400, body = ApiError),
        (status = 404, description = "No such secret", body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn add_channel(
    Admin(caller): Admin,
    State(state): State<AppState>,
    Body(spec): Body<ChannelSpec>,
) -> HttpResult<(StatusCode, Json<Channel>)> {
    let channel = state.capstan.add_channel(spec, &caller.actor).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// Removes a channel no rule sends to.
#[utoipa::path(delete, path = "/api/v1/notifications/channels/{name}", operation_id = "remove_channel", tag = "notifications",
    params(("name" = String, Path, description = "The channel's name")),
    responses((status = 204), (status = 400, description = "A rule still sends to it", body = ApiError),
        (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn remove_channel(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<StatusCode> {
    state.capstan.remove_channel(&name, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every rule.
#[utoipa::path(get, path = "/api/v1/notifications/rules", operation_id = "list_rules", tag = "notifications",
    responses((status = 200, body = Vec<Rule>)),
    security(("token" = ["read"])))]
pub async fn rules(_: Reader, State(state): State<AppState>) -> HttpResult<Json<Vec<Rule>>> {
    Ok(Json(state.capstan.rules()?))
}

/// Adds a rule sending to an existing channel.
#[utoipa::path(post, path = "/api/v1/notifications/rules", operation_id = "add_rule", tag = "notifications",
    request_body = RuleSpec,
    responses((status = 201, body = Rule), (status = 400, body = ApiError),
        (status = 404, description = "No such channel", body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn add_rule(
    Admin(caller): Admin,
    State(state): State<AppState>,
    Body(spec): Body<RuleSpec>,
) -> HttpResult<(StatusCode, Json<Rule>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.capstan.add_rule(spec, &caller.actor)?),
    ))
}

/// Removes a rule.
#[utoipa::path(delete, path = "/api/v1/notifications/rules/{name}", operation_id = "remove_rule", tag = "notifications",
    params(("name" = String, Path, description = "The rule's name")),
    responses((status = 204), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn remove_rule(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<StatusCode> {
    state.capstan.remove_rule(&name, &caller.actor)?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many deliveries to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// At most this many, newest first (default 50, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// The newest deliveries, each with its attempts.
#[utoipa::path(get, path = "/api/v1/notifications/deliveries", operation_id = "list_deliveries", tag = "notifications",
    params(DeliveriesQuery),
    responses((status = 200, body = Vec<NotificationDelivery>), (status = 400, body = ApiError)),
    security(("token" = ["read"])))]
pub async fn deliveries(
    _: Reader,
    State(state): State<AppState>,
    Params(query): Params<DeliveriesQuery>,
) -> HttpResult<Json<Vec<NotificationDelivery>>> {
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > 1000 {
        return Err(HttpError(ApiError::field(
            "limit",
            "limit must be from 1 to 1000",
        )));
    }
    Ok(Json(state.capstan.notification_deliveries(limit)?))
}

/// The SMTP server e-mail channels send through.
#[utoipa::path(get, path = "/api/v1/notifications/smtp", operation_id = "show_smtp", tag = "notifications",
    responses((status = 200, body = SmtpSettings),
        (status = 404, description = "None is configured", body = ApiError)),
    security(("token" = ["read"])))]
pub async fn smtp(_: Reader, State(state): State<AppState>) -> HttpResult<Json<SmtpSettings>> {
    state.capstan.smtp()?.map(Json).ok_or_else(|| {
        HttpError::new(
            capstan_wire::ErrorCode::NotFound,
            "no SMTP server is configured (PUT /api/v1/notifications/smtp sets one)",
        )
    })
}

/// Sets the SMTP server e-mail channels send through; its password is
/// named as a stored secret, never sent here.
#[utoipa::path(put, path = "/api/v1/notifications/smtp", operation_id = "set_smtp", tag = "notifications",
    request_body = SmtpSettings,
    responses((status = 200, body = SmtpSettings), (status = 400, body = ApiError),
        (status = 404, description = "No such secret", body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn set_smtp(
    Admin(caller): Admin,
    State(state): State<AppState>,
    Body(settings): Body<SmtpSettings>,
) -> HttpResult<Json<SmtpSettings>> {
    state.capstan.set_smtp(settings.clone(), &caller.actor)?;
    Ok(Json(settings))
}
