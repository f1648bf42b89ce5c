//! Ansible's `file` module: make a path a directory, a file, a symlink, or
//! nothing, with the given mode, owner and group — idempotently, with check
//! mode and a diff of the state.

mod diff;
mod stat;
mod tempfile;
mod times;

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::remote::{self, FileInfo, FileKind};
use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, register_plugin,
};
use diff::StateDiff;
use serde::Deserialize;
use serde_json::Value as Json;

/// Parameters of `apply`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileParams {
    /// The path on the target (`~/`, `$VAR` and a relative path read as
    /// Ansible reads them).
    path: String,
    /// What the path should be (default: what is there, else a file).
    #[serde(default)]
    state: Option<State>,
    /// Permissions: octal ("0644") or symbolic ("u=rw,g=r,o=r", "u+x").
    mode: Option<Mode>,
    /// Owning user.
    owner: Option<String>,
    /// Owning group.
    group: Option<String>,
    /// Where a link points (state=link).
    src: Option<String>,
    /// state=link: make the link even when `src` does not exist, and in
    /// place of a file that is there.
    #[serde(default)]
    force: bool,
    /// Set owner and group through a symlink at `path` on what it points
    /// to (default true); false sets them on the link itself.
    follow: Option<bool>,
    /// With a folder: give everything inside it the same mode, owner and
    /// group too (through links inside only with `follow`).
    #[serde(default)]
    recurse: bool,
    /// `preserve`, `now` or a time in `modification_time_format` (default:
    /// `now` for state=touch, else `preserve`).
    modification_time: Option<String>,
    /// How `modification_time` is written (default `%Y%m%d%H%M.%S`).
    modification_time_format: Option<String>,
    /// As `modification_time`, for the access time.
    access_time: Option<String>,
    /// How `access_time` is written.
    access_time_format: Option<String>,
    /// Ansible's internal peek for a diff: only says whether the file
    /// looks binary, changing nothing.
    #[serde(rename = "_diff_peek")]
    diff_peek: Option<bool>,
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
    Hard,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::File => "file",
            State::Directory => "directory",
            State::Touch => "touch",
            State::Absent => "absent",
            State::Link => "link",
            State::Hard => "hard",
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

fn apply(mut params: FileParams, ctx: &Context) -> Result<Outcome, Error> {
    params.path = remote::absolute_path(&ctx.target, params.path)?;
    let path = params.path.clone();
    let warnings = match params.state {
        Some(State::Absent) => Vec::new(),
        _ if ctx.check => missing_accounts(&params, ctx),
        _ => Vec::new(),
    };
    let mut touched_new = false;
    let result = apply_state(params, ctx, &mut touched_new);
    // As Ansible's: a file `touch` made is removed again when setting
    // its owner, group or mode then fails, so a failed task leaves none.
    if result.is_err() && touched_new {
        let _ = run(ctx, &["rm", "-f", "--", &path]);
    }
    let mut outcome = match result {
        // A failure keeps the warnings that may explain it.
        Err(error) if !warnings.is_empty() => {
            Outcome::failed(error.to_string()).with_data(serde_json::json!({ "path": path }))
        }
        other => other?,
    };
    if !warnings.is_empty() {
        let data = outcome.data.get_or_insert_with(|| serde_json::json!({}));
        data["warnings"] = serde_json::json!(warnings);
    }
    Ok(outcome)
}

/// In check mode, Ansible's warnings for an owner or group the target
/// does not have (yet: an earlier task of a real run may make it).
fn missing_accounts(params: &FileParams, ctx: &Context) -> Vec<String> {
    let mut warnings = Vec::new();
    let accounts = [
        (
            "user",
            &params.owner,
            capstan_plugin_sdk::accounts::uid_of as fn(&Context, &str) -> _,
        ),
        ("group", &params.group, capstan_plugin_sdk::accounts::gid_of),
    ];
    for (kind, name, look_up) in accounts {
        let Some(name) = name.as_deref() else {
            continue;
        };
        if look_up(ctx, name).is_err() {
            let which = match name.parse::<u32>() {
                Ok(id) => format!("{kind} with {}id {id}", &kind[..1]),
                Err(_) => format!("{kind} {name}"),
            };
            warnings.push(format!(
                "failed to look up {which}. Create {kind} up to this point in real play"
            ));
        }
    }
    warnings
}

