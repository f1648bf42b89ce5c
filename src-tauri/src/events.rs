//! Job events forwarded to the webview. The engine calls a sink for every
//! event; a task sends what has piled up as one `job-updates` message, so
//! a plugin that writes 10,000 lines costs a few messages, not 10,000, and
//! nothing waits on a timer. A message is the batch as JSON text: the
//! webview parses one string far faster than it walks thousands of objects.

use std::sync::Arc;

use capstan_engine::jobs::{EventSink, JobEvent, UpdateStream};
use capstan_engine::playbook::{PlaybookEvent, PlaybookEventSink};
use capstan_wire::jobs::JobUpdate;
use tauri::{AppHandle, Emitter};
use tokio::sync::mpsc;

/// The event name the UI listens to.
pub const JOB_UPDATES: &str = "job-updates";

/// At most this many updates go in one message.
const BATCH: usize = 2_000;

/// Sends a job's updates to the webview in batches.
#[derive(Clone)]
pub struct Forwarder {
    queue: mpsc::UnboundedSender<JobUpdate>,
}

impl Forwarder {
    /// A forwarder for one job, with its sending task.
    pub fn new(app: AppHandle) -> Forwarder {
        let (queue, mut updates) = mpsc::unbounded_channel::<JobUpdate>();
        tauri::async_runtime::spawn(async move {
            while let Some(first) = updates.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match updates.try_recv() {
                        Ok(update) => batch.push(update),
                        Err(_) => break,
                    }
                }
                let text = serde_json::to_string(&batch).expect("job updates serialise");
                if let Err(e) = app.emit(JOB_UPDATES, text) {
                    tracing::warn!(error = %e, "could not forward job updates to the window");
                }
            }
        });
        Forwarder { queue }
    }

    fn send(&self, update: JobUpdate) {
        let _ = self.queue.send(update);
    }

    /// The engine's sink for a plugin action's events.
    pub fn action_sink(&self, on_started: impl Fn(i64) + Send + Sync + 'static) -> EventSink {
        let (this, stream) = (self.clone(), UpdateStream::default());
        Arc::new(move |event: &JobEvent| {
            if let JobEvent::Started { job_id, .. } = event {
                on_started(*job_id);
            }
            this.send(stream.of_action(event));
        })
    }

    /// The engine's sink for a playbook's events.
    pub fn playbook_sink(
        &self,
        on_started: impl Fn(i64) + Send + Sync + 'static,
    ) -> PlaybookEventSink {
        let (this, stream) = (self.clone(), UpdateStream::default());
        Arc::new(move |event: &PlaybookEvent| {
            if let PlaybookEvent::Started { job_id } = event {
                on_started(*job_id);
            }
            this.send(stream.of_playbook(event));
        })
    }
}
