//! Modules the play runs itself rather than a plugin on the host:
//! `fail` and `pause`.

use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};

use super::results::ItemResult;
use crate::jobs::ResultStatus;
use crate::playbook::context::RunContext;
use crate::playbook::task_error::TaskError;

/// The longest `pause` Capstan waits, as a guard against a typo.
const LONGEST_PAUSE: Duration = Duration::from_secs(24 * 3600);

/// `fail: msg=...`: the host fails with the message (Ansible's when none
/// is given).
pub(super) fn fail(params: &Json) -> Result<ItemResult, TaskError> {
    let mut msg = "Failed as requested from task".to_string();
    for (key, value) in params.as_object().into_iter().flatten() {
        match key.as_str() {
            "msg" => {
                msg = match value {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                }
            }
            other => {
                return Err(TaskError::Args(format!(
                    "fail: unknown field `{other}` (known: msg)"
                )));
            }
        }
    }
    Ok(ItemResult::failed(msg))
}

/// `pause: seconds=N` (or `minutes=N`): waits, stopped early by the run's
/// cancellation. A pause that would wait for an answer (`prompt` without
/// a time) is refused: Capstan runs without prompting.
pub(super) async fn pause(ctx: &RunContext, params: &Json) -> Result<ItemResult, TaskError> {
    let number = |value: &Json, what: &str| -> Result<f64, TaskError> {
        let n = match value {
            Json::Number(n) => n.as_f64(),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        n.filter(|n| *n >= 0.0)
            .ok_or_else(|| TaskError::Args(format!("pause: `{what}` takes a number, not {value}")))
    };
    // How long, and in which unit it was asked for (which the result says).
    let mut wait = None;
    let mut prompt = None;
    for (key, value) in params.as_object().into_iter().flatten() {
        match key.as_str() {
            "seconds" => wait = Some((number(value, "seconds")?, "seconds", 1.0)),
            "minutes" => wait = Some((number(value, "minutes")?, "minutes", 60.0)),
            "prompt" => prompt = value.as_str().map(str::to_string),
            "echo" => {}
            other => {
                return Err(TaskError::Args(format!(
                    "pause: unknown field `{other}` (known: seconds, minutes, prompt, echo)"
                )));
            }
        }
    }
    let Some((amount, unit, scale)) = wait else {
        return Err(TaskError::Args(format!(
            "pause{}: without `seconds` or `minutes` it waits for an answer, and Capstan runs \
             without prompting; give it a time",
            prompt.map(|p| format!(" `{p}`")).unwrap_or_default()
        )));
    };
    let wait = Duration::from_secs_f64(amount * scale);
    if wait > LONGEST_PAUSE {
        return Err(TaskError::Args(
            "pause: longer than a day; split the run instead".into(),
        ));
    }
    let started = Instant::now();
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        () = ctx.cancel.cancelled() => {}
    }
    let waited = started.elapsed().as_secs_f64();
    let summary = format!("Paused for {} {unit}", python_float(amount));
    let mut result = Map::new();
    result.insert("changed".into(), Json::Bool(false));
    result.insert("rc".into(), Json::from(0));
    result.insert("delta".into(), Json::from(waited.round() as i64));
    result.insert("stdout".into(), Json::String(summary.clone()));
    result.insert("user_input".into(), Json::String(String::new()));
    result.insert("echo".into(), Json::Bool(true));
    Ok(ItemResult {
        status: ResultStatus::Ok,
        summary,
        diff: None,
        result,
        unreachable: false,
    })
}

/// A number as Python prints a float (`1.0`, `2.5`), as Ansible's
/// result shows it.
fn python_float(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{n:.1}")
    } else {
        n.to_string()
    }
}