/// [`apply`]'s work; `touched_new` says when it made a file by `touch`.
fn apply_state(
    params: FileParams,
    ctx: &Context,
    touched_new: &mut bool,
) -> Result<Outcome, Error> {
    let path = params.path.as_str();
    // An octal mode is known now; a symbolic one once the path is seen.
    let octal_mode = params.mode.as_ref().map(Mode::octal).transpose()?.flatten();
    if params.diff_peek == Some(true) {
        return diff_peek(ctx, path);
    }
    if params.src.is_some() && !matches!(params.state, Some(State::Link | State::Hard)) {
        return Err(Error::InvalidParams(
            "src option requires state to be 'link' or 'hard'".into(),
        ));
    }
    // Ansible's words.
    if params.recurse && !matches!(params.state, None | Some(State::Directory)) {
        return Err(Error::InvalidParams(
            "recurse option requires state to be 'directory'".into(),
        ));
    }
    let mut changes: Vec<String> = Vec::new();
    let mut diff = StateDiff::new(path);
    let mut created_with_mode = false;
    let (before, state) = match params.state {
        Some(State::Absent) => {
            let (before, listed) = remove(ctx, path)?;
            if before.is_some() {
                changes.push(format!("remove {path}"));
            }
            if let Some(listed) = listed {
                diff.before_only("path_content", listed);
            }
            return Ok(finish(path, changes, &before, ("absent", None), diff, ctx));
        }
        Some(State::Directory) => {
            let before = make_directory(ctx, path, octal_mode)?;
            match &before {
                None => {
                    changes.push(format!("create directory {path}"));
                    created_with_mode = octal_mode.is_some();
                }
                Some(info) if info.kind != FileKind::Directory => {
                    return Err(Error::msg(format!(
                        "{path} exists and is not a directory ({})",
                        kind_name(info)
                    )));
                }
                Some(_) => {}
            }
            (before, "directory")
        }
        state => {
            let before = remote::stat(&ctx.target, path)?;
            // Without `state`, Ansible keeps what is there (a folder
            // stays a folder).
            let state = match (state.map(State::name), &before) {
                (Some(state), _) => state,
                (None, Some(info)) if info.kind == FileKind::Directory => "directory",
                (None, _) => "file",
            };
            (before, state)
        }
    };

    match state {
        // Made (or found) above.
        "directory" => {}
        "file" => match &before {
            None => {
                let why = format!(
                    "file ({path}) is absent, cannot continue (use state=touch to create it)"
                );
                let data = serde_json::json!({ "path": path, "state": "absent", "msg": why });
                return Ok(Outcome::failed(why).with_data(data));
            }
            Some(info) if info.kind == FileKind::Directory => {
                return Err(Error::msg(format!("{path} is a directory, not a file")));
            }
            Some(_) => {}
        },
        // A missing path is made; one that is there gets its times (`now`
        // unless told otherwise: like Ansible's, a changed task).
        "touch" if before.is_none() => {
            changes.push(format!("touch {path}"));
            if !ctx.check {
                run(ctx, &["touch", "--", path])?;
                *touched_new = true;
            }
        }
        "touch" => {}
        "link" => link(ctx, &params, before.as_ref(), &mut changes, &mut diff)?,
        "hard" => {
            if let Some(refused) = hard_link(ctx, &params, &mut changes)? {
                return Ok(refused);
            }
        }
        other => return Err(Error::InvalidParams(format!("unknown state `{other}`"))),
    }

    let touching = state == "touch";
    let modification = times::Wanted::read(
        params.modification_time.as_deref(),
        params.modification_time_format.as_deref(),
        touching,
        "modification_time",
    )?;
    let access = times::Wanted::read(
        params.access_time.as_deref(),
        params.access_time_format.as_deref(),
        touching,
        "access_time",
    )?;
    // A path just made (or, in check mode, not there) has its times.
    if before.is_some() {
        let moved = times::apply(ctx, path, &modification, &access)?;
        if !moved.is_empty() {
            changes.push(format!("times of {path}"));
        }
        for time in moved {
            diff.change(&time.field, time.before, time.after);
        }
    }
    // A folder just made with its mode needs no second look, nor does
    // a path with no attributes asked for.
    let no_mode_to_check = params.mode.is_none() || created_with_mode;
    if no_mode_to_check && params.owner.is_none() && params.group.is_none() {
        // What is there now, as Ansible adds it to the result: known
        // when nothing changed (looking again would cost a round trip).
        let after = before.clone().filter(|_| changes.is_empty());
        return Ok(finish(
            path,
            changes,
            &before,
            (state, after.as_ref()),
            diff,
            ctx,
        ));
    }
    // Attributes, on what is (or in check mode would be) there now.
    let mut now = if ctx.check || changes.is_empty() {
        // Nothing was done to the path: it is as it was.
        before.clone()
    } else {
        remote::stat(&ctx.target, path)?
    };
    // Through a link (`follow`, the default), on what it points to; on
    // the link itself otherwise, whose mode Linux cannot change.
    let follow = params.follow != Some(false);
    let mut attr_path = path.to_string();
    let mut mode_settable = true;
    if let Some(info) = now.as_ref().filter(|i| i.kind == FileKind::Symlink) {
        if follow {
            let target = info.link_target.clone().unwrap_or_default();
            attr_path = beside(path, &target);
            now = remote::stat(&ctx.target, &attr_path)?;
            if now.is_none() {
                // A dangling link: the names asked for are still checked;
                // one just made with `force` has nothing to set, any
                // other cannot be followed.
                if let Some(owner) = &params.owner {
                    capstan_plugin_sdk::accounts::uid_of(ctx, owner)?;
                }
                if let Some(group) = &params.group {
                    capstan_plugin_sdk::accounts::gid_of(ctx, group)?;
                }
                if state == "link" {
                    return Ok(finish(path, changes, &before, (state, None), diff, ctx));
                }
                return Err(Error::msg(format!(
                    "{path} is a link to {attr_path}, which does not exist (follow: false \
                     sets attributes on the link itself)"
                )));
            }
        } else {
            mode_settable = false;
        }
    }
    let on = attr_path.as_str();
    let wanted_mode = params
        .mode
        .as_ref()
        .map(|m| {
            let current = now.as_ref().map(|i| i.mode);
            let is_dir = now
                .as_ref()
                .map_or(state == "directory", |i| i.kind == FileKind::Directory);
            m.resolve(current, is_dir)
        })
        .transpose()?;
    if let Some(mode) = wanted_mode
        && mode_settable
        && now.as_ref().is_none_or(|i| i.mode != mode)
    {
        changes.push(format!("mode {:04o}", mode));
        if let Some(info) = now.as_mut() {
            diff.change(
                "mode",
                format!("0{:03o}", info.mode),
                format!("0{mode:03o}"),
            );
            info.mode = mode;
        }
        if !ctx.check {
            run(ctx, &["chmod", &format!("{mode:o}"), "--", on])?;
        }
    }
    // `-h` acts on a link itself.
    let no_deref: &[&str] = if params.follow == Some(false) {
        &["-h"]
    } else {
        &[]
    };
    if let Some(owner) = &params.owner {
        let uid = capstan_plugin_sdk::accounts::uid_of(ctx, owner)?;
        if now.as_ref().is_none_or(|i| i.uid != uid) {
            changes.push(format!("owner {owner}"));
            if let Some(info) = now.as_mut() {
                diff.change("owner", info.uid, uid);
                info.uid = uid;
            }
            if !ctx.check {
                run(ctx, &[&["chown"], no_deref, &["--", owner, on]].concat())?;
            }
        }
    }
    if let Some(group) = &params.group {
        let gid = capstan_plugin_sdk::accounts::gid_of(ctx, group)?;
        if now.as_ref().is_none_or(|i| i.gid != gid) {
            changes.push(format!("group {group}"));
            if let Some(info) = now.as_mut() {
                diff.change("group", info.gid, gid);
                info.gid = gid;
            }
            if !ctx.check {
                run(ctx, &[&["chgrp"], no_deref, &["--", group, on]].concat())?;
            }
        }
    }
    if params.recurse
        && now.as_ref().is_some_and(|i| i.kind == FileKind::Directory)
        && recurse(ctx, on, &params)?
    {
        changes.push(format!("attributes inside {on}"));
    }
    Ok(finish(
        path,
        changes,
        &before,
        (state, now.as_ref()),
        diff,
        ctx,
    ))
}

