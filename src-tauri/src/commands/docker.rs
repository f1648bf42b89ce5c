//! The Containers and Swarm pages: a host's engine kept live from its
//! events and forwarded to the window, a service's tasks, and container
//! output followed as it is written. Changes (start, stop, remove, scale)
//! are plugin actions, started through `run_action` like any other job.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use capstan_engine::Capstan;
use capstan_engine::docker::{LiveEngine, TaskRow};
use capstan_wire::docker::{DockerView, LogChunk};
use futures_util::StreamExt;
use tauri::{AppHandle, Emitter};

use crate::error::UiResult;

/// The event carrying a host's engine rows.
pub const DOCKER_VIEW: &str = "docker-view";
/// The event carrying a followed container's output.
pub const CONTAINER_LOG: &str = "container-log";

/// Background streams the window opened (live views, followed logs), so a
/// page can stop what it started when it closes.
#[derive(Default)]
pub struct Streams {
    next: AtomicU64,
    running: Mutex<HashMap<u64, tauri::async_runtime::JoinHandle<()>>>,
}

impl Streams {
    /// Starts a stream: `task` gets the stream's id (its events carry it)
    /// and runs until it ends or is stopped. Returns the id.
    fn start<F>(&self, task: impl FnOnce(u64) -> F) -> u64
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let handle = tauri::async_runtime::spawn(task(id));
        self.lock().insert(id, handle);
        id
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, tauri::async_runtime::JoinHandle<()>>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts a live view of `host`'s engine; its rows arrive as `docker-view`
/// events (the first one lists everything). Returns the stream's id.
#[tauri::command]
pub async fn watch_docker(
    app: AppHandle,
    capstan: tauri::State<'_, Arc<Capstan>>,
    streams: tauri::State<'_, Streams>,
    host: String,
) -> UiResult<u64> {
    let engine = capstan.docker_engine(&host).await?;
    Ok(streams.start(move |id| async move {
        let send = {
            let (app, host) = (app.clone(), host.clone());
            move |view: &LiveEngine, error: Option<String>| {
                let rows = DockerView {
                    stream: id,
                    host: host.clone(),
                    containers: view.containers(),
                    services: view.services(),
                    nodes: view.nodes(),
                    error,
                };
                app.emit(DOCKER_VIEW, rows).is_ok()
            }
        };
        let on_change = send.clone();
        let ended = LiveEngine::follow(engine, move |view, _| on_change(view, None)).await;
        let why = match ended {
            Ok(()) => "the engine closed its event stream".to_string(),
            Err(e) => e.to_string(),
        };
        send(&LiveEngine::default(), Some(why));
    }))
}

/// A swarm service's tasks: where each replica runs and why one failed.
#[tauri::command]
pub async fn service_tasks(
    capstan: tauri::State<'_, Arc<Capstan>>,
    host: String,
    service: String,
) -> UiResult<Vec<TaskRow>> {
    let engine = capstan.docker_engine(&host).await?;
    Ok(engine.task_rows(&service).await?)
}

/// Follows a container's output from its last `tail` lines; chunks arrive
/// as `container-log` events. Returns the stream's id.
#[tauri::command]
pub async fn follow_logs(
    app: AppHandle,
    capstan: tauri::State<'_, Arc<Capstan>>,
    streams: tauri::State<'_, Streams>,
    host: String,
    container: String,
    tail: u32,
) -> UiResult<u64> {
    let engine = capstan.docker_engine(&host).await?;
    Ok(streams.start(move |id| async move {
        let chunk = |text: String, ended: bool, error: Option<String>| LogChunk {
            stream: id,
            text,
            ended,
            error,
        };
        let mut error = None;
        {
            let mut output = std::pin::pin!(engine.follow_logs(&container, tail.min(10_000)));
            while let Some(piece) = output.next().await {
                match piece {
                    Ok(text) => {
                        if app.emit(CONTAINER_LOG, chunk(text, false, None)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            }
        }
        let _ = app.emit(CONTAINER_LOG, chunk(String::new(), true, error));
    }))
}

/// Stops a live view or a followed log.
#[tauri::command]
pub fn stop_stream(streams: tauri::State<'_, Streams>, stream: u64) {
    if let Some(handle) = streams.lock().remove(&stream) {
        handle.abort();
    }
}
