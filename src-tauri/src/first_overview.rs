//! The first page's data, asked of the engine as the app starts, while the
//! webview is still loading: the Overview's first call takes it instead of
//! waiting for the store and the Docker engine then.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capstan_engine::Capstan;
use capstan_wire::overview::Overview;
use tauri::async_runtime::JoinHandle;

/// Data started longer ago than this is not shown: the engine is asked
/// afresh (a page first shown this late was not the start's).
const FRESH_FOR: Duration = Duration::from_secs(10);

type Started = (Instant, JoinHandle<capstan_engine::Result<Overview>>);

/// The Overview being put together since launch, until its first call.
#[derive(Default)]
pub struct FirstOverview(Mutex<Option<Started>>);

impl FirstOverview {
    /// Starts putting the Overview together on the async runtime.
    pub fn start(capstan: Arc<Capstan>) -> Self {
        let handle = tauri::async_runtime::spawn(async move { capstan.overview().await });
        FirstOverview(Mutex::new(Some((Instant::now(), handle))))
    }

    /// The data started at launch, once and while fresh; `None` ever
    /// after (ask the engine afresh then).
    pub async fn take(&self) -> Option<capstan_engine::Result<Overview>> {
        let (at, handle) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        if at.elapsed() > FRESH_FOR {
            handle.abort();
            return None;
        }
        handle.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_engine::Home;

    #[test]
    fn the_data_started_at_launch_is_used_once_then_asked_afresh() {
        let home = tempfile::tempdir().unwrap();
        let capstan = Capstan::open(Home::at(home.path()).unwrap()).unwrap();
        let first = FirstOverview::start(Arc::new(capstan));
        tauri::async_runtime::block_on(async {
            let started = first.take().await.expect("the launch's data");
            assert!(started.unwrap().environments.is_empty());
            assert!(first.take().await.is_none(), "taken only once");
            assert!(FirstOverview::default().take().await.is_none());
        });
    }

    #[test]
    fn data_started_too_long_ago_is_not_used() {
        let home = tempfile::tempdir().unwrap();
        let capstan = Capstan::open(Home::at(home.path()).unwrap()).unwrap();
        let first = FirstOverview::start(Arc::new(capstan));
        if let Some((at, _)) = first.0.lock().unwrap().as_mut() {
            *at = at
                .checked_sub(FRESH_FOR + Duration::from_secs(1))
                .expect("a clock that has run longer than FRESH_FOR");
        }
        assert!(tauri::async_runtime::block_on(first.take()).is_none());
    }
}