/// Gives what a folder holds the owner, group and mode asked for: `$2`
/// says whether links inside are followed (`-L`, the default) or not (`-P`), `$3` is
/// 1 in check mode (then only looks, for an owner, group or octal mode:
/// a symbolic mode's result is only known by applying it). Prints a line
/// for each change.
const RECURSE: &str = r#"p=$1; links=$2; check=$3; owner=$4; group=$5; mode=$6; octal=$7
if [ "$check" = 1 ]; then
    [ -z "$owner" ] || find "$links" "$p" -mindepth 1 ! -user "$owner"
    [ -z "$group" ] || find "$links" "$p" -mindepth 1 ! -group "$group"
    [ -z "$octal" ] || find "$links" "$p" -mindepth 1 ! -type l ! -perm "$octal"
    exit 0
fi
if [ "$links" = -P ]; then h=-h; else h=; fi
[ -z "$owner" ] || chown -R "$links" $h -c -- "$owner" "$p" || exit 1
[ -z "$group" ] || chgrp -R "$links" $h -c -- "$group" "$p" || exit 1
# chmod takes no -L or -P before coreutils 9.5: find walks for it (a link
# itself has no mode; with -L, -type l is a link that leads nowhere).
[ -z "$mode" ] || find "$links" "$p" ! -type l -exec chmod -c -- "$mode" {} + || exit 1"#;

