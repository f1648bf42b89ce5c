//! Docker views (`read`): a host's engine read once (containers,
//! services, nodes, images, networks, volumes), a service's tasks, and a
//! container's latest output. Changes (start, stop, remove, deploy,
//! scale) are actions of the `docker` plugin, started as jobs with
//! `POST /api/v1/runs` like any other, so they are recorded, followed and
//! cancelled the same way.

use axum::Json;
use axum::extract::State;
use capstan_wire::ApiError;
use capstan_wire::docker::{ContainerLogs, DockerSnapshot, TaskRow};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Reader;
use crate::error::{HttpResult, Params, PathOf};

/// Most lines a log read answers.
pub const MAX_TAIL: u32 = 10_000;

/// A host's Docker engine: every kind of object as rows.
#[utoipa::path(get, path = "/api/v1/docker/{host}", operation_id = "docker_snapshot", tag = "docker",
    params(("host" = String, Path, description = "An inventory host, or `local`")),
    responses((status = 200, body = DockerSnapshot), (status = 400, body = ApiError), (status = 404, body = ApiError),
        (status = 424, description = "The host or its Docker engine could not be reached", body = ApiError)),
    security(("token" = ["read"])))]
pub async fn snapshot(
    _: Reader,
    State(state): State<AppState>,
    PathOf(host): PathOf<String>,
) -> HttpResult<Json<DockerSnapshot>> {
    let engine = state.capstan.docker_engine(&host).await?;
    Ok(Json(engine.snapshot(&host).await.map_err(engine_error)?))
}

/// A swarm service's tasks: where each replica runs and why one failed.
#[utoipa::path(get, path = "/api/v1/docker/{host}/services/{service}/tasks", operation_id = "docker_service_tasks", tag = "docker",
    params(("host" = String, Path, description = "An inventory host, or `local` (a swarm manager)"),
        ("service" = String, Path, description = "The service's name or id")),
    responses((status = 200, body = Vec<TaskRow>), (status = 400, body = ApiError), (status = 404, body = ApiError),
        (status = 424, description = "The host or its Docker engine could not be reached", body = ApiError)),
    security(("token" = ["read"])))]
pub async fn tasks(
    _: Reader,
    State(state): State<AppState>,
    PathOf((host, service)): PathOf<(String, String)>,
) -> HttpResult<Json<Vec<TaskRow>>> {
    let engine = state.capstan.docker_engine(&host).await?;
    Ok(Json(
        engine.task_rows(&service).await.map_err(engine_error)?,
    ))
}

/// How much of a container's output to read.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Its last this many lines (100 when absent).
    #[param(minimum = 0, maximum = 10000)]
    pub tail: Option<u32>,
}

/// A container's last lines (stdout and stderr), read once.
#[utoipa::path(get, path = "/api/v1/docker/{host}/containers/{container}/logs", operation_id = "docker_container_logs", tag = "docker",
    params(("host" = String, Path, description = "An inventory host, or `local`"),
        ("container" = String, Path, description = "The container's name or id"),
        LogQuery),
    responses((status = 200, body = ContainerLogs), (status = 400, body = ApiError), (status = 404, body = ApiError),
        (status = 424, description = "The host or its Docker engine could not be reached", body = ApiError)),
    security(("token" = ["read"])))]
pub async fn logs(
    _: Reader,
    State(state): State<AppState>,
    PathOf((host, container)): PathOf<(String, String)>,
    Params(query): Params<LogQuery>,
) -> HttpResult<Json<ContainerLogs>> {
    let tail = query.tail.unwrap_or(100).min(MAX_TAIL);
    let engine = state.capstan.docker_engine(&host).await?;
    let text = engine.logs(&container, tail).await.map_err(engine_error)?;
    Ok(Json(ContainerLogs { container, text }))
}

fn engine_error(error: capstan_engine::docker::DockerError) -> crate::error::HttpError {
    capstan_engine::Error::from(error).into()
}
