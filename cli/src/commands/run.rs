//! `capstan run PLUGIN ACTION`: run an action on targets as a recorded job,
//! with live log lines and a result line per target.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;

use capstan_engine::Capstan;
use capstan_engine::jobs::{
    FailureKind, JobEvent, JobRecord, JobState, JobUpdate, ResultStatus, RunRequest, TargetResult,
    UpdateStream,
};

use crate::exit::{BadInput, Exit};
use crate::output::{print_json, recap, result_line};

/// Arguments of `capstan run`.
#[derive(Args)]
pub struct RunArgs {
    /// The plugin (see `capstan plugin list`).
    plugin: String,
    /// One of its actions (see `capstan plugin show PLUGIN`).
    action: String,
    /// A parameter: `key=value` for a string, `key:=JSON` for any JSON value.
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// All parameters as one JSON object (merged under `-p`).
    #[arg(long, value_name = "JSON")]
    params_json: Option<String>,
    /// Where to run (repeatable). Default: local.
    #[arg(long = "target", short = 't', value_name = "TARGET")]
    targets: Vec<String>,
    /// Check mode: change nothing, report what would change.
    #[arg(long)]
    check: bool,
    /// Ask for diffs of what changes.
    #[arg(long)]
    diff: bool,
    /// Record the host keys of hosts seen for the first time instead of
    /// refusing them (check the fingerprints first).
    #[arg(long)]
    trust_new_hosts: bool,
    /// Run as root through sudo on every target (Ansible's `become`).
    #[arg(long = "become", short = 'b')]
    become_root: bool,
    /// Run as this user through sudo instead of root.
    #[arg(long, value_name = "USER")]
    become_user: Option<String>,
    /// Environment variable holding the sudo password, when sudo asks for one.
    #[arg(long, value_name = "VAR", conflicts_with = "become_password_secret")]
    become_password_env: Option<String>,
    /// The stored secret (`capstan secrets set`) holding the sudo password:
    /// what a schedule or a run through `--server` uses.
    #[arg(long, value_name = "NAME")]
    become_password_secret: Option<String>,
    /// Print the job as JSON on stdout (log lines still go to stderr).
    #[arg(long)]
    json: bool,
    /// Do not print log lines as they come.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Runs the action and returns the exit code its results mean.
pub async fn exec(capstan: &Capstan, args: RunArgs) -> anyhow::Result<Exit> {
    let (json, quiet) = args.output();
    run_request(capstan, args.into_request()?, json, quiet).await
}

impl RunArgs {
    /// Whether to print the job as JSON, and whether to leave out log lines.
    pub fn output(&self) -> (bool, bool) {
        (self.json, self.quiet)
    }

    /// The request these arguments make.
    pub fn into_request(self) -> anyhow::Result<RunRequest> {
        let params = build_params(self.params_json.as_deref(), &self.params)?;
        Ok(RunRequest {
            plugin: self.plugin,
            action: self.action,
            params,
            targets: self.targets,
            check: self.check,
            diff: self.diff,
            trust_new_hosts: self.trust_new_hosts,
            become_user: self
                .become_user
                .or(self.become_root.then(|| "root".to_string())),
            become_password_env: self.become_password_env,
            become_password_secret: self.become_password_secret,
            secret_params: Vec::new(),
        })
    }
}

/// Runs `request`, printing its log and results (or the job as JSON), and
/// returns the exit code its results mean.
pub async fn run_request(
    capstan: &Capstan,
    request: RunRequest,
    json: bool,
    quiet: bool,
) -> anyhow::Result<Exit> {
    let printer = Arc::new(ActionPrinter::new(quiet));
    let (sink, stream) = (printer.clone(), UpdateStream::default());
    let events = Arc::new(move |event: &JobEvent| sink.update(&stream.of_action(event)));
    let diff = request.diff;
    let (control, _listening) = crate::interrupt::cancel_on_ctrl_c();
    let report = capstan.run_with(request, events, control).await?;
    printer.finish(&capstan.job(report.job_id)?, diff, json)
}

/// Prints a plugin action's run as it goes, from its updates (the same
/// for a local run and one followed through `--server`), then its results.
pub struct ActionPrinter {
    quiet: bool,
    multi_target: AtomicBool,
}

impl ActionPrinter {
    /// A printer; `quiet` leaves out the log lines.
    pub fn new(quiet: bool) -> ActionPrinter {
        ActionPrinter {
            quiet,
            multi_target: AtomicBool::new(false),
        }
    }

