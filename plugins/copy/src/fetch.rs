//! The target's half of Ansible's `fetch`: read a file there and hand its
//! bytes to the runner, which keeps them on the controller.

use capstan_plugin_sdk::remote;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;

/// Parameters of `fetch`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchParams {
    /// The file on the target (`~` and `$VAR` expanded there).
    src: String,
    /// Fail when it is missing (default true); else say so and go on.
    #[serde(default = "yes")]
    fail_on_missing: bool,
}

fn yes() -> bool {
    true
}

/// The file's bytes in `content_base64` (with its path in `file`); a
/// missing file or a folder said in Ansible's words.
pub fn fetch(params: FetchParams, ctx: &Context) -> Result<Outcome, Error> {
    let src = remote::absolute_path(&ctx.target, params.src)?;
    let data = |extra: serde_json::Value| {
        let mut data = serde_json::json!({ "file": src });
        if let (Some(data), serde_json::Value::Object(extra)) = (data.as_object_mut(), extra) {
            data.extend(extra);
        }
        data
    };
    let missing = |why: &str| {
        if params.fail_on_missing {
            Outcome::failed(why.to_string()).with_data(data(serde_json::json!({})))
        } else {
            Outcome::ok(format!("{why}, not transferring, ignored"))
                .with_data(data(serde_json::json!({})))
        }
    };
    match remote::read_if_present(&ctx.target, &src) {
        Ok(Some(bytes)) => Ok(Outcome::ok(format!("read {src}")).with_data(data(
            serde_json::json!({ "content_base64": capstan_plugin_sdk::base64::encode(&bytes) }),
        ))),
        Ok(None) => Ok(missing("the remote file does not exist")),
        Err(error) if error.to_string().contains("is a directory !") => Ok(missing(
            "remote file is a directory, fetch cannot work on directories",
        )),
        Err(error) => Err(error),
    }
}
