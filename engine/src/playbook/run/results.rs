//! What one loop item and one task produced: their status, summary, diff
//! and the value `register:` stores, folded the way Ansible folds a loop's
//! results, and hidden the way `no_log` hides them.

use serde_json::{Map, Value as Json};

use crate::jobs::{FailureKind, ResultStatus};
use crate::playbook::model::{Play, Task};
use capstan_plugin_host::plugin::{CallFailure, PluginOutcome};

/// The result of one loop item, or of a whole task on one host (its
/// items folded by [`ItemResult::combine`]).
#[derive(Debug, Clone)]
pub(super) struct ItemResult {
    pub status: ResultStatus,
    pub summary: String,
    pub diff: Option<String>,
    /// As `register:` stores it.
    pub result: Map<String, Json>,
    pub unreachable: bool,
}

impl ItemResult {
    /// A failure the controller decided (bad arguments, a false `when`
    /// that could not be evaluated), worded as `message`.
    pub fn failed(message: String) -> ItemResult {
        let mut result = Map::new();
        result.insert("failed".into(), Json::Bool(true));
        result.insert("changed".into(), Json::Bool(false));
        result.insert("msg".into(), Json::String(message.clone()));
        ItemResult {
            status: ResultStatus::Failed,
            summary: message,
            diff: None,
            result,
            unreachable: false,
        }
    }

    /// Turns this result into a failure worded as `message`, keeping what
    /// it holds (a skipped item keeps `skipped` and its reason).
    pub fn fail(&mut self, message: String) {
        self.status = ResultStatus::Failed;
        self.result.insert("failed".into(), Json::Bool(true));
        self.result
            .insert("msg".into(), Json::String(message.clone()));
        self.summary = message;
    }

    /// An item skipped for `reason`.
    pub fn skipped(reason: String) -> ItemResult {
        let mut result = Map::new();
        result.insert("changed".into(), Json::Bool(false));
        result.insert("skipped".into(), Json::Bool(true));
        result.insert("skip_reason".into(), Json::String(reason.clone()));
        ItemResult {
            status: ResultStatus::Skipped,
            summary: reason,
            diff: None,
            result,
            unreachable: false,
        }
    }

    /// What a plugin call gave, as Ansible's result keys: its data, with
    /// `changed`, `failed`, `skipped`, `msg` and `diff` filled in.
    pub fn from_call(outcome: Result<PluginOutcome, CallFailure>) -> ItemResult {
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(failure) => {
                let unreachable = failure.kind == FailureKind::Unreachable;
                let mut item = ItemResult::failed(failure.message);
                if unreachable {
                    item.unreachable = true;
                    item.status = ResultStatus::Unreachable;
                    item.result.insert("unreachable".into(), Json::Bool(true));
                }
                return item;
            }
        };
        let mut result = match outcome.data.as_deref().map(serde_json::from_str::<Json>) {
            Some(Ok(Json::Object(map))) => map,
            Some(Ok(other)) => Map::from_iter([("data".to_string(), other)]),
            _ => Map::new(),
        };
        // A plugin may say it changed something even though it failed (a
        // command that ran and exited non-zero).
        let changed = outcome.status == ResultStatus::Changed
            || (outcome.status == ResultStatus::Failed
                && result.get("changed") == Some(&Json::Bool(true)));
        result.insert("changed".into(), Json::Bool(changed));
        result.insert(
            "failed".into(),
            Json::Bool(outcome.status == ResultStatus::Failed),
        );
        if outcome.status == ResultStatus::Skipped {
            result.insert("skipped".into(), Json::Bool(true));
        }
        if !result.contains_key("msg") {
            result.insert("msg".into(), Json::String(outcome.summary.clone()));
        }
        // A module's own structured `diff` (file's before/after) stays.
        if let Some(diff) = &outcome.diff {
            result
                .entry("diff")
                .or_insert_with(|| Json::String(diff.clone()));
        }
        ItemResult {
            status: outcome.status,
            summary: outcome.summary,
            diff: outcome.diff,
            result,
            unreachable: false,
        }
    }
}

