//! Ansible's `copy` module (content form; the playbook runner reads `src`
//! files and renders templates into `content`): puts text into a file on
//! the target, with mode, owner, group and an optional backup, changed only
//! when one of them differs; check mode and a unified diff.

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::remote::{self, FileKind, Placed, Put};
use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, accounts, diff,
    register_plugin,
};
use serde::Deserialize;

/// Parameters of `apply`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CopyParams {
    /// Absolute path of the file on the target.
    dest: String,
    /// What the file should hold.
    content: String,
    /// Octal permissions, e.g. "0644".
    mode: Option<Mode>,
    /// Owning user.
    owner: Option<String>,
    /// Owning group.
    group: Option<String>,
    /// Keep the old file as DEST.<time>~ when it changes.
    #[serde(default)]
    backup: bool,
    /// Replace a file whose content differs (default true).
    #[serde(default = "yes")]
    force: bool,
    /// A command that checks the new content before it replaces the file,
    /// `%s` standing for a copy of it (e.g. `nginx -t -c %s`); the file is
    /// left alone when the command fails.
    validate: Option<String>,
    /// The copied file's own name (the runner sets it from `src`): when
    /// `dest` is a folder, or ends with `/`, the file goes into it under
    /// this name.
    src_name: Option<String>,
}

fn yes() -> bool {
    true
}

struct Copy;

