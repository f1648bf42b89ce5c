//! Ansible's `file` module: make a path a directory, a file, a symlink, or
//! nothing, with the given mode, owner and group — idempotently, with check
//! mode and a diff of the state.

mod stat;
mod tempfile;

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::remote::{self, FileInfo, FileKind};
use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, register_plugin,
};
use serde::Deserialize;

/// Parameters of `apply`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileParams {
    /// Absolute path on the target.
    path: String,
    /// What the path should be (default: what is there, else a file).
    #[serde(default)]
    state: Option<State>,
    /// Octal permissions, e.g. "0644" (symbolic modes are not supported).
    mode: Option<Mode>,
    /// Owning user.
    owner: Option<String>,
    /// Owning group.
    group: Option<String>,
    /// Where a link points (state=link).
    src: Option<String>,
}

/// What a path should be.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum State {
    File,
    Directory,
    Touch,
    Absent,
    Link,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::File => "file",
            State::Directory => "directory",
            State::Touch => "touch",
            State::Absent => "absent",
            State::Link => "link",
        }
    }
}

struct File;

impl Plugin for File {
    fn manifest() -> Manifest {
        Manifest::new(
            "file",
            env!("CARGO_PKG_VERSION"),
            "Manage files, directories and symlinks and their attributes.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::RemoteFiles)
        .capability(Capability::Local)
        .action(Action::new("apply", "Bring a path to the wanted state.").run(apply))
        .action(
            Action::new(
                "stat",
                "Describe a path (Ansible's stat); never changes anything.",
            )
            .run(stat::stat),
        )
        .action(
            Action::new(
                "tempfile",
                "Make a new uniquely named file or folder (Ansible's tempfile).",
            )
            .run(tempfile::tempfile),
        )
    }
}

fn apply(params: FileParams, ctx: &Context) -> Result<Outcome, Error> {
    let path = params.path.as_str();
    let mode = params.mode.as_ref().map(Mode::bits).transpose()?;
    let before = remote::stat(&ctx.target, path)?;
    let mut created_with_mode = false;
    // Without `state`, Ansible keeps what is there (a folder stays a folder).
    let state = match (params.state.map(State::name), &before) {
        (Some(state), _) => state,
        (None, Some(info)) if info.kind == FileKind::Directory => "directory",
        (None, _) => "file",
    };
    let mut changes: Vec<String> = Vec::new();

    match state {
        "absent" => {
            if before.is_some() {
                changes.push(format!("remove {path}"));
                if !ctx.check {
                    run(ctx, &["rm", "-rf", "--", path])?;
                }
            }
            return Ok(finish(path, changes, &before, "absent", ctx));
        }
        "directory" => match &before {
            None => {
                changes.push(format!("create directory {path}"));
                if !ctx.check {
                    match mode {
                        // Like Ansible, folders created on the way get the
                        // mode too: name each one to a single mkdir.
                        Some(mode) => {
                            let mode = format!("{mode:o}");
                            let mut argv = vec!["sh", "-c", MKDIRS, "capstan-mkdir", mode.as_str()];
                            let missing = missing_ancestors(ctx, path)?;
                            argv.extend(missing.iter().map(String::as_str));
                            argv.push(path);
                            run(ctx, &argv)?;
                            created_with_mode = true;
                        }
                        None => run(ctx, &["mkdir", "-p", "--", path])?,
                    }
                }
            }
            Some(info) if info.kind != FileKind::Directory => {
                return Err(Error::msg(format!(
                    "{path} exists and is not a directory ({})",
                    kind_name(info)
                )));
            }
            Some(_) => {}
        },
        "file" => match &before {
            None => {
                return Err(Error::msg(format!(
                    "file ({path}) is absent, cannot continue (use state=touch to create it)"
                )));
            }
            Some(info) if info.kind == FileKind::Directory => {
                return Err(Error::msg(format!("{path} is a directory, not a file")));
            }
            Some(_) => {}
        },
        "touch" => {
            // Like Ansible, touch always updates the times: always changed.
            changes.push(format!("touch {path}"));
            if !ctx.check {
                run(ctx, &["touch", "--", path])?;
            }
        }
        "link" => {
            let src = params
                .src
                .as_deref()
                .ok_or_else(|| Error::InvalidParams("state=link needs `src`".into()))?;
            let same = before.as_ref().is_some_and(|i| {
                i.kind == FileKind::Symlink && i.link_target.as_deref() == Some(src)
            });
            if !same {
                if before
                    .as_ref()
                    .is_some_and(|i| i.kind == FileKind::Directory)
                {
                    return Err(Error::msg(format!(
                        "{path} is a directory; refusing to replace it with a link"
                    )));
                }
                changes.push(format!("link {path} -> {src}"));
                if !ctx.check {
                    run(ctx, &["ln", "-sfn", "--", src, path])?;
                }
            }
            return Ok(finish(path, changes, &before, "link", ctx));
        }
        other => return Err(Error::InvalidParams(format!("unknown state `{other}`"))),
    }

    // A folder just made with its mode needs no second look.
    if created_with_mode && params.owner.is_none() && params.group.is_none() {
        return Ok(finish(path, changes, &before, state, ctx));
    }
    // Attributes, on what is (or in check mode would be) there now.
    let now = if ctx.check || changes.is_empty() {
        // Nothing was done to the path: it is as it was.
        before.clone()
    } else {
        remote::stat(&ctx.target, path)?
    };
    if let Some(mode) = mode
        && now.as_ref().is_none_or(|i| i.mode != mode)
    {
        changes.push(format!("mode {:04o}", mode));
        if !ctx.check {
            run(ctx, &["chmod", &format!("{mode:o}"), "--", path])?;
        }
    }
    if let Some(owner) = &params.owner {
        let uid = capstan_plugin_sdk::accounts::uid_of(ctx, owner)?;
        if now.as_ref().is_none_or(|i| i.uid != uid) {
            changes.push(format!("owner {owner}"));
            if !ctx.check {
                run(ctx, &["chown", "--", owner, path])?;
            }
        }
    }
    if let Some(group) = &params.group {
        let gid = capstan_plugin_sdk::accounts::gid_of(ctx, group)?;
        if now.as_ref().is_none_or(|i| i.gid != gid) {
            changes.push(format!("group {group}"));
            if !ctx.check {
                run(ctx, &["chgrp", "--", group, path])?;
            }
        }
    }
    Ok(finish(path, changes, &before, state, ctx))
}

/// Makes each folder with the mode `$1`, in order; one made meanwhile by
/// someone else (another host of the run sharing a parent) is fine.
const MKDIRS: &str = r#"m=$1; shift
for d; do
    mkdir -m "$m" -- "$d" 2>/dev/null || [ -d "$d" ] || mkdir -m "$m" -- "$d" || exit 1
done"#;

/// The parent folders of `path` that do not exist yet, outermost first.
fn missing_ancestors(ctx: &Context, path: &str) -> Result<Vec<String>, Error> {
    let mut missing = Vec::new();
    let mut current = path.trim_end_matches('/');
    while let Some((parent, _)) = current.rsplit_once('/') {
        if parent.is_empty() || remote::stat(&ctx.target, parent)?.is_some() {
            break;
        }
        missing.push(parent.to_string());
        current = parent;
    }
    missing.reverse();
    Ok(missing)
}

fn run(ctx: &Context, argv: &[&str]) -> Result<(), Error> {
    remote::Command::new(argv.iter().copied()).run_checked(&ctx.target)?;
    Ok(())
}

fn kind_name(info: &FileInfo) -> &'static str {
    match info.kind {
        FileKind::File => "file",
        FileKind::Directory => "directory",
        FileKind::Symlink => "link",
        FileKind::Other => "special file",
    }
}

/// The outcome, with Ansible's before/after state as a small diff.
fn finish(
    path: &str,
    changes: Vec<String>,
    before: &Option<FileInfo>,
    wanted: &str,
    ctx: &Context,
) -> Outcome {
    let before_state = before.as_ref().map_or("absent", kind_name);
    // Ansible's file result always carries its before/after as `diff`.
    let data = serde_json::json!({
        "path": path,
        "state": wanted,
        "changes": changes,
        "diff": {
            "before": { "path": path, "state": before_state },
            "after": { "path": path, "state": wanted },
        },
    });
    if changes.is_empty() {
        return Outcome::ok(format!("{path} is already {wanted}")).with_data(data);
    }
    let verb = if ctx.check { "would" } else { "did" };
    let outcome =
        Outcome::changed(format!("{path}: {verb} {}", changes.join(", "))).with_data(data);
    if ctx.diff {
        outcome.with_diff(format!(
            "--- before: {path}\n+++ after: {path}\n-state: {before_state}\n+state: {wanted}\n"
        ))
    } else {
        outcome
    }
}

register_plugin!(File);
