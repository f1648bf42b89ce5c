//! Ansible's `tempfile`: a new, uniquely named file or folder on the
//! target (with `mktemp`), whose path the task registers.

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;

/// Parameters of the `tempfile` action (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TempfileParams {
    /// `file` (default) or `directory`.
    state: Option<String>,
    /// The folder to make it in (default: the target's temporary folder).
    path: Option<String>,
    /// Text the name starts with (default `ansible.`).
    prefix: Option<String>,
    /// Text the name ends with.
    suffix: Option<String>,
}

/// Makes the file or folder; in check mode, says what it would make.
pub fn tempfile(params: TempfileParams, ctx: &Context) -> Result<Outcome, Error> {
    let directory = match params.state.as_deref().unwrap_or("file") {
        "file" => false,
        "directory" => true,
        other => {
            return Err(Error::msg(format!(
                "state `{other}` is neither file nor directory"
            )));
        }
    };
    let prefix = params.prefix.as_deref().unwrap_or("ansible.");
    let suffix = params.suffix.as_deref().unwrap_or("");
    if [prefix, suffix].iter().any(|p| p.contains('/')) {
        return Err(Error::msg("prefix and suffix cannot hold a '/'"));
    }
    let folder = params.path.as_deref().unwrap_or("/tmp");
    let pattern = format!("{folder}/{prefix}XXXXXXXXXX{suffix}");
    let state = if directory { "directory" } else { "file" };
    if ctx.check {
        return Ok(
            Outcome::changed(format!("would make a {state} like {pattern}"))
                .with_data(serde_json::json!({ "state": state })),
        );
    }
    let mut argv = vec!["mktemp"];
    if directory {
        argv.push("-d");
    }
    argv.push(&pattern);
    let out = Command::new(argv).run_checked(&ctx.target)?;
    let path = out.stdout_text().trim().to_string();
    Ok(Outcome::changed(format!("made {path}"))
        .with_data(serde_json::json!({ "path": path, "state": state })))
}
