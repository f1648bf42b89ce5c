//! Ansible's `lineinfile` module: make sure one line is in a file (or is
//! not), replacing the last line a regexp matches, or inserting after or
//! before a match — idempotent, with check mode and a unified diff.

mod edit;

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::remote::{self, FileKind};
use capstan_plugin_sdk::{
    Action, Capability, Context, Error, Manifest, Outcome, Plugin, diff, register_plugin,
};

pub use edit::{Edit, LineParams, LineState};

struct LineInFile;

impl Plugin for LineInFile {
    fn manifest() -> Manifest {
        Manifest::new(
            "lineinfile",
            env!("CARGO_PKG_VERSION"),
            "Make sure a line is (or is not) in a file.",
        )
        .capability(Capability::RemoteFiles)
        // `mkdir -p` for a file created in a folder not there yet.
        .capability(Capability::RemoteExec)
        .capability(Capability::Local)
        .action(Action::new("apply", "Bring the file to the wanted line.").run(apply))
    }
}

fn apply(params: LineParams, ctx: &Context) -> Result<Outcome, Error> {
    let path = params.path.clone();
    let mode = params.mode.as_ref().map(Mode::bits).transpose()?;
    // Read first: the file is usually there, and one command is cheaper
    // than two. Only when the read fails, ask why.
    let before = match remote::read_file(&ctx.target, &path) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(read_error) => match remote::stat(&ctx.target, &path)? {
            Some(info) if info.kind == FileKind::Directory => {
                return Err(Error::msg(format!("{path} is a directory")));
            }
            Some(_) => return Err(read_error.into()),
            None if params.create || params.absent() => None,
            None => {
                return Err(Error::msg(format!(
                    "destination {path} does not exist (set create: true to create it)"
                )));
            }
        },
    };
    if before.is_none() && params.absent() {
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
        if before.is_none() {
            // As Ansible's: `create` makes the folders on the way too.
            make_parent(&ctx.target, &path)?;
        }
        remote::write_file(&ctx.target, &path, after.as_bytes(), mode)?;
    }
    let mut outcome = Outcome::changed(message).with_data(serde_json::json!({ "path": path }));
    if ctx.diff {
        outcome = outcome.with_diff(diff::unified(&path, &text, &after));
    }
    Ok(outcome)
}

/// Makes the folder `path` goes in, and those above it, when missing.
fn make_parent(target: &str, path: &str) -> Result<(), Error> {
    let Some((parent, _)) = path.rsplit_once('/') else {
        return Ok(());
    };
    if parent.is_empty() || remote::stat(target, parent)?.is_some() {
        return Ok(());
    }
    remote::Command::new(["mkdir", "-p", "--", parent]).run_checked(target)?;
    Ok(())
}

register_plugin!(LineInFile);
