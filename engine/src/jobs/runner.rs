//! Runs one job: every target concurrently, each in a fresh plugin
//! instance, its log lines and results announced as events as they arrive.
//! The runner keeps no records: the facade's recorder saves what it
//! announces.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{FailureKind, LogLine, ResultStatus, TargetResult, overall_status};
use crate::fan_out::{Finished, fan_out};
use capstan_plugin_host::capability::log::LogSink;
use capstan_plugin_host::plugin::{CallContext, CallSetup, LoadedPlugin, PluginHost};

/// Something that happened in a job, in the order it happened.
#[derive(Debug, Clone)]
pub enum JobEvent {
    /// The job was recorded and its targets are starting.
    Started {
        /// The job's id.
        job_id: i64,
        /// The targets it runs on, in the order results are reported.
        targets: Vec<String>,
    },
    /// A plugin wrote a log line.
    Log(LogLine),
    /// One target finished.
    TargetDone(TargetResult),
    /// Every target finished.
    Finished {
        /// The job's id.
        job_id: i64,
        /// The worst status across targets.
        overall: Option<ResultStatus>,
    },
}

/// Targets worked on at once; the rest wait for a free slot.
pub const MAX_PARALLEL_TARGETS: usize = 200;

/// Receives job events (the facade's recorder saves them, the CLI prints
/// them, the desktop app forwards them).
pub type EventSink = Arc<dyn Fn(&JobEvent) + Send + Sync>;

/// What a finished job produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The job's id in the history.
    pub job_id: i64,
    /// Results per target, in the order the targets were given.
    pub results: Vec<TargetResult>,
}

impl RunReport {
    /// The worst status across targets.
    pub fn overall(&self) -> Option<ResultStatus> {
        overall_status(self.results.iter().map(|r| r.status))
    }
}

/// Everything one job needs, already checked by the caller.
pub(crate) struct Job {
    pub id: i64,
    pub plugin: Arc<LoadedPlugin>,
    pub setup: CallSetup,
    pub action: String,
    pub params_json: String,
    pub check: bool,
    pub diff: bool,
    /// Values masked in its results and log lines.
    pub secrets: crate::secrets::Secrets,
    /// Cancelling it stops the targets still running.
    pub cancel: CancellationToken,
}

/// Runs `job` on all of its setup's targets, announcing each log line and
/// result to `events`.
pub(crate) async fn run_job(host: Arc<PluginHost>, job: Job, events: EventSink) -> RunReport {
    let span =
        tracing::info_span!("job", id = job.id, plugin = %job.setup.plugin, action = %job.action);
    run_targets(host, job, events).instrument(span).await
}

async fn run_targets(host: Arc<PluginHost>, job: Job, events: EventSink) -> RunReport {
    tracing::debug!(targets = job.setup.targets.len(), "job started");
    let target_names: Vec<String> = job.setup.targets.iter().map(|t| t.name.clone()).collect();
    events(&JobEvent::Started {
        job_id: job.id,
        targets: target_names.clone(),
    });

    let job = Arc::new(job);
    let work = target_names.iter().map(|target| {
        let (host, job, events) = (host.clone(), job.clone(), events.clone());
        let context = CallContext {
            target: target.clone(),
            targets: target_names.clone(),
            check: job.check,
            diff: job.diff,
        };
        let span = tracing::debug_span!("target", name = %target);
        async move {
            let lines = events.clone();
            let logs: Arc<dyn LogSink> = Arc::new(move |line: LogLine| lines(&JobEvent::Log(line)));
            let mut setup = job.setup.clone();
            setup.log_sink = job.secrets.masking(logs);
            let started = Instant::now();
            let outcome = host
                .run(&job.plugin, &setup, &job.action, &job.params_json, &context)
                .await;
            let result = to_result(
                context.target,
                outcome,
                started.elapsed().as_millis() as u64,
            );
            let secrets = &job.secrets;
            let result = TargetResult {
                summary: secrets.mask(&result.summary),
                diff: result.diff.map(|d| secrets.mask(&d)),
                data: result.data.map(|d| secrets.mask_json(&d)),
                ..result
            };
            done(&result, &events);
            result
        }
        .instrument(span)
    });
    let ended = fan_out(work, MAX_PARALLEL_TARGETS, &job.cancel).await;
    let mut results = Vec::with_capacity(ended.len());
    for (ended, target) in ended.into_iter().zip(&target_names) {
        let summary = match ended {
            Finished::Done(result) => {
                results.push(result);
                continue;
            }
            Finished::Cancelled => "cancelled before it finished",
            Finished::Panicked(why) => {
                tracing::error!(job = job.id, target = %target, panic = %why, "a target task panicked");
                "the host lost this target's task (see the log)"
            }
        };
        let result = TargetResult {
            target: target.clone(),
            status: ResultStatus::Failed,
            summary: summary.into(),
            diff: None,
            data: None,
            failure: Some(FailureKind::Host),
            duration_ms: 0,
        };
        done(&result, &events);
        results.push(result);
    }
    for target in job.setup.targets.iter() {
        target.close().await;
    }
    let report = RunReport {
        job_id: job.id,
        results,
    };
    tracing::debug!(
        overall = report.overall().map_or("-", |s| s.name()),
        "job finished"
    );
    events(&JobEvent::Finished {
        job_id: job.id,
        overall: report.overall(),
    });
    report
}

/// Announces one target's result.
fn done(result: &TargetResult, events: &EventSink) {
    tracing::debug!(status = %result.status, "target done");
    events(&JobEvent::TargetDone(result.clone()));
}

fn to_result(
    target: String,
    outcome: std::result::Result<
        capstan_plugin_host::plugin::PluginOutcome,
        capstan_plugin_host::plugin::CallFailure,
    >,
    duration_ms: u64,
) -> TargetResult {
    match outcome {
        Ok(outcome) => TargetResult {
            target,
            failure: (outcome.status == ResultStatus::Failed).then_some(FailureKind::Plugin),
            status: outcome.status,
            summary: outcome.summary,
            diff: outcome.diff,
            data: outcome
                .data
                .map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d))),
            duration_ms,
        },
        Err(failure) => TargetResult {
            target,
            status: if failure.kind == FailureKind::Unreachable {
                ResultStatus::Unreachable
            } else {
                ResultStatus::Failed
            },
            summary: failure.message,
            diff: None,
            data: None,
            failure: Some(failure.kind),
            duration_ms,
        },
    }
}
