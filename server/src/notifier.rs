//! The service's notifier: it makes the notification attempts that are
//! due (deliveries queued when a job ended, retries whose delay is over),
//! twice a second, until stopped.

use std::time::Duration;

use capstan_engine::clock::now_ms;
use tokio_util::sync::CancellationToken;

use crate::AppState;

/// How often due deliveries are looked for.
pub const LOOK_EVERY: Duration = Duration::from_millis(500);

/// Sends due notifications until `stop` is cancelled.
pub async fn run(state: AppState, stop: CancellationToken) {
    loop {
        if let Err(e) = state.capstan.send_due_notifications(now_ms()).await {
            tracing::error!("sending notifications failed: {e}");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(LOOK_EVERY) => {}
        }
    }
}
