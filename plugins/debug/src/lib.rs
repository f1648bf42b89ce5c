//! Ansible's `debug` module: prints a message into the run's log.

use capstan_plugin_sdk::{
    Action, Context, Error, Manifest, Outcome, Plugin, Request, log, register_plugin,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MsgParams {
    #[serde(default = "default_msg")]
    msg: String,
}

fn default_msg() -> String {
    "Hello world!".into()
}

struct Debug;

impl Plugin for Debug {
    fn manifest() -> Manifest {
        Manifest::new("debug", env!("CARGO_PKG_VERSION"), "Print a message into the run's log.").action(
            Action::new("msg", "Log a message and report ok.").params_schema(serde_json::json!({
                "type": "object",
                "properties": { "msg": { "type": "string", "description": "The message to print." } },
                "additionalProperties": false
            })),
        )
    }

    fn run(request: Request, _ctx: &Context) -> Result<Outcome, Error> {
        match request.action.as_str() {
            "msg" => {
                let params: MsgParams = request.params()?;
                log::info(&params.msg);
                Ok(Outcome::ok(params.msg.clone())
                    .with_data(serde_json::json!({ "msg": params.msg })))
            }
            other => Err(Error::UnknownAction(other.into())),
        }
    }
}

register_plugin!(Debug);
