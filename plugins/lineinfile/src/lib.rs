//! Ansible's text-file edits: `lineinfile` (make sure one line is in a
//! file, or is not, replacing the last line a regexp matches, or inserting
//! after or before a match), `blockinfile` (a block between marker lines)
//! and `replace` (every match of a pattern) — idempotent, with check mode
//! and a unified diff.

mod block;
mod edit;
mod replace;

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::remote::{self, Put};
use capstan_plugin_sdk::{
    Action, Capability, Context, Error, Manifest, Outcome, Plugin, diff, register_plugin,
};

pub use block::BlockParams;
pub use edit::{Edit, LineParams, LineState};
pub use replace::ReplaceParams;

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
        .action(
            Action::new(
                "block",
                "Put a marked block of lines in a file, or take it out.",
            )
            .run(block),
        )
        .action(Action::new("replace", "Replace every match of a pattern in a file.").run(replace))
    }
}

fn apply(params: LineParams, ctx: &Context) -> Result<Outcome, Error> {
    let path = remote::absolute_path(&ctx.target, params.path.clone())?;
    let before = read_text(ctx, &path)?;
    if before.is_none() && !(params.create || params.absent()) {
        return Err(missing(&path));
    }
    if before.is_none() && params.absent() {
        return Ok(Outcome::ok(format!(
            "{path} does not exist: nothing to remove"
        )));
    }
    let text = before.clone().unwrap_or_default();
    let edit = edit::apply(&params, &text)?;
    write_edit(
        ctx,
        &path,
        before.as_deref(),
        edit,
        Saving::of(
            params.mode.as_ref(),
            params.backup,
            params.validate.as_deref(),
        )?,
    )
}

/// `blockinfile`.
fn block(params: BlockParams, ctx: &Context) -> Result<Outcome, Error> {
    let path = remote::absolute_path(&ctx.target, params.path.clone())?;
    let before = read_text(ctx, &path)?;
    if before.is_none() && params.absent() {
        return Ok(Outcome::ok(format!("File {path} not present")));
    }
    if before.is_none() && !params.create {
        return Err(missing(&path));
    }
    let edit = block::apply(&params, before.as_deref())?;
    write_edit(
        ctx,
        &path,
        before.as_deref(),
        edit,
        Saving::of(
            params.mode.as_ref(),
            params.backup,
            params.validate.as_deref(),
        )?,
    )
}

/// `replace`.
fn replace(params: ReplaceParams, ctx: &Context) -> Result<Outcome, Error> {
    let path = remote::absolute_path(&ctx.target, params.path.clone())?;
    replace::check_replacement(&params)?;
    let Some(before) = read_text(ctx, &path)? else {
        return Err(Error::msg(format!("Path {path} does not exist !")));
    };
    let edit = replace::apply(&params, &before)?;
    write_edit(
        ctx,
        &path,
        Some(&before),
        edit,
        Saving::of(
            params.mode.as_ref(),
            params.backup,
            params.validate.as_deref(),
        )?,
    )
}

/// The file's text, or `None` when it is missing; a folder is refused
/// by name.
fn read_text(ctx: &Context, path: &str) -> Result<Option<String>, Error> {
    let bytes = remote::read_if_present(&ctx.target, path)?;
    Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// A missing file a module without `create: true` cannot edit.
fn missing(path: &str) -> Error {
    Error::msg(format!(
        "destination {path} does not exist (set create: true to create it)"
    ))
}

/// How an edited file is saved.
struct Saving<'a> {
    /// Permissions for the file, as given (a symbolic mode is resolved
    /// only when the file is written).
    mode: Option<&'a Mode>,
    /// Keep the old file first.
    backup: bool,
    /// Check the new text with this command first.
    validate: Option<&'a str>,
}

impl<'a> Saving<'a> {
    /// From the parameters every edit has (a mode that is neither octal
    /// nor symbolic refused here, before any edit).
    fn of(mode: Option<&'a Mode>, backup: bool, validate: Option<&'a str>) -> Result<Self, Error> {
        mode.map(Mode::octal).transpose()?;
        Ok(Saving {
            mode,
            backup,
            validate,
        })
    }

    /// The bits to write the file with: an octal mode as it is, a
    /// symbolic one applied to the file's mode now (one look more).
    fn bits(&self, ctx: &Context, path: &str) -> Result<Option<u32>, Error> {
        let Some(mode) = self.mode else {
            return Ok(None);
        };
        match mode.octal()? {
            Some(bits) => Ok(Some(bits)),
            None => {
                let now = remote::stat(&ctx.target, path)?;
                mode.resolve(now.map(|i| i.mode), false).map(Some)
            }
        }
    }
}

/// Writes an edit's text when it changes the file (or makes it), first
/// keeping a copy of the old file when `backup` asks, and says what
/// happened with a diff when asked.
fn write_edit(
    ctx: &Context,
    path: &str,
    before: Option<&str>,
    edit: Edit,
    saving: Saving<'_>,
) -> Result<Outcome, Error> {
    let Edit { after, message } = edit;
    let text = before.unwrap_or_default();
    if after == text && before.is_some() {
        return Ok(Outcome::ok(message));
    }
    let mode = saving.bits(ctx, path)?;
    let Saving {
        backup, validate, ..
    } = saving;
    let mut backup_file = None;
    if !ctx.check {
        if let Some(command) = validate {
            remote::validate(&ctx.target, command, path, after.as_bytes(), mode)?;
        }
        if before.is_some() && backup {
            backup_file = Some(remote::backup_file(&ctx.target, path)?);
        }
        let put = Put {
            path,
            content: after.as_bytes(),
            mode,
            check: false,
            force: true,
            want_old: false,
            // As Ansible's: `create` makes the folders on the way too.
            make_parents: before.is_none(),
            want_after: false,
        };
        remote::put(&ctx.target, &put)?;
    }
    let mut data = serde_json::json!({ "path": path });
    if let Some(name) = backup_file {
        data["backup_file"] = serde_json::json!(name);
    }
    let mut outcome = Outcome::changed(message).with_data(data);
    if ctx.diff {
        outcome = outcome.with_diff(diff::unified(path, text, &after));
    }
    Ok(outcome)
}

register_plugin!(LineInFile);
