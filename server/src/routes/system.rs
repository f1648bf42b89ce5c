//! The service itself: liveness, Prometheus metrics, the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use capstan_wire::status::JobState;
use serde::Serialize;

use crate::AppState;
use crate::auth::Reader;
use crate::error::HttpResult;

/// Whether the service answers and its store opens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// This Capstan's version.
    pub version: String,
}

/// Liveness: answers without a token.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Counters in Prometheus' text format.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "system",
    responses((status = 200, content_type = "text/plain", body = String)),
    security(("token" = ["read"])))]
pub async fn metrics(_: Reader, State(state): State<AppState>) -> HttpResult<impl IntoResponse> {
    let counts = state
        .capstan
        .store()
        .job_counts()
        .map_err(capstan_engine::Error::from)?;
    let mut text = String::new();
    text.push_str(
        "# HELP capstan_jobs Jobs in the history, by state.\n# TYPE capstan_jobs gauge\n",
    );
    for job_state in JobState::ALL {
        let count = counts
            .iter()
            .find(|(s, _)| s == job_state)
            .map_or(0, |(_, n)| *n);
        text.push_str(&format!("capstan_jobs{{state=\"{job_state}\"}} {count}\n"));
    }
    text.push_str(&format!(
        "# HELP capstan_uptime_seconds Seconds since the service started.\n# TYPE capstan_uptime_seconds gauge\ncapstan_uptime_seconds {}\n",
        state.started.elapsed().as_secs()
    ));
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "openapi_document", tag = "system",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::document_json(),
    )
}
