//! The routes, and the OpenAPI document made from them. Every route but
//! `/healthz`, the document and its docs page takes a scoped caller
//! ([`crate::auth`]); its OpenAPI `security` names that scope, which the
//! route-walking test holds it to.

pub mod docker;
pub mod docs;
pub mod events;
pub mod hooks;
pub mod hosts;
pub mod jobs;
pub mod log;
pub mod notifications;
pub mod plugins;
pub mod runs;
pub mod schedules;
pub mod secrets;
pub mod system;
pub mod tokens;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::{AppState, BODY_LIMIT};

/// The API's routes over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/metrics", get(system::metrics))
        .route("/api/v1/openapi.json", get(system::openapi))
        .route("/api/v1/docs", get(docs::page))
        .route("/api/v1/docs/docs.js", get(docs::script))
        .route("/api/v1/docs/docs.css", get(docs::style))
        .route("/api/v1/jobs", get(jobs::list))
        .route("/api/v1/jobs/{id}", get(jobs::show))
        .route("/api/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/api/v1/jobs/{id}/rerun", post(runs::rerun))
        .route("/api/v1/jobs/{id}/log", get(log::follow))
        .route("/api/v1/jobs/{id}/updates", get(log::updates))
        .route("/api/v1/runs", post(runs::run_action))
        .route(
            "/api/v1/playbooks/runs",
            post(runs::run_playbook).layer(DefaultBodyLimit::max(crate::upload::UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/api/v1/schedules",
            get(schedules::list).post(schedules::add),
        )
        .route(
            "/api/v1/schedules/{name}",
            get(schedules::show).delete(schedules::remove),
        )
        .route("/api/v1/schedules/{name}/pause", post(schedules::pause))
        .route("/api/v1/schedules/{name}/resume", post(schedules::resume))
        .route("/api/v1/secrets", get(secrets::list))
        .route(
            "/api/v1/secrets/{name}",
            put(secrets::set).delete(secrets::remove),
        )
        .route("/api/v1/hooks/{name}", post(hooks::deliver))
        .route("/api/v1/webhooks", get(hooks::list).post(hooks::add))
        .route("/api/v1/webhooks/{name}", delete(hooks::remove))
        .route(
            "/api/v1/notifications/channels",
            get(notifications::channels).post(notifications::add_channel),
        )
        .route(
            "/api/v1/notifications/channels/{name}",
            delete(notifications::remove_channel),
        )
        .route(
            "/api/v1/notifications/rules",
            get(notifications::rules).post(notifications::add_rule),
        )
        .route(
            "/api/v1/notifications/rules/{name}",
            delete(notifications::remove_rule),
        )
        .route(
            "/api/v1/notifications/deliveries",
            get(notifications::deliveries),
        )
        .route("/api/v1/events/subscribers", get(events::subscribers))
        .route("/api/v1/events/announcements", post(events::announce))
        .route("/api/v1/hosts", get(hosts::list).post(hosts::add))
        .route(
            "/api/v1/hosts/{name}",
            get(hosts::show).put(hosts::edit).delete(hosts::remove),
        )
        .route("/api/v1/hosts/{name}/check", post(hosts::check))
        .route("/api/v1/hosts/{name}/trust", post(hosts::trust))
        .route("/api/v1/hosts/{name}/facts", post(hosts::facts))
        .route("/api/v1/inventory", post(hosts::import))
        .route(
            "/api/v1/plugins",
            get(plugins::list)
                .post(plugins::install)
                .layer(DefaultBodyLimit::max(plugins::PLUGIN_BODY_LIMIT)),
        )
        .route(
            "/api/v1/plugin-inspection",
            post(plugins::inspect).layer(DefaultBodyLimit::max(plugins::PLUGIN_BODY_LIMIT)),
        )
        .route(
            "/api/v1/plugins/{name}",
            get(plugins::show).delete(plugins::remove),
        )
        .route(
            "/api/v1/plugins/{name}/grants/{grant}",
            put(plugins::grant).delete(plugins::revoke),
        )
        .route("/api/v1/docker/{host}", get(docker::snapshot))
        .route(
            "/api/v1/docker/{host}/services/{service}/tasks",
            get(docker::tasks),
        )
        .route(
            "/api/v1/docker/{host}/containers/{container}/logs",
            get(docker::logs),
        )
        .route(
            "/api/v1/notifications/smtp",
            get(notifications::smtp).put(notifications::set_smtp),
        )
        .route("/api/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/api/v1/tokens/{name}", delete(tokens::revoke))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> crate::error::HttpError {
    crate::error::HttpError::new(
        capstan_wire::ErrorCode::NotFound,
        format!("no route {}: see /api/v1/openapi.json", uri.path()),
    )
}

/// The API as OpenAPI describes it.
#[derive(OpenApi)]
#[openapi(
    info(title = "Capstan", description = "Capstan's HTTP API: jobs, runs, hosts, plugins, Docker, schedules, secrets, webhooks, notifications, events, tokens and the service itself."),
    paths(
        system::healthz, system::metrics, system::openapi,
        jobs::list, jobs::show, jobs::cancel, runs::rerun, log::follow, log::updates,
        runs::run_action, runs::run_playbook,
        schedules::list, schedules::show, schedules::add, schedules::pause, schedules::resume, schedules::remove,
        secrets::list, secrets::set, secrets::remove,
        hooks::deliver, hooks::list, hooks::add, hooks::remove,
        events::subscribers, events::announce,
        notifications::channels, notifications::add_channel, notifications::remove_channel,
        notifications::rules, notifications::add_rule, notifications::remove_rule,
        notifications::deliveries, notifications::smtp, notifications::set_smtp,
        hosts::list, hosts::show, hosts::add, hosts::edit, hosts::remove,
        hosts::check, hosts::trust, hosts::facts, hosts::import,
        plugins::list, plugins::show, plugins::inspect, plugins::install,
        plugins::grant, plugins::revoke, plugins::remove,
        docker::snapshot, docker::tasks, docker::logs,
        tokens::list, tokens::create, tokens::revoke,
    ),
    components(schemas(capstan_wire::ApiError, capstan_wire::ErrorCode)),
    modifiers(&BearerToken),
    tags(
        (name = "jobs", description = "The job history; following, cancelling and re-running a job"),
        (name = "runs", description = "Starting a plugin action on targets, or a playbook uploaded with its folder"),
        (name = "schedules", description = "Jobs run at the times a cron expression names"),
        (name = "secrets", description = "The encrypted secrets store: names only are ever answered (admin)"),
        (name = "webhooks", description = "Webhooks in: a signed delivery starts a configured job"),
        (name = "notifications", description = "Channels, the rules that send job ends to them, and every delivery with its attempts"),
        (name = "events", description = "Events handed to the plugins that subscribe to them; announcements a producer waits on"),
        (name = "hosts", description = "The inventory: hosts with their last check, an Ansible inventory imported, logins checked, facts gathered"),
        (name = "plugins", description = "Plugins with what they hold: inspected and installed by upload, granted, revoked, removed"),
        (name = "docker", description = "Docker engines read (containers, services, nodes, images, networks, volumes, tasks, output); changes are runs of the `docker` plugin"),
        (name = "tokens", description = "API tokens (admin)"),
        (name = "system", description = "Liveness, metrics, this document"),
    )
)]
pub struct ApiDoc;

/// Declares the `token` security scheme: a bearer token, whose scopes
/// (`read`, `run`, `admin`) each operation's security names.
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // What every operation that needs a token may also answer.
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                if operation.security.is_none() {
                    continue;
                }
                for (status, why) in [
                    (
                        "400",
                        "A malformed request: a path or query value that does not parse, a bad body",
                    ),
                    ("401", "No valid token"),
                    ("403", "The token's scope does not allow this"),
                    ("413", "The request body is too large"),
                    ("429", "Too many failed authentications from this address"),
                ] {
                    let error = utoipa::openapi::ResponseBuilder::new()
                        .description(why)
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::Ref::from_schema_name("ApiError")))
                                .build(),
                        )
                        .build();
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert(error.into());
                }
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `capstan tokens create`; its scope (read < run < admin) must include the operation's",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document as JSON, made once.
pub fn document_json() -> String {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            ApiDoc::openapi()
                .to_pretty_json()
                .expect("the OpenAPI document serialises")
        })
        .clone()
}