/// `recurse`: the attributes asked for, on everything inside `path`;
/// whether anything changed.
fn recurse(ctx: &Context, path: &str, params: &FileParams) -> Result<bool, Error> {
    // Ansible follows links by default, here too.
    let links = if params.follow == Some(false) {
        "-P"
    } else {
        "-L"
    };
    // What chmod takes: the octal digits, or the symbolic mode as written
    // (chmod reads Ansible's symbolic modes, `X` included).
    let octal = params.mode.as_ref().map(Mode::octal).transpose()?.flatten();
    let mode = match (&params.mode, octal) {
        (_, Some(bits)) => format!("{bits:o}"),
        (Some(symbolic), None) => symbolic.text(),
        (None, None) => String::new(),
    };
    let octal = octal.map(|bits| format!("{bits:04o}"));
    let out = remote::Command::new([
        "sh",
        "-c",
        RECURSE,
        "capstan-recurse",
        path,
        links,
        if ctx.check { "1" } else { "0" },
        params.owner.as_deref().unwrap_or_default(),
        params.group.as_deref().unwrap_or_default(),
        &mode,
        octal.as_deref().unwrap_or_default(),
    ])
    .run_checked(&ctx.target)?;
    Ok(!out.stdout_text().trim().is_empty())
}

/// `_diff_peek`: whether the file's first 8 KiB hold a NUL byte.
fn diff_peek(ctx: &Context, path: &str) -> Result<Outcome, Error> {
    let out = remote::Command::new([
        "sh",
        "-c",
        r#"head -c 8192 -- "$1" 2>/dev/null | tr -d -c '\000' | wc -c"#,
        "capstan-peek",
        path,
    ])
    .run_checked(&ctx.target)?;
    let binary = out.stdout_text().trim() != "0";
    Ok(
        Outcome::ok(format!("{path} peeked")).with_data(serde_json::json!({
            "path": path,
            "changed": false,
            "appears_binary": binary,
        })),
    )
}

