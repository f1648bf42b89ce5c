//! The window's share of notifications: while it runs, it shows the
//! desktop channels' deliveries on its user's desktop (the service may
//! run where there is no desktop, or as another user). It claims each
//! delivery in the store before showing it, so the service beside it never
//! shows the same one; the service leaves desktop deliveries to a window it
//! has seen in the last 15 s.

use std::sync::Arc;
use std::time::Duration;

use capstan_engine::Capstan;
use capstan_engine::clock::now_ms;

/// How often the window looks for due desktop deliveries (and tells the
/// service it is there).
pub const LOOK_EVERY: Duration = Duration::from_secs(2);

/// Shows due desktop notifications for as long as the window runs.
pub fn start(capstan: Arc<Capstan>) {
    tauri::async_runtime::spawn(async move {
        loop {
            if let Err(e) = capstan.send_due_desktop_notifications(now_ms()).await {
                tracing::warn!("showing desktop notifications failed: {e}");
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    });
}
