//! Ansible's `debug` module: prints a message into the run's log.

use capstan_plugin_sdk::{
    Action, Context, Error, JsonSchema, Manifest, Outcome, Plugin, log, register_plugin,
};
use serde::Deserialize;

/// Parameters of `msg`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MsgParams {
    /// The message to print.
    #[serde(default = "default_msg")]
    msg: String,
    /// `debug: var=NAME`: the variable's name and value, which the result
    /// holds under that name (instead of `msg`), as Ansible's does.
    var: Option<serde_json::Map<String, serde_json::Value>>,
}

fn default_msg() -> String {
    "Hello world!".into()
}

fn msg(params: MsgParams, _ctx: &Context) -> Result<Outcome, Error> {
    log::info(&params.msg);
    let data = match params.var {
        Some(var) => serde_json::Value::Object(var),
        None => serde_json::json!({ "msg": params.msg }),
    };
    Ok(Outcome::ok(params.msg).with_data(data))
}

struct Debug;

impl Plugin for Debug {
    fn manifest() -> Manifest {
        Manifest::new(
            "debug",
            env!("CARGO_PKG_VERSION"),
            "Print a message into the run's log.",
        )
        .action(Action::new("msg", "Log a message and report ok.").run(msg))
    }
}

register_plugin!(Debug);