impl Plugin for Copy {
    fn manifest() -> Manifest {
        Manifest::new(
            "copy",
            env!("CARGO_PKG_VERSION"),
            "Put content into a file on the target.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::RemoteFiles)
        .capability(Capability::Local)
        .action(Action::new("apply", "Make the file hold exactly this content.").run(apply))
    }
}

fn apply(params: CopyParams, ctx: &Context) -> Result<Outcome, Error> {
    let mode = params.mode.as_ref().map(Mode::bits).transpose()?;
    let uid = params
        .owner
        .as_deref()
        .map(|o| accounts::uid_of(ctx, o))
        .transpose()?;
    let gid = params
        .group
        .as_deref()
        .map(|g| accounts::gid_of(ctx, g))
        .transpose()?;
    let (dest, placed, backup_file) = if params.backup || params.validate.is_some() {
        put_in_steps(&params, mode, ctx)?
    } else {
        put_at_once(&params, mode, ctx)?
    };
    let dest = dest.as_str();
    let existing = placed.before.as_ref();
    let content_differs = placed.content_differs;
    let data = |backup: Option<&str>| serde_json::json!({ "dest": dest, "size": params.content.len(), "backup_file": backup });
    if existing.is_some() && content_differs && !params.force {
        return Ok(Outcome::ok(format!(
            "{dest} exists and force=false: left as it is"
        )));
    }
    let mode_differs = mode.is_some_and(|m| existing.is_none_or(|i| i.mode != m));
    let owner_differs = uid.is_some_and(|u| existing.is_none_or(|i| i.uid != u));
    let group_differs = gid.is_some_and(|g| existing.is_none_or(|i| i.gid != g));
    if !content_differs && !mode_differs && !owner_differs && !group_differs {
        return Ok(Outcome::ok(format!("{dest} is up to date")).with_data(data(None)));
    }
    if !ctx.check {
        // A write already gave the file its mode.
        if let Some(m) = mode.filter(|_| mode_differs && !placed.written) {
            remote::Command::new(["chmod", &format!("{m:o}"), "--", dest])
                .run_checked(&ctx.target)?;
        }
        for (differs, argv) in [
            (
                owner_differs,
                ["chown", params.owner.as_deref().unwrap_or(""), "--", dest],
            ),
            (
                group_differs,
                ["chgrp", params.group.as_deref().unwrap_or(""), "--", dest],
            ),
        ] {
            if differs {
                remote::Command::new(argv).run_checked(&ctx.target)?;
            }
        }
    }
    let what: Vec<&str> = [
        (content_differs, "content"),
        (mode_differs, "mode"),
        (owner_differs, "owner"),
        (group_differs, "group"),
    ]
    .into_iter()
    .filter_map(|(differs, name)| differs.then_some(name))
    .collect();
    let what = what.join(", ");
    let verb = if ctx.check { "would change" } else { "changed" };
    let mut outcome =
        Outcome::changed(format!("{dest}: {verb} {what}")).with_data(data(backup_file.as_deref()));
    if ctx.diff && content_differs {
        let before = String::from_utf8_lossy(placed.old.as_deref().unwrap_or_default());
        outcome = outcome.with_diff(diff::unified(dest, &before, &params.content));
    }
    Ok(outcome)
}

/// The usual copy, in one command: compare and write (see
/// [`remote::put`]). `dest` naming a folder puts the file into it under
/// `src_name`: the first attempt leaves a folder alone and says it is
/// one, so no copy pays for a stat ahead of it.
fn put_at_once(
    params: &CopyParams,
    mode: Option<u32>,
    ctx: &Context,
) -> Result<(String, Placed, Option<String>), Error> {
    let put = |path: &str, make_parents: bool| {
        remote::put(
            &ctx.target,
            &Put {
                path,
                content: params.content.as_bytes(),
                mode,
                check: ctx.check,
                force: params.force,
                want_old: ctx.diff,
                make_parents,
            },
        )
    };
    let is_folder = |placed: &Placed| {
        placed
            .before
            .as_ref()
            .is_some_and(|info| info.kind == FileKind::Directory)
    };
    let (dest, make_parents) = match &params.src_name {
        Some(name) if params.dest.ends_with('/') => (format!("{}{name}", params.dest), true),
        _ => (params.dest.clone(), false),
    };
    let mut placed = put(&dest, make_parents)?;
    let mut dest = dest;
    if let Some(name) = &params.src_name
        && is_folder(&placed)
        && !make_parents
    {
        dest = format!("{}/{name}", params.dest);
        placed = put(&dest, false)?;
    }
    if is_folder(&placed) {
        return Err(Error::msg(format!(
            "dest {dest} is a directory; give the file's full path"
        )));
    }
    Ok((dest, placed, None))
}

/// A copy that keeps a backup or validates first, step by step: look,
/// read, back up, validate, write.
fn put_in_steps(
    params: &CopyParams,
    mode: Option<u32>,
    ctx: &Context,
) -> Result<(String, Placed, Option<String>), Error> {
    let into_folder = match &params.src_name {
        Some(name) if params.dest.ends_with('/') => Some(format!("{}{name}", params.dest)),
        Some(name) => remote::stat(&ctx.target, &params.dest)?
            .filter(|info| info.kind == FileKind::Directory)
            .map(|_| format!("{}/{name}", params.dest)),
        None => None,
    };
    let dest = into_folder.clone().unwrap_or_else(|| params.dest.clone());
    let existing = remote::stat(&ctx.target, &dest)?;
    let old = match &existing {
        Some(info) if info.kind == FileKind::Directory => {
            return Err(Error::msg(format!(
                "dest {dest} is a directory; give the file's full path"
            )));
        }
        Some(_) => Some(remote::read_file(&ctx.target, &dest)?),
        None => None,
    };
    let content_differs = old.as_deref() != Some(params.content.as_bytes());
    let write = content_differs && !ctx.check && (existing.is_none() || params.force);
    let mut backup_file = None;
    if write {
        if params.backup && existing.is_some() {
            backup_file = Some(remote::backup_file(&ctx.target, &dest)?);
        }
        if into_folder.is_some() && params.dest.ends_with('/') {
            remote::Command::new(["mkdir", "-p", "--", &params.dest]).run_checked(&ctx.target)?;
        }
        if let Some(validate) = &params.validate {
            remote::validate(
                &ctx.target,
                validate,
                &dest,
                params.content.as_bytes(),
                mode,
            )?;
        }
        remote::write_file(&ctx.target, &dest, params.content.as_bytes(), mode)?;
    }
    let placed = Placed {
        before: existing,
        content_differs,
        written: write,
        old: old.filter(|_| content_differs),
    };
    Ok((dest, placed, backup_file))
}

register_plugin!(Copy);