impl ItemResult {
    /// Folds item results (each with the label it is shown by) into the
    /// task's, with what `register:` stores as its `result`. Without a
    /// loop there is exactly one, taken as it is.
    pub fn combine(looped: bool, mut results: Vec<(Option<Json>, ItemResult)>) -> ItemResult {
        if !looped {
            let mut only = results.pop().expect("one result without a loop");
            if only.1.unreachable {
                only.1.status = ResultStatus::Unreachable;
            }
            return only.1;
        }
        let any = |status: ResultStatus| results.iter().any(|(_, r)| r.status == status);
        let unreachable = results.iter().any(|(_, r)| r.unreachable);
        let failed = any(ResultStatus::Failed);
        let changed = any(ResultStatus::Changed);
        let all_skipped = results
            .iter()
            .all(|(_, r)| r.status == ResultStatus::Skipped);
        let status = if unreachable {
            ResultStatus::Unreachable
        } else if failed {
            ResultStatus::Failed
        } else if all_skipped {
            ResultStatus::Skipped
        } else if changed {
            ResultStatus::Changed
        } else {
            ResultStatus::Ok
        };
        let summary = loop_summary(&results);
        let diffs: Vec<String> = results.iter().filter_map(|(_, r)| r.diff.clone()).collect();
        let mut registered = Map::new();
        registered.insert("changed".into(), Json::Bool(changed));
        registered.insert("failed".into(), Json::Bool(failed));
        if all_skipped {
            registered.insert("skipped".into(), Json::Bool(true));
        }
        let msg = if failed {
            "One or more items failed"
        } else {
            "All items completed"
        };
        registered.insert("msg".into(), Json::String(msg.into()));
        registered.insert(
            "results".into(),
            Json::Array(
                results
                    .into_iter()
                    .map(|(_, r)| Json::Object(r.result))
                    .collect(),
            ),
        );
        ItemResult {
            status,
            summary,
            diff: (!diffs.is_empty()).then(|| diffs.join("\n")),
            result: registered,
            unreachable,
        }
    }
}