/// `state: link`: the link made (or pointed elsewhere) when `src` is
/// given; an existing link kept as it is without `src`, for its
/// attributes alone. Ansible's refusals, each but the last lifted by
/// `force`: a file in the way, a missing `src`, a folder (an empty one
/// is replaced), a folder that holds files.
fn link(
    ctx: &Context,
    params: &FileParams,
    before: Option<&FileInfo>,
    changes: &mut Vec<String>,
    diff: &mut StateDiff,
) -> Result<(), Error> {
    let path = params.path.as_str();
    let Some(src) = params.src.as_deref() else {
        if before.is_some_and(|i| i.kind == FileKind::Symlink) {
            return Ok(());
        }
        return Err(Error::msg("src is required for creating new symlinks"));
    };
    if before.is_some_and(|i| i.kind == FileKind::Symlink && i.link_target.as_deref() == Some(src))
    {
        return Ok(());
    }
    let was_directory = before.is_some_and(|i| i.kind == FileKind::Directory);
    if !params.force {
        if let Some(info) = before.filter(|i| i.kind != FileKind::Symlink) {
            return Err(Error::msg(format!(
                "refusing to convert from {} to symlink for {path}",
                kind_name(info)
            )));
        }
        let target = beside(path, src);
        if remote::stat(&ctx.target, &target)?.is_none() {
            return Err(Error::msg(format!(
                "src file does not exist, use \"force=yes\" if you really want to \
                 create the link: {target}"
            )));
        }
    }
    changes.push(format!("link {path} -> {src}"));
    // As Ansible's: a link pointed elsewhere shows both of its sources.
    if let Some(old) = before.and_then(|i| i.link_target.as_deref()) {
        diff.change("src", old, src);
    }
    if ctx.check {
        return Ok(());
    }
    if was_directory
        && remote::Command::new(["rmdir", "--", path])
            .run(&ctx.target)?
            .exit_code
            != Some(0)
    {
        return Err(Error::msg(format!(
            "the directory {path} is not empty, refusing to convert it"
        )));
    }
    run(ctx, &["ln", "-sfn", "--", src, path])
}

/// Makes `$2` a hard link to `$1` unless it is one already (`$3` 1: only
/// look; `$4` 1: replace a file in the way). Prints `same`, or `linked`;
/// exits 4 when `$1` is missing, 3 when something else is in the way.
const HARD_LINK: &str = r#"src=$1 p=$2 check=$3 force=$4
[ -e "$src" ] || { echo "src does not exist: $src" >&2; exit 4; }
if [ -e "$p" ]; then
    [ "$(stat -c %d:%i -- "$src")" = "$(stat -c %d:%i -- "$p")" ] && { echo same; exit 0; }
    [ -d "$p" ] && { echo "refusing to convert from directory to hard link for $p" >&2; exit 3; }
    [ "$force" = 1 ] || [ "$(stat -c %h -- "$p")" -gt 1 ] || { echo "Cannot link, file exists at destination: $p" >&2; exit 3; }
fi
echo linked
[ "$check" = 1 ] && exit 0
exec ln -f -- "$src" "$p""#;

