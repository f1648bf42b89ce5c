//! Job events forwarded to the webview. The engine calls a sink for every
//! event; a task sends what has piled up as one `job-updates` message, so
//! a plugin that writes 10,000 lines costs a few messages, not 10,000, and
//! nothing waits on a timer. A message is the batch as JSON text: the
//! webview parses one string far faster than it walks thousands of objects.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use capstan_engine::jobs::{EventSink, JobEvent, ResultStatus};
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
    job_id: Arc<AtomicI64>,
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
        Forwarder {
            queue,
            job_id: Arc::new(AtomicI64::new(0)),
        }
    }

    fn send(&self, update: JobUpdate) {
        let _ = self.queue.send(update);
    }

    /// The engine's sink for a plugin action's events.
    pub fn action_sink(&self, on_started: impl Fn(i64) + Send + Sync + 'static) -> EventSink {
        let this = self.clone();
        Arc::new(move |event: &JobEvent| {
            let job_id = this.job_id.load(Ordering::Relaxed);
            this.send(match event {
                JobEvent::Started { job_id, targets } => {
                    this.job_id.store(*job_id, Ordering::Relaxed);
                    on_started(*job_id);
                    JobUpdate::Started {
                        job_id: *job_id,
                        targets: targets.clone(),
                    }
                }
                JobEvent::Log(line) => JobUpdate::Log {
                    job_id,
                    target: line.target.clone(),
                    level: line.level,
                    message: line.message.clone(),
                },
                JobEvent::TargetDone(result) => JobUpdate::TargetDone {
                    job_id,
                    result: result.clone(),
                },
                JobEvent::Finished { job_id, overall } => JobUpdate::Finished {
                    job_id: *job_id,
                    overall: *overall,
                    recap: Vec::new(),
                },
            })
        })
    }

    /// The engine's sink for a playbook's events.
    pub fn playbook_sink(
        &self,
        on_started: impl Fn(i64) + Send + Sync + 'static,
    ) -> PlaybookEventSink {
        let this = self.clone();
        Arc::new(move |event: &PlaybookEvent| {
            let job_id = this.job_id.load(Ordering::Relaxed);
            this.send(match event {
                PlaybookEvent::Started { job_id } => {
                    this.job_id.store(*job_id, Ordering::Relaxed);
                    on_started(*job_id);
                    JobUpdate::Started {
                        job_id: *job_id,
                        targets: Vec::new(),
                    }
                }
                PlaybookEvent::Play { name, hosts, .. } => JobUpdate::Play {
                    job_id,
                    name: name.clone(),
                    hosts: hosts.clone(),
                },
                PlaybookEvent::Task { name, .. } => JobUpdate::Task {
                    job_id,
                    name: name.clone(),
                },
                PlaybookEvent::Log(line) => JobUpdate::Log {
                    job_id,
                    target: line.target.clone(),
                    level: line.level,
                    message: line.message.clone(),
                },
                PlaybookEvent::HostDone(outcome) => JobUpdate::HostDone {
                    job_id,
                    outcome: outcome.clone(),
                },
                PlaybookEvent::Finished {
                    job_id,
                    recap,
                    error,
                } => JobUpdate::Finished {
                    job_id: *job_id,
                    overall: if error.is_some() {
                        Some(ResultStatus::Failed)
                    } else {
                        capstan_engine::jobs::overall_status(recap.iter().map(|r| r.status()))
                    },
                    recap: recap.clone(),
                },
            })
        })
    }
}
