//! What the backend pushes, kept where every page can read it: the jobs
//! this window watches (their log, results and playbook tasks as they
//! arrive), the latest view of each followed Docker engine, and followed
//! container output. One listener per event for the window's life, so a
//! page that opens late still sees everything since the job started.

use std::collections::HashMap;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::api::{
    self, DockerView, JobUpdate, LogChunk, LogLine, Recap, ResultStatus, TargetResult, TaskOutcome,
};

/// One line of a job's output as the window draws it: a plugin's log line,
/// a result, or a playbook's PLAY/TASK heading. `class` picks its colour
/// (a log level, a status, `play`, `task`).
#[derive(Debug, Clone, PartialEq)]
pub struct ShownLine {
    /// The target or host it is about (empty for a heading).
    pub target: String,
    /// What colours it.
    pub class: String,
    /// The text.
    pub message: String,
}

impl From<LogLine> for ShownLine {
    fn from(line: LogLine) -> Self {
        ShownLine {
            target: line.target,
            class: line.level.name().to_string(),
            message: line.message,
        }
    }
}

/// A job as seen from its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveJob {
    /// The window saw it start, so the events below are complete.
    pub complete: bool,
    /// Its targets (an action's; a playbook's come with its plays).
    pub targets: Vec<String>,
    /// Log lines: plugin log lines, and a playbook's task lines.
    pub lines: Vec<ShownLine>,
    /// An action's results per target.
    pub results: Vec<TargetResult>,
    /// A playbook's task results.
    pub tasks: Vec<TaskOutcome>,
    /// The task running now.
    pub current_task: Option<String>,
    /// It ended.
    pub finished: bool,
    /// Its worst result.
    pub overall: Option<ResultStatus>,
    /// A playbook's recap.
    pub recap: Vec<Recap>,
}

impl LiveJob {
    fn apply(&mut self, update: JobUpdate) {
        match update {
            JobUpdate::Started { targets, .. } => {
                self.complete = true;
                self.targets = targets;
            }
            JobUpdate::Log {
                target,
                level,
                message,
                ..
            } => self.lines.push(ShownLine {
                target,
                class: level.name().to_string(),
                message,
            }),
            JobUpdate::TargetDone { result, .. } => {
                self.lines.push(result_line(&result));
                self.results.push(result);
            }
            JobUpdate::Play { name, hosts, .. } => {
                for host in hosts {
                    if !self.targets.contains(&host) {
                        self.targets.push(host);
                    }
                }
                self.lines.push(ShownLine {
                    target: String::new(),
                    class: "play".into(),
                    message: format!("PLAY [{name}]"),
                });
            }
            JobUpdate::Task { name, .. } => {
                self.lines.push(ShownLine {
                    target: String::new(),
                    class: "task".into(),
                    message: format!("TASK [{name}]"),
                });
                self.current_task = Some(name);
            }
            JobUpdate::HostDone { outcome, .. } => {
                self.lines.push(task_line(&outcome));
                self.tasks.push(outcome);
            }
            JobUpdate::Finished { overall, recap, .. } => {
                self.finished = true;
                self.current_task = None;
                self.overall = overall;
                self.recap = recap;
            }
        }
    }
}

/// A container's output as followed so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FollowedOutput {
    /// The newest text (older text is dropped past 512 KiB).
    pub text: String,
    /// Why following stopped early.
    pub error: Option<String>,
    /// The stream ended.
    pub ended: bool,
}

/// The output line of a target's result (a plugin action).
pub fn result_line(result: &TargetResult) -> ShownLine {
    ShownLine {
        target: result.target.clone(),
        class: result.status.name().to_string(),
        message: format!("{}: {}", result.status, result.summary),
    }
}

/// The output line of a playbook task's result on one host.
pub fn task_line(outcome: &TaskOutcome) -> ShownLine {
    ShownLine {
        target: outcome.host.clone(),
        class: outcome.status.name().to_string(),
        message: format!(
            "{}: [{}] {} — {}",
            outcome.status, outcome.host, outcome.task, outcome.summary
        ),
    }
}