    /// Prints a log line as it comes, on stderr (named by its target when
    /// the job has several).
    pub fn update(&self, update: &JobUpdate) {
        match update {
            JobUpdate::Started { targets, .. } => {
                self.multi_target
                    .store(targets.len() > 1, Ordering::Relaxed);
            }
            JobUpdate::Log {
                target,
                level,
                message,
                ..
            } if !self.quiet => {
                let mut err = std::io::stderr().lock();
                let _ = if self.multi_target.load(Ordering::Relaxed) {
                    writeln!(err, "[{target}] {:<5} {message}", level.name())
                } else {
                    writeln!(err, "{:<5} {message}", level.name())
                };
            }
            _ => {}
        }
    }

    /// Prints the finished job's results in its targets' order (or the job
    /// as JSON) and returns the exit code they mean.
    pub fn finish(&self, job: &JobRecord, diff: bool, json: bool) -> anyhow::Result<Exit> {
        let mut results: Vec<&TargetResult> = job.results.iter().collect();
        results.sort_by_key(|r| job.targets.iter().position(|t| *t == r.target));
        if json {
            print_json(job)?;
        } else {
            for result in &results {
                println!("{}", result_line(result));
                if diff && let Some(diff) = &result.diff {
                    println!("{diff}");
                }
            }
            eprintln!("job {}: {}", job.id, recap(&job.results));
        }
        let denied = results
            .iter()
            .any(|r| r.failure == Some(FailureKind::Denied));
        Ok(if job.state == JobState::Cancelled {
            Exit::Cancelled
        } else if denied {
            Exit::DeniedOrBadInput
        } else if matches!(
            job.overall(),
            Some(ResultStatus::Failed | ResultStatus::Unreachable)
        ) {
            Exit::Failed
        } else {
            Exit::Success
        })
    }
}

/// Merges `--params-json` and each `-p` into one JSON object.
fn build_params(json: Option<&str>, pairs: &[String]) -> anyhow::Result<serde_json::Value> {
    let mut params = match json {
        Some(text) => serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| BadInput(format!("--params-json is not valid JSON: {e}")))?,
        None => serde_json::json!({}),
    };
    let Some(object) = params.as_object_mut() else {
        return Err(BadInput("--params-json must be a JSON object".into()).into());
    };
    for pair in pairs {
        if let Some((key, raw)) = pair.split_once(":=") {
            let value = serde_json::from_str(raw)
                .map_err(|e| BadInput(format!("-p {pair}: the value after := is not JSON: {e}")))?;
            object.insert(key.to_string(), value);
        } else if let Some((key, value)) = pair.split_once('=') {
            object.insert(
                key.to_string(),
                serde_json::Value::String(value.to_string()),
            );
        } else {
            return Err(BadInput(format!("-p {pair}: expected KEY=VALUE or KEY:=JSON")).into());
        }
        if pair.starts_with('=') || pair.starts_with(":=") {
            return Err(BadInput(format!("-p {pair}: the key is empty")).into());
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::build_params;
    use serde_json::json;

    #[test]
    fn params_merge_strings_and_json() {
        let p = build_params(
            Some(r#"{"a": 1}"#),
            &["msg=hi there".into(), "argv:=[\"ls\"]".into()],
        )
        .unwrap();
        assert_eq!(p, json!({ "a": 1, "msg": "hi there", "argv": ["ls"] }));
    }

    #[test]
    fn bad_params_are_named() {
        assert!(
            build_params(None, &["novalue".into()])
                .unwrap_err()
                .to_string()
                .contains("-p novalue")
        );
        assert!(
            build_params(None, &["x:=nope".into()])
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
        assert!(
            build_params(Some("[1]"), &[])
                .unwrap_err()
                .to_string()
                .contains("JSON object")
        );
    }
}