/// `state: hard`: `path` a hard link to `src` (Ansible's rules: a folder
/// in the way is refused, a file replaced only with `force`, another hard
/// link replaced). A missing `src` is Ansible's failed result, returned.
fn hard_link(
    ctx: &Context,
    params: &FileParams,
    changes: &mut Vec<String>,
) -> Result<Option<Outcome>, Error> {
    let path = params.path.as_str();
    let Some(written) = params.src.as_deref() else {
        return Err(Error::msg("src is required for creating new hardlinks"));
    };
    let src = beside(path, written);
    let check = if ctx.check { "1" } else { "0" };
    let force = if params.force { "1" } else { "0" };
    let argv = [
        "sh",
        "-c",
        HARD_LINK,
        "capstan-hard",
        &src,
        path,
        check,
        force,
    ];
    let out = remote::Command::new(argv).run(&ctx.target)?;
    match (out.exit_code, out.stdout_text().trim()) {
        (Some(0), "same") => Ok(None),
        (Some(0), _) => {
            changes.push(format!("hard link {path} -> {src}"));
            Ok(None)
        }
        (Some(4), _) => {
            let why = "src does not exist";
            Ok(Some(Outcome::failed(why).with_data(serde_json::json!({
                "msg": why, "dest": path, "src": written, "path": path
            }))))
        }
        _ => Err(Error::msg(out.stderr_text().trim().to_string())),
    }
}

/// Where `target`, as a link at `path` holds it, points: a relative one
/// is relative to the link's folder.
fn beside(path: &str, target: &str) -> String {
    if target.starts_with('/') {
        target.to_string()
    } else {
        format!("{}/{target}", path.rsplit_once('/').map_or(".", |(d, _)| d))
    }
}

