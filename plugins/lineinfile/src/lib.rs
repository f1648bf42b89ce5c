//! Ansible's `lineinfile` module: make sure one line is in a file (or is
//! not), replacing the last line a regexp matches, or inserting after or
//! before a match — idempotent, with check mode and a unified diff.

mod edit;

use capstan_plugin_sdk::remote::{self, FileKind};
use capstan_plugin_sdk::{
    Action, Context, Error, Manifest, Outcome, Plugin, Request, diff, register_plugin,
};

pub use edit::{Edit, LineParams};

struct LineInFile;

impl Plugin for LineInFile {
    fn manifest() -> Manifest {
        Manifest::new("lineinfile", env!("CARGO_PKG_VERSION"), "Make sure a line is (or is not) in a file.")
            .capability("remote.files")
            .capability("local")
            .action(Action::new("apply", "Bring the file to the wanted line.").params_schema(serde_json::json!({
                "type": "object",
                "properties": {
                    "path": { "type": "string", "description": "Absolute path of the file." },
                    "line": { "type": "string", "description": "The line that should be there." },
                    "regexp": { "type": "string", "description": "Replace the last line this matches." },
                    "state": { "enum": ["present", "absent"], "description": "Default: present." },
                    "insertafter": { "type": "string", "description": "Regexp, or EOF (default)." },
                    "insertbefore": { "type": "string", "description": "Regexp, or BOF." },
                    "backrefs": { "type": "boolean", "description": "Expand \\1 in `line` from `regexp`; change nothing when it does not match." },
                    "create": { "type": "boolean", "description": "Create the file when missing." },
                    "mode": { "type": ["string", "integer"], "description": "Octal permissions for the file." }
                },
                "required": ["path"],
                "additionalProperties": false
            })))
    }

    fn run(request: Request, ctx: &Context) -> Result<Outcome, Error> {
        match request.action.as_str() {
            "apply" => apply(request.params()?, ctx),
            other => Err(Error::UnknownAction(other.into())),
        }
    }
}

fn apply(params: LineParams, ctx: &Context) -> Result<Outcome, Error> {
    let path = params.path.clone();
    let mode = params
        .mode
        .as_ref()
        .map(capstan_plugin_sdk::mode::parse)
        .transpose()?;
    // Read first: the file is usually there, and one command is cheaper
    // than two. Only when the read fails, ask why.
    let before = match remote::read_file(&ctx.target, &path) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(read_error) => match remote::stat(&ctx.target, &path)? {
            Some(info) if info.kind == FileKind::Directory => {
                return Err(Error::msg(format!("{path} is a directory")));
            }
            Some(_) => return Err(read_error.into()),
            None if params.create || params.state.as_deref() == Some("absent") => None,
            None => {
                return Err(Error::msg(format!(
                    "destination {path} does not exist (set create: true to create it)"
                )));
            }
        },
    };
    if before.is_none() && params.state.as_deref() == Some("absent") {
        return Ok(Outcome::ok(format!(
            "{path} does not exist: nothing to remove"
        )));
    }
    let text = before.clone().unwrap_or_default();
    let Edit { after, message } = edit::apply(&params, &text)?;
    if after == text && before.is_some() {
        return Ok(Outcome::ok(message));
    }
    if !ctx.check {
        remote::write_file(&ctx.target, &path, after.as_bytes(), mode)?;
    }
    let mut outcome = Outcome::changed(message).with_data(serde_json::json!({ "path": path }));
    if ctx.diff {
        outcome = outcome.with_diff(diff::unified(&path, &text, &after));
    }
    Ok(outcome)
}

register_plugin!(LineInFile);
