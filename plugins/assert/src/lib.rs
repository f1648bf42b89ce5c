//! Ansible's `assert` module. The playbook runner evaluates each `that`
//! expression (it holds the variables); this plugin decides the outcome
//! and words it as Ansible does. It needs no capability at all.

use capstan_plugin_sdk::{
    Action, Context, Error, JsonSchema, Manifest, Outcome, Plugin, register_plugin,
};
use serde::Deserialize;

/// One evaluated expression.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Check {
    /// The expression, as written.
    that: String,
    /// Whether it held.
    ok: bool,
}

/// Parameters of `check`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CheckParams {
    /// Conditions and whether each held.
    checks: Vec<Check>,
    /// Message when one does not hold (text, or a list of lines).
    fail_msg: Option<serde_json::Value>,
    /// Message when all hold.
    success_msg: Option<serde_json::Value>,
    /// Say less on success.
    #[serde(default)]
    quiet: bool,
}

struct Assert;

impl Plugin for Assert {
    fn manifest() -> Manifest {
        Manifest::new(
            "assert",
            env!("CARGO_PKG_VERSION"),
            "Fail unless every condition holds.",
        )
        .action(
            Action::new("check", "Report failed on the first false condition.")
                .run(|params, _ctx: &Context| -> Result<Outcome, Error> { Ok(check(params)) }),
        )
    }
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check(params: CheckParams) -> Outcome {
    if let Some(failed) = params.checks.iter().find(|c| !c.ok) {
        let msg = params
            .fail_msg
            .as_ref()
            .map(text)
            .unwrap_or_else(|| "Assertion failed".into());
        // The line people read names the condition that was false, as
        // Ansible's result does (`assertion`); `msg` stays Ansible's.
        let summary = format!("{msg}: `{}` was false", failed.that);
        return Outcome::failed(summary).with_data(serde_json::json!({
            "assertion": failed.that,
            "evaluated_to": false,
            "msg": msg,
        }));
    }
    let msg = params
        .success_msg
        .as_ref()
        .map(text)
        .unwrap_or_else(|| "All assertions passed".into());
    let summary = if params.quiet {
        String::new()
    } else {
        msg.clone()
    };
    Outcome::ok(summary).with_data(serde_json::json!({ "msg": msg }))
}

register_plugin!(Assert);

#[cfg(test)]
mod tests {
    use super::*;

    fn params(oks: &[bool], fail_msg: Option<&str>) -> CheckParams {
        CheckParams {
            checks: oks
                .iter()
                .enumerate()
                .map(|(i, ok)| Check {
                    that: format!("x{i}"),
                    ok: *ok,
                })
                .collect(),
            fail_msg: fail_msg.map(Into::into),
            success_msg: None,
            quiet: false,
        }
    }

    #[test]
    fn first_false_condition_fails_with_the_message() {
        let outcome = check(params(&[true, false], Some("port is wrong")));
        assert_eq!(outcome.status, capstan_plugin_sdk::Status::Failed);
        assert_eq!(outcome.summary, "port is wrong: `x1` was false");
        let data = outcome.data.unwrap();
        assert_eq!(data["assertion"], "x1");
        assert_eq!(data["msg"], "port is wrong");
        let outcome = check(params(&[true, true], None));
        assert_eq!(outcome.status, capstan_plugin_sdk::Status::Ok);
        assert_eq!(outcome.data.unwrap()["msg"], "All assertions passed");
    }
}
