//! `capstan run PLUGIN ACTION`: run an action on targets as a recorded job,
//! with live log lines and a result line per target.

use std::io::Write;
use std::sync::Arc;

use clap::Args;

use capstan_engine::Capstan;
use capstan_engine::jobs::{FailureKind, JobEvent, JobState, ResultStatus, RunRequest};

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
    #[arg(long, value_name = "VAR")]
    become_password_env: Option<String>,
    /// Print the job as JSON on stdout (log lines still go to stderr).
    #[arg(long)]
    json: bool,
    /// Do not print log lines as they come.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Runs the action and returns the exit code its results mean.
pub async fn exec(capstan: &Capstan, args: RunArgs) -> anyhow::Result<Exit> {
    let params = build_params(args.params_json.as_deref(), &args.params)?;
    let request = RunRequest {
        plugin: args.plugin,
        action: args.action,
        params,
        targets: args.targets,
        check: args.check,
        diff: args.diff,
        trust_new_hosts: args.trust_new_hosts,
        become_user: args
            .become_user
            .or(args.become_root.then(|| "root".to_string())),
        become_password_env: args.become_password_env,
        secret_params: Vec::new(),
    };
    run_request(capstan, request, args.json, args.quiet).await
}

/// Runs `request`, printing its log and results (or the job as JSON), and
/// returns the exit code its results mean.
pub async fn run_request(
    capstan: &Capstan,
    request: RunRequest,
    json: bool,
    quiet: bool,
) -> anyhow::Result<Exit> {
    let diff = request.diff;
    let multi_target = request.targets.len() > 1;
    let events = Arc::new(move |event: &JobEvent| {
        if let JobEvent::Log(line) = event
            && !quiet
        {
            let mut err = std::io::stderr().lock();
            let _ = if multi_target {
                writeln!(
                    err,
                    "[{}] {:<5} {}",
                    line.target,
                    line.level.name(),
                    line.message
                )
            } else {
                writeln!(err, "{:<5} {}", line.level.name(), line.message)
            };
        }
    });
    let (control, _listening) = crate::interrupt::cancel_on_ctrl_c();
    let report = capstan.run_with(request, events, control).await?;
    let cancelled = capstan.job(report.job_id)?.state == JobState::Cancelled;

    if json {
        print_json(&capstan.job(report.job_id)?)?;
    } else {
        for result in &report.results {
            println!("{}", result_line(result));
            if diff && let Some(diff) = &result.diff {
                println!("{diff}");
            }
        }
        eprintln!("job {}: {}", report.job_id, recap(&report.results));
    }

    let denied = report
        .results
        .iter()
        .any(|r| r.failure == Some(FailureKind::Denied));
    Ok(if cancelled {
        Exit::Cancelled
    } else if denied {
        Exit::DeniedOrBadInput
    } else if matches!(
        report.overall(),
        Some(ResultStatus::Failed | ResultStatus::Unreachable)
    ) {
        Exit::Failed
    } else {
        Exit::Success
    })
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