/// The window's live state, shared by context.
#[derive(Clone, Copy)]
pub struct Live {
    /// Jobs by id.
    pub jobs: RwSignal<HashMap<i64, LiveJob>>,
    /// Engine views by stream id.
    pub docker: RwSignal<HashMap<u64, DockerView>>,
    /// Followed container output by stream id.
    pub logs: RwSignal<HashMap<u64, FollowedOutput>>,
    /// Bumped whenever any job starts or ends (lists refresh on it).
    pub jobs_changed: RwSignal<u64>,
}

/// Followed output kept per stream (older text is dropped).
const MAX_LOG_TEXT: usize = 512 << 10;

impl Live {
    /// Subscribes to the backend's events and provides the state.
    pub fn start() -> Live {
        let live = Live {
            jobs: RwSignal::new(HashMap::new()),
            docker: RwSignal::new(HashMap::new()),
            logs: RwSignal::new(HashMap::new()),
            jobs_changed: RwSignal::new(0),
        };
        leptos::task::spawn_local(async move {
            api::listen_json("job-updates", move |batch: Vec<JobUpdate>| {
                live.apply_jobs(batch)
            })
            .await;
            api::listen("docker-view", move |view: DockerView| {
                live.docker.update(|views| {
                    views.insert(view.stream, view);
                })
            })
            .await;
            api::listen("container-log", move |chunk: LogChunk| {
                live.logs.update(|logs| {
                    let entry = logs.entry(chunk.stream).or_default();
                    entry.text.push_str(&chunk.text);
                    if entry.text.len() > MAX_LOG_TEXT {
                        let cut = entry.text.len() - MAX_LOG_TEXT;
                        let cut = (cut..entry.text.len())
                            .find(|i| entry.text.is_char_boundary(*i))
                            .unwrap_or(entry.text.len());
                        entry.text.drain(..cut);
                    }
                    entry.ended |= chunk.ended;
                    if chunk.error.is_some() {
                        entry.error = chunk.error;
                    }
                })
            })
            .await;
        });
        provide_context(live);
        live
    }

    fn apply_jobs(&self, batch: Vec<JobUpdate>) {
        let received = now_ms();
        let mut lines = 0;
        let mut started_or_ended = false;
        self.jobs.update(|jobs| {
            for update in batch {
                lines += matches!(update, JobUpdate::Log { .. }) as usize;
                started_or_ended |= matches!(
                    update,
                    JobUpdate::Started { .. } | JobUpdate::Finished { .. }
                );
                jobs.entry(update.job_id()).or_default().apply(update);
            }
        });
        if started_or_ended {
            self.jobs_changed.update(|n| *n += 1);
        }
        if lines > 0 {
            record_append_latency(received, lines);
        }
    }
}

/// The window's live state.
pub fn live() -> Live {
    expect_context::<Live>()
}

/// Milliseconds since the page loaded, with sub-millisecond precision.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Notes, for `bench/window.sh`, how long log lines took from arriving to
/// the frame that shows them: `window.__capstanLogAppends` collects
/// `[lines, milliseconds]` pairs.
fn record_append_latency(received: f64, lines: usize) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let callback = Closure::once_into_js(move || {
        let Some(window) = web_sys::window() else {
            return;
        };
        let key = JsValue::from_str("__capstanLogAppends");
        let samples = js_sys::Reflect::get(&window, &key)
            .ok()
            .filter(|v| v.is_object())
            .unwrap_or_else(|| {
                let array: JsValue = js_sys::Array::new().into();
                let _ = js_sys::Reflect::set(&window, &key, &array);
                array
            });
        let pair = js_sys::Array::of2(&(lines as f64).into(), &(now_ms() - received).into());
        samples.unchecked_into::<js_sys::Array>().push(&pair);
    });
    let _ = window.request_animation_frame(callback.unchecked_ref());
}