/// A loop's one-line summary: the first item that failed (or was
/// unreachable) and why, else each item's status.
fn loop_summary(results: &[(Option<Json>, ItemResult)]) -> String {
    let label = |item: &Option<Json>| match item {
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let failed = results
        .iter()
        .find(|(_, r)| r.status == ResultStatus::Failed || r.unreachable);
    match failed {
        Some((item, r)) => format!("item {}: {}", label(item), r.summary),
        None if results.is_empty() => "no items".to_string(),
        None => format!(
            "{} items: {}",
            results.len(),
            results
                .iter()
                .map(|(item, r)| format!("{} {}", label(item), r.status.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// What a `no_log` task shows instead of its result (Ansible's words).
pub(super) const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// Whether `no_log` holds for this task (its own, or its play's).
pub(super) fn hides_output(play: &Play, task: &Task) -> bool {
    task.no_log.or(play.no_log).unwrap_or(false)
}

/// A `no_log` task's result as stored and shown: whether it changed or
/// failed, and nothing of what it said.
pub(super) fn censored(registered: &Map<String, Json>) -> Json {
    let mut result = Map::new();
    result.insert("censored".into(), Json::String(CENSORED.into()));
    for flag in ["changed", "failed", "skipped"] {
        if let Some(value) = registered.get(flag) {
            result.insert(flag.into(), value.clone());
        }
    }
    Json::Object(result)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ok(status: ResultStatus, summary: &str) -> ItemResult {
        ItemResult {
            status,
            summary: summary.into(),
            diff: None,
            result: Map::new(),
            unreachable: false,
        }
    }

    fn outcome(status: ResultStatus, data: Option<&str>) -> PluginOutcome {
        PluginOutcome {
            status,
            summary: "did it".into(),
            diff: None,
            data: data.map(String::from),
        }
    }

    #[test]
    fn without_a_loop_the_one_result_is_the_tasks() {
        let mut item = ItemResult::failed("no route".into());
        item.unreachable = true;
        let task = ItemResult::combine(false, vec![(None, item)]);
        assert_eq!(task.status, ResultStatus::Unreachable);
        assert_eq!(task.summary, "no route");
        assert!(task.unreachable);
    }

    #[test]
    fn a_loop_fails_on_its_first_failed_item_and_registers_every_result() {
        let task = ItemResult::combine(
            true,
            vec![
                (Some(json!("a")), ok(ResultStatus::Changed, "made a")),
                (Some(json!("b")), ItemResult::failed("no space".into())),
                (Some(json!({"n": 3})), ok(ResultStatus::Ok, "fine")),
            ],
        );
        assert_eq!(task.status, ResultStatus::Failed);
        assert_eq!(task.summary, "item b: no space");
        assert_eq!(task.result["changed"], json!(true));
        assert_eq!(task.result["failed"], json!(true));
        assert_eq!(task.result["msg"], json!("One or more items failed"));
        assert_eq!(task.result["results"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_loop_names_each_items_status_and_is_skipped_only_when_all_are() {
        let task = ItemResult::combine(
            true,
            vec![
                (Some(json!("a")), ok(ResultStatus::Skipped, "no")),
                (Some(json!(2)), ok(ResultStatus::Changed, "yes")),
            ],
        );
        assert_eq!(task.status, ResultStatus::Changed);
        assert_eq!(task.summary, "2 items: a skipped, 2 changed");
        assert!(!task.result.contains_key("skipped"));

        let skipped = ItemResult::combine(
            true,
            vec![(Some(json!("a")), ItemResult::skipped("off".into()))],
        );
        assert_eq!(skipped.status, ResultStatus::Skipped);
        assert_eq!(skipped.result["skipped"], json!(true));

        let empty = ItemResult::combine(true, Vec::new());
        assert_eq!(empty.summary, "no items");
        assert_eq!(empty.status, ResultStatus::Skipped);
    }

    #[test]
    fn a_loops_diffs_are_joined_in_item_order() {
        let mut first = ok(ResultStatus::Changed, "a");
        first.diff = Some("-a".into());
        let mut second = ok(ResultStatus::Changed, "b");
        second.diff = Some("-b".into());
        let task = ItemResult::combine(true, vec![(None, first), (None, second)]);
        assert_eq!(task.diff.as_deref(), Some("-a\n-b"));
    }

    #[test]
    fn a_calls_data_becomes_the_registered_value_with_ansibles_keys() {
        let item = ItemResult::from_call(Ok(outcome(ResultStatus::Changed, Some(r#"{"rc": 0}"#))));
        assert_eq!(
            Json::Object(item.result),
            json!({"rc": 0, "changed": true, "failed": false, "msg": "did it"})
        );
        // Data that is not a mapping is kept under `data`.
        let item = ItemResult::from_call(Ok(outcome(ResultStatus::Ok, Some("[1, 2]"))));
        assert_eq!(item.result["data"], json!([1, 2]));
        // A command that ran and failed may still have changed something.
        let item = ItemResult::from_call(Ok(outcome(
            ResultStatus::Failed,
            Some(r#"{"changed": true, "msg": "exit 2"}"#),
        )));
        assert_eq!(item.result["changed"], json!(true));
        assert_eq!(item.result["msg"], json!("exit 2"));
        let item = ItemResult::from_call(Ok(outcome(ResultStatus::Skipped, None)));
        assert_eq!(item.result["skipped"], json!(true));
    }

    #[test]
    fn an_unreachable_call_is_marked_so() {
        let failure = CallFailure {
            kind: FailureKind::Unreachable,
            message: "connection refused".into(),
        };
        let item = ItemResult::from_call(Err(failure));
        assert!(item.unreachable);
        assert_eq!(item.status, ResultStatus::Unreachable);
        assert_eq!(item.result["unreachable"], json!(true));
        assert_eq!(item.result["msg"], json!("connection refused"));
    }

    #[test]
    fn a_censored_result_keeps_its_flags_and_nothing_it_said() {
        let registered = Map::from_iter([
            ("changed".to_string(), json!(true)),
            ("stdout".to_string(), json!("hunter2")),
        ]);
        let shown = censored(&registered);
        assert_eq!(shown, json!({"censored": CENSORED, "changed": true}));
    }
}