/// Describes the path (`absent` when nothing is there; a link to a folder
/// as the folder) and, unless `$3` is 1 (check mode), makes it a folder, with the folders on the way;
/// with a mode in `$2`, like Ansible, each folder made gets it. One made
/// meanwhile by someone else (another host of the run sharing a parent)
/// is fine.
const MAKE_DIRECTORY: &str = r#"p=$1 m=$2 check=$3
if [ -d "$p" ]; then exec stat -L -c '%F|%s|%a|%u|%g' -- "$p"; fi
if [ -e "$p" ] || [ -h "$p" ]; then exec stat -c '%F|%s|%a|%u|%g' -- "$p"; fi
echo absent
[ "$check" = 1 ] && exit 0
[ -z "$m" ] && exec mkdir -p -- "$p"
set --
d=$p
while [ -n "$d" ] && [ ! -d "$d" ]; do
    set -- "$d" "$@"
    case $d in */*) d=${d%/*} ;; *) d= ;; esac
done
for d; do
    mkdir -m "$m" -- "$d" 2>/dev/null || [ -d "$d" ] || mkdir -m "$m" -- "$d" || exit 1
done"#;

/// Makes `path` a folder in one command (see [`MAKE_DIRECTORY`]); what
/// was there before.
fn make_directory(ctx: &Context, path: &str, mode: Option<u32>) -> Result<Option<FileInfo>, Error> {
    let mode = mode.map(|m| format!("{m:o}")).unwrap_or_default();
    let check = if ctx.check { "1" } else { "0" };
    let path = path.trim_end_matches('/');
    let argv = [
        "sh",
        "-c",
        MAKE_DIRECTORY,
        "capstan-mkdir",
        path,
        &mode,
        check,
    ];
    described(ctx, path, &argv)
}

/// Describes the path (`absent` when nothing is there), lists what a
/// folder holds when `$3` is 1 (`d PATH` for each folder inside, `f PATH`
/// for everything else) and, unless `$2` is 1 (check mode), removes it,
/// a folder with all it holds.
const REMOVE: &str = r#"if [ -e "$1" ] || [ -h "$1" ]; then
    stat -c '%F|%s|%a|%u|%g' -- "$1" || exit 1
    if [ "$3" = 1 ] && [ -d "$1" ] && [ ! -h "$1" ]; then
        find "$1" -mindepth 1 -type d | sed 's/^/d /'
        find "$1" -mindepth 1 ! -type d | sed 's/^/f /'
    fi
    [ "$2" = 1 ] || exec rm -rf -- "$1"
else
    echo absent
fi"#;

/// Removes `path` in one command (see [`REMOVE`]): what was there and, in
/// diff mode, what a folder held, as Ansible's diff lists it
/// (`path_content`: its `directories` and `files`, each a full path).
fn remove(ctx: &Context, path: &str) -> Result<(Option<FileInfo>, Option<Json>), Error> {
    let check = if ctx.check { "1" } else { "0" };
    let list = if ctx.diff { "1" } else { "0" };
    let out = remote::Command::new(["sh", "-c", REMOVE, "capstan-rm", path, check, list])
        .run_checked(&ctx.target)?;
    let text = out.stdout_text();
    let mut lines = text.lines();
    let before = read_description(path, lines.next().unwrap_or_default())?;
    let (mut directories, mut files) = (Vec::new(), Vec::new());
    for line in lines {
        match line.split_at_checked(2) {
            Some(("d ", inside)) => directories.push(inside.to_string()),
            Some(("f ", inside)) => files.push(inside.to_string()),
            _ => {}
        }
    }
    let listed = before
        .as_ref()
        .filter(|info| ctx.diff && info.kind == FileKind::Directory)
        .map(|_| serde_json::json!({ "directories": directories, "files": files }));
    Ok((before, listed))
}

/// Runs a script whose first line describes the path as it was, and
/// reads that line.
fn described(ctx: &Context, path: &str, argv: &[&str]) -> Result<Option<FileInfo>, Error> {
    let out = remote::Command::new(argv.iter().copied()).run_checked(&ctx.target)?;
    let text = out.stdout_text();
    read_description(path, text.lines().next().unwrap_or_default())
}

/// What a script's description line says was at `path`.
fn read_description(path: &str, line: &str) -> Result<Option<FileInfo>, Error> {
    if line == "absent" {
        return Ok(None);
    }
    remote::parse_stat(line)
        .map(Some)
        .ok_or_else(|| Error::msg(format!("stat {path}: unexpected answer `{line}`")))
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

/// The outcome, with what Ansible adds to a result naming a path (the
/// state on disk, `uid`, `gid`, `mode`, `size` of what is there `after`,
/// when known) and its `diff` in diff mode: the path, the state when it
/// changes, and what the task changed on the way.
fn finish(
    path: &str,
    changes: Vec<String>,
    before: &Option<FileInfo>,
    (wanted, after): (&str, Option<&FileInfo>),
    mut diff: StateDiff,
    ctx: &Context,
) -> Outcome {
    let before_state = before.as_ref().map_or("absent", kind_name);
    if before_state != wanted {
        diff.change("state", before_state, wanted);
    }
    // The state on disk, as Ansible reports it: a link (followed for its
    // attributes or not) is a link, a touched path a file.
    let on_disk = match (wanted, after) {
        ("link" | "hard", _) => wanted,
        (_, Some(info)) => kind_name(info),
        ("touch", None) if !(ctx.check && before.is_none()) => "file",
        _ => wanted,
    };
    let mut data = serde_json::json!({
        "path": path,
        "state": on_disk,
        "changes": changes,
    });
    if let Some(info) = after {
        data["uid"] = serde_json::json!(info.uid);
        data["gid"] = serde_json::json!(info.gid);
        data["mode"] = serde_json::json!(format!("0{:03o}", info.mode));
        data["size"] = serde_json::json!(info.size);
    }
    // Ansible's touch and links name the path `dest`.
    if matches!(wanted, "touch" | "link" | "hard") {
        data["dest"] = serde_json::json!(path);
    }
    // As Ansible's module: the result holds its `diff` in diff mode only.
    if ctx.diff {
        data["diff"] = diff.to_json();
    }
    if changes.is_empty() {
        return Outcome::ok(format!("{path} is already {wanted}")).with_data(data);
    }
    let verb = if ctx.check { "would" } else { "did" };
    let outcome =
        Outcome::changed(format!("{path}: {verb} {}", changes.join(", "))).with_data(data);
    if ctx.diff {
        outcome.with_diff(diff.text(path))
    } else {
        outcome
    }
}

register_plugin!(File);
