//! `capstan serve`: the engine as a long-lived service. It answers an HTTP
//! API at `/api/v1` (its OpenAPI 3.1 document at `/api/v1/openapi.json`) on
//! a Unix socket in the data folder (mode 0600, where the connecting OS
//! user acts as themselves) and, when asked, on TCP, where every request
//! presents a token (`Authorization: Bearer capstan_…`) whose scope each
//! route checks.
//!
//! Modules:
//! - [`auth`]: who a request is (a token, or the socket's user) and
//!   whether its scope allows the route; failed attempts are rate-limited.
//! - [`error`]: the one error shape every route answers with.
//! - [`routes`]: the routes and the OpenAPI document they make.
//! - [`scheduler`]: fires the schedules' jobs.
//! - [`docker_events`]: Docker changes announced to the plugins that
//!   subscribe to them.
//! - [`notifier`]: sends the notifications that are due, and retries.
//! - the event bus (`capstan_engine::events`) hands what happens to the
//!   plugins that subscribe to it.
//! - [`live`]: the updates of the jobs the service runs, for clients
//!   following them.
//! - [`listen`]: the socket and TCP listeners, and a graceful stop.
//! - [`upload`]: an uploaded playbook folder, checked and written out.
//! - [`watch`]: the store read for jobs that ended, announced as events.
//! - [`tls`]: certificates, and the TLS listener TCP uses beyond loopback.

pub mod auth;
pub mod docker_events;
pub mod error;
pub mod listen;
pub mod live;
pub mod notifier;
pub mod routes;
pub mod scheduler;
pub mod tls;
pub mod upload;
pub mod watch;

use std::sync::Arc;
use std::time::Instant;

use capstan_engine::Capstan;
use capstan_engine::events::{BusSettings, EventBus};
use capstan_wire::Actor;
use capstan_wire::events::EventKind;

/// Largest request body accepted (a playbook upload has its own,
/// [`upload::UPLOAD_BODY_LIMIT`]).
pub const BODY_LIMIT: usize = 1 << 20;

/// What every route reaches: the engine, and how requests on this
/// listener are authenticated.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub capstan: Arc<Capstan>,
    /// The OS user a request without a token acts as, on the Unix socket;
    /// `None` on TCP, where a token is required.
    pub socket_user: Option<Actor>,
    /// Failed authentications per source.
    pub failures: Arc<auth::FailureLimiter>,
    /// When the service started.
    pub started: Instant,
    /// The jobs the service runs, waited for when it stops.
    pub jobs: tokio_util::task::TaskTracker,
    /// The updates of the jobs the service runs.
    pub live: Arc<live::LiveJobs>,
    /// Cancelled when the service stops and its grace period is over:
    /// the jobs still running are cancelled and recorded so.
    pub stopping: tokio_util::sync::CancellationToken,
    /// Hands events to the plugins that subscribe to them.
    pub events: EventBus,
}

impl AppState {
    /// A state for `capstan` whose socket's user is `socket_user`, refusing
    /// a source after `max_failures` failed authentications in a minute.
    pub fn new(capstan: Arc<Capstan>, socket_user: Option<Actor>, max_failures: u32) -> Self {
        AppState {
            capstan: capstan.clone(),
            socket_user,
            failures: Arc::new(auth::FailureLimiter::new(max_failures)),
            started: Instant::now(),
            jobs: Default::default(),
            live: Default::default(),
            stopping: Default::default(),
            events: EventBus::new(capstan, BusSettings::default()),
        }
    }

    /// The same state with the event bus queueing and retrying as `settings` say.
    pub fn with_bus_settings(mut self, settings: BusSettings) -> Self {
        self.events = EventBus::new(self.capstan.clone(), settings);
        self
    }

    /// Publishes an event that nobody waits on; a failure to read the
    /// subscribers is logged, never the caller's failure.
    pub fn announce(&self, kind: EventKind, data: serde_json::Value) {
        if let Err(e) = self.events.publish(kind, None, data) {
            tracing::error!(%kind, "announcing an event failed: {e}");
        }
    }

    /// Waits up to `grace` for the jobs the service runs to finish, then
    /// cancels the rest and waits for them to record it. New jobs are
    /// still accepted until the listeners stop.
    pub async fn finish_jobs(&self, grace: std::time::Duration) -> usize {
        self.jobs.close();
        let running = self.jobs.len();
        if running == 0 {
            return 0;
        }
        tracing::info!(running, ?grace, "waiting for the jobs the service runs");
        if tokio::time::timeout(grace, self.jobs.wait()).await.is_err() {
            tracing::warn!(
                running = self.jobs.len(),
                "grace period over: cancelling the jobs still running"
            );
            self.stopping.cancel();
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(15), self.jobs.wait()).await;
        }
        running
    }
}
