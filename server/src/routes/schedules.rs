//! Schedules: list and show (with their next times), add, pause, resume
//! and remove. Changing them takes `admin`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use capstan_wire::ApiError;
use capstan_wire::schedules::{Schedule, ScheduleSpec};

use crate::AppState;
use crate::auth::{Admin, Reader};
use crate::error::{Body, HttpResult, PathOf};

/// Every schedule, by name.
#[utoipa::path(get, path = "/api/v1/schedules", operation_id = "list_schedules", tag = "schedules",
    responses((status = 200, body = Vec<Schedule>)),
    security(("token" = ["read"])))]
pub async fn list(_: Reader, State(state): State<AppState>) -> HttpResult<Json<Vec<Schedule>>> {
    Ok(Json(state.capstan.schedules()?))
}

/// One schedule.
#[utoipa::path(get, path = "/api/v1/schedules/{name}", operation_id = "show_schedule", tag = "schedules",
    params(("name" = String, Path, description = "The schedule's name")),
    responses((status = 200, body = Schedule), (status = 404, body = ApiError)),
    security(("token" = ["read"])))]
pub async fn show(
    _: Reader,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<Json<Schedule>> {
    Ok(Json(state.capstan.schedule(&name)?))
}

/// Adds a schedule, once its times and its job check out.
#[utoipa::path(post, path = "/api/v1/schedules", operation_id = "add_schedule", tag = "schedules",
    request_body = ScheduleSpec,
    responses((status = 201, body = Schedule), (status = 400, body = ApiError),
        (status = 404, description = "No such secret or plugin", body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn add(
    Admin(caller): Admin,
    State(state): State<AppState>,
    Body(spec): Body<ScheduleSpec>,
) -> HttpResult<(StatusCode, Json<Schedule>)> {
    crate::routes::runs::refuse_environment_password(&spec.job, "job.request.become_password_env")?;
    let schedule = state.capstan.add_schedule(spec, &caller.actor).await?;
    Ok((StatusCode::CREATED, Json(schedule)))
}

/// Pauses a schedule: it does not fire until resumed.
#[utoipa::path(post, path = "/api/v1/schedules/{name}/pause", operation_id = "pause_schedule", tag = "schedules",
    params(("name" = String, Path, description = "The schedule's name")),
    responses((status = 200, body = Schedule), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn pause(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<Json<Schedule>> {
    Ok(Json(state.capstan.pause_schedule(
        &name,
        true,
        &caller.actor,
    )?))
}

/// Resumes a schedule, from now (times missed while paused do not fire).
#[utoipa::path(post, path = "/api/v1/schedules/{name}/resume", operation_id = "resume_schedule", tag = "schedules",
    params(("name" = String, Path, description = "The schedule's name")),
    responses((status = 200, body = Schedule), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn resume(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<Json<Schedule>> {
    Ok(Json(state.capstan.pause_schedule(
        &name,
        false,
        &caller.actor,
    )?))
}

/// Removes a schedule; its jobs stay in the history.
#[utoipa::path(delete, path = "/api/v1/schedules/{name}", operation_id = "remove_schedule", tag = "schedules",
    params(("name" = String, Path, description = "The schedule's name")),
    responses((status = 204), (status = 404, body = ApiError)),
    security(("token" = ["admin"])))]
pub async fn remove(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathOf(name): PathOf<String>,
) -> HttpResult<StatusCode> {
    state.capstan.remove_schedule(&name, &caller.actor)?;
    Ok(StatusCode::NO_CONTENT)
}
