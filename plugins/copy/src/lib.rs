//! Ansible's `copy` module (content form, the playbook runner reading `src`
//! files and rendering templates into `content`; or `remote_src`, a file
//! already on the target): puts bytes into a file on the target, with
//! mode, owner, group and an optional backup, changed only when one of
//! them differs; check mode and a unified diff.

mod fetch;
mod remote_tree;
mod tree_shapes;
mod unarchive;

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::remote::{self, FileKind, PathInfo, Placed, Put};
use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, accounts, diff,
    register_plugin,
};
use serde::Deserialize;

/// Parameters of `apply`.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CopyParams {
    /// The file on the target (`~/`, `$VAR` and a relative path read as
    /// Ansible reads them).
    dest: String,
    /// What the file should hold, as text.
    content: Option<String>,
    /// What the file should hold, as base64 (a binary file; the runner
    /// sends a controller file that is not UTF-8 this way).
    content_base64: Option<String>,
    /// With `remote_src`: the file on the target to copy (`~` and `$VAR`
    /// expanded there).
    src: Option<String>,
    /// Copy `src`, a file on the target itself, not content.
    #[serde(default)]
    remote_src: bool,
    /// A folder's files (the runner reads a controller folder into it):
    /// each goes to `dest`/its path, folders on the way made.
    files: Option<Vec<TreeFile>>,
    /// Make the folders above `dest` (a folder copy's files).
    #[serde(skip)]
    make_parents: bool,
    /// Permissions: octal ("0644") or symbolic ("u=rw,g=r,o=r"), the latter
    /// applied to the file's mode as it is (0644 for a new file).
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
    /// When `dest` is a link, write the file it points to (default: the
    /// link is replaced).
    #[serde(default)]
    follow: bool,
    /// The copied file's own name (the runner sets it from `src`): when
    /// `dest` is a folder, or ends with `/`, the file goes into it under
    /// this name.
    src_name: Option<String>,
    /// With `remote_src` and a folder as `src`: copy what its links point
    /// to (default: the links themselves).
    local_follow: Option<bool>,
    /// A folder copy: the mode of each folder it makes (those already
    /// there keep theirs).
    directory_mode: Option<Mode>,
}

/// One file of a folder being copied.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TreeFile {
    /// Its path under `dest` (`sub/name`).
    path: String,
    /// Its text.
    content: Option<String>,
    /// Its bytes as base64, when it is not text.
    content_base64: Option<String>,
    /// A link: where it points (made as a link, pointing there).
    link: Option<String>,
    /// Its own mode, over the copy's (`mode: preserve`).
    mode: Option<Mode>,
    /// A folder: made when missing.
    #[serde(default)]
    folder: bool,
}

fn yes() -> bool {
    true
}

impl CopyParams {
    /// The uid of `owner` and the gid of `group` on the target, those
    /// given.
    fn ids(&self, ctx: &Context) -> Result<(Option<u32>, Option<u32>), Error> {
        let uid = self
            .owner
            .as_deref()
            .map(|o| accounts::uid_of(ctx, o))
            .transpose()?;
        let gid = self
            .group
            .as_deref()
            .map(|g| accounts::gid_of(ctx, g))
            .transpose()?;
        Ok((uid, gid))
    }
}

struct Copy;

impl Plugin for Copy {
    fn manifest() -> Manifest {
        Manifest::new(
            "copy",
            env!("CARGO_PKG_VERSION"),
            "Put files on the target (content, a folder, an unpacked archive) and fetch one back.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::RemoteFiles)
        .capability(Capability::Local)
        .action(Action::new("apply", "Make the file hold exactly this content.").run(apply))
        .action(
            Action::new(
                "unarchive",
                "Unpack a tar or zip archive into a folder when it differs (Ansible's unarchive).",
            )
            .run(unarchive::unarchive),
        )
        .action(
            Action::new(
                "fetch",
                "Read a file on the target for the runner to keep (Ansible's fetch).",
            )
            .run(fetch::fetch),
        )
    }
}

/// What a copy puts in place.
enum Wanted {
    /// The file's bytes.
    Bytes(Vec<u8>),
    /// A folder on the target (`remote_src`), by its path as given.
    Folder(String),
}

/// The bytes the file should hold, from whichever parameter gives them.
fn wanted_bytes(params: &mut CopyParams, ctx: &Context) -> Result<Vec<u8>, Error> {
    match wanted_content(params, ctx)? {
        Wanted::Bytes(bytes) => Ok(bytes),
        Wanted::Folder(src) => Err(Error::msg(format!(
            "Source {src} is a folder: a folder's files are copied one by one"
        ))),
    }
}

/// What the copy puts in place, from whichever parameter gives it.
fn wanted_content(params: &mut CopyParams, ctx: &Context) -> Result<Wanted, Error> {
    match (
        params.content.take(),
        params.content_base64.take(),
        params.src.take(),
    ) {
        (Some(text), None, None) if !params.remote_src => Ok(Wanted::Bytes(text.into_bytes())),
        (None, Some(encoded), None) if !params.remote_src => {
            capstan_plugin_sdk::base64::decode(&encoded)
                .map(Wanted::Bytes)
                .ok_or_else(|| Error::InvalidParams("content_base64 is not base64".into()))
        }
        (None, None, Some(src)) if params.remote_src => {
            // Reported as the result's `src`.
            params.src = Some(src.clone());
            // `mode: preserve`: the source file's own mode.
            if params.mode.as_ref().is_some_and(|m| m.text() == "preserve") {
                let info = remote::stat(&ctx.target, &src)?
                    .ok_or_else(|| Error::msg(format!("Source {src} not found")))?;
                params.mode = Some(
                    serde_json::from_value(serde_json::json!(format!("{:04o}", info.mode)))
                        .map_err(|e| Error::msg(format!("mode of {src}: {e}")))?,
                );
            }
            match remote::read_if_present(&ctx.target, &src) {
                Ok(Some(bytes)) => Ok(Wanted::Bytes(bytes)),
                Ok(None) => Err(Error::msg(format!("Source {src} not found"))),
                Err(error) if error.to_string().contains("is a directory !") => {
                    Ok(Wanted::Folder(src))
                }
                // Ansible's words for a device, a pipe or a socket.
                Err(error) if error.to_string().contains("not a regular file") => Err(Error::msg(
                    format!("Cannot copy invalid source '{src}': not a file"),
                )),
                Err(error) => Err(error),
            }
        }
        (None, None, Some(_)) => Err(Error::InvalidParams(
            "src without remote_src: the runner reads a controller file into content".into(),
        )),
        (_, _, _) if params.remote_src => Err(Error::InvalidParams(
            "remote_src needs `src` (the file on the target), and no content".into(),
        )),
        _ => Err(Error::InvalidParams(
            "give exactly one of content, content_base64 or src with remote_src".into(),
        )),
    }
}

fn apply(mut params: CopyParams, ctx: &Context) -> Result<Outcome, Error> {
    // Ansible's reading of both paths: `~/`, `$VAR`, relative to where
    // the target starts commands.
    let remote_src = params.src.clone().filter(|_| params.remote_src);
    let mut paths = remote::absolute_paths(
        &ctx.target,
        std::iter::once(params.dest.clone())
            .chain(remote_src)
            .collect(),
    )?
    .into_iter();
    params.dest = paths.next().unwrap_or_default();
    if params.remote_src {
        params.src = paths.next();
        // Into a folder `dest`, the file keeps its own name, as Ansible's.
        if params.src_name.is_none() {
            params.src_name = params
                .src
                .as_deref()
                .and_then(|src| src.rsplit('/').next())
                .filter(|name| !name.is_empty())
                .map(str::to_string);
        }
    }
    if let Some(files) = params.files.take() {
        return copy_tree(params, files, ctx);
    }
    let content = match wanted_content(&mut params, ctx)? {
        Wanted::Bytes(bytes) => bytes,
        Wanted::Folder(src) => return remote_tree::copy_folder(&params, &src, ctx),
    };
    if params.follow {
        params.dest = followed(&params.dest, ctx)?;
    }
    place(&params, &content, ctx)
}

/// Where `dest` leads when it is a link (through every link on the way);
/// `dest` itself otherwise.
fn followed(dest: &str, ctx: &Context) -> Result<String, Error> {
    let out = remote::Command::new([
        "sh",
        "-c",
        r#"if [ -h "$1" ]; then readlink -f -- "$1"; else printf '%s\n' "$1"; fi"#,
        "capstan-follow",
        dest,
    ])
    .run_checked(&ctx.target)?;
    Ok(out
        .stdout_text()
        .strip_suffix('\n')
        .filter(|path| !path.is_empty())
        .unwrap_or(dest)
        .to_string())
}

/// A folder's files, each put in its place under `dest` as one file is:
/// changed when any of them is.
fn copy_tree(params: CopyParams, files: Vec<TreeFile>, ctx: &Context) -> Result<Outcome, Error> {
    if params.remote_src || params.src.is_some() || params.src_name.is_some() {
        return Err(Error::InvalidParams(
            "files is a folder from the controller: no src, remote_src or src_name with it".into(),
        ));
    }
    let root = params.dest.trim_end_matches('/');
    if let Some(file) = files.iter().find(|file| {
        file.path
            .split('/')
            .any(|part| part.is_empty() || part == "..")
    }) {
        return Err(Error::InvalidParams(format!(
            "files: `{}` is not a path under dest",
            file.path
        )));
    }
    let (shapes, files): (Vec<TreeFile>, Vec<TreeFile>) = files
        .into_iter()
        .partition(|file| file.folder || file.link.is_some());
    let mut changed = tree_shapes::make(&params, root, &shapes, ctx)?;
    let mut diffs = String::new();
    for file in files {
        let mut one = params.clone();
        one.dest = format!("{root}/{}", file.path);
        one.make_parents = true;
        one.content = file.content;
        one.content_base64 = file.content_base64;
        one.mode = file.mode.or(one.mode);
        let content = wanted_bytes(&mut one, ctx)?;
        let outcome = place(&one, &content, ctx)?;
        if outcome.status == capstan_plugin_sdk::Status::Changed {
            changed.push(file.path);
        }
        diffs.push_str(outcome.diff.as_deref().unwrap_or_default());
    }
    let data = serde_json::json!({ "dest": params.dest, "changed_files": changed });
    Ok(if changed.is_empty() {
        Outcome::ok(format!("{root}: every file is up to date")).with_data(data)
    } else {
        let verb = if ctx.check { "would change" } else { "changed" };
        let outcome =
            Outcome::changed(format!("{root}: {verb} {}", changed.join(", "))).with_data(data);
        match diffs.is_empty() {
            true => outcome,
            false => outcome.with_diff(diffs),
        }
    })
}

/// Puts `content` into the file `params.dest` names, with its mode, owner
/// and group.
fn place(params: &CopyParams, content: &[u8], ctx: &Context) -> Result<Outcome, Error> {
    let octal_mode = params.mode.as_ref().map(Mode::octal).transpose()?.flatten();
    let symbolic_mode = params.mode.is_some() && octal_mode.is_none();
    let (uid, gid) = params.ids(ctx)?;
    // A symbolic mode needs the file's mode first: the steps look at it.
    let (dest, placed, backup_file, mode) =
        if params.backup || params.validate.is_some() || symbolic_mode {
            put_in_steps(params, content, ctx)?
        } else {
            let (dest, placed) = put_at_once(params, content, octal_mode, ctx)?;
            (dest, placed, None, octal_mode)
        };
    let dest = dest.as_str();
    let existing = placed.before.as_ref();
    let content_differs = placed.content_differs;
    if existing.is_some() && content_differs && !params.force {
        return Ok(Outcome::ok(format!(
            "{dest} exists and force=false: left as it is"
        )));
    }
    let mode_differs = mode.is_some_and(|m| existing.is_none_or(|i| i.mode != m));
    let owner_differs = uid.is_some_and(|u| existing.is_none_or(|i| i.uid != u));
    let group_differs = gid.is_some_and(|g| existing.is_none_or(|i| i.gid != g));
    // The file as it ends up, as Ansible adds it to the result: what the
    // write saw, with the owner, group and mode set after it.
    let mut after = match placed.after.clone() {
        Some(info) => Some(info),
        None if !ctx.check => remote::path_info(&ctx.target, dest)?,
        None => None,
    };
    if let Some(info) = after.as_mut().filter(|_| !ctx.check) {
        if let (true, Some(uid), Some(owner)) = (owner_differs, uid, &params.owner) {
            (info.uid, info.owner) = (uid, owner.clone());
        }
        if let (true, Some(gid), Some(group)) = (group_differs, gid, &params.group) {
            (info.gid, info.group) = (gid, group.clone());
        }
        if let Some(m) = mode.filter(|_| mode_differs) {
            info.mode = m;
        }
    }
    let src = params
        .src
        .clone()
        .or_else(|| params.src_name.clone())
        .unwrap_or_else(|| dest.to_string());
    let data = |backup: Option<&str>| {
        let mut data = after
            .as_ref()
            .map_or_else(|| serde_json::json!({}), PathInfo::fields);
        data["dest"] = serde_json::json!(dest);
        data["src"] = serde_json::json!(src);
        data["size"] = serde_json::json!(content.len());
        data["checksum"] = serde_json::json!(sha1_hex(content));
        data["md5sum"] = serde_json::json!(format!("{:x}", md5::compute(content)));
        data["backup_file"] = serde_json::json!(backup);
        data
    };
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
    let mut data = data(backup_file.as_deref());
    let mut shown_diff = None;
    if ctx.diff && content_differs {
        let before = String::from_utf8_lossy(placed.old.as_deref().unwrap_or_default());
        let after = String::from_utf8_lossy(content);
        // The result's `diff`, as Ansible's copy and template give it.
        data["diff"] = serde_json::json!([{
            "before": before,
            "after": after,
            "before_header": dest,
            "after_header": dest,
        }]);
        shown_diff = Some(diff::unified(dest, &before, &after));
    }
    let outcome = Outcome::changed(format!("{dest}: {verb} {what}")).with_data(data);
    Ok(match shown_diff {
        Some(text) => outcome.with_diff(text),
        None => outcome,
    })
}

/// The usual copy, in one command: compare and write (see
/// [`remote::put`]). `dest` naming a folder puts the file into it under
/// `src_name`: the first attempt leaves a folder alone and says it is
/// one, so no copy pays for a stat ahead of it. Gives the file's path and
/// what was done.
fn put_at_once(
    params: &CopyParams,
    content: &[u8],
    mode: Option<u32>,
    ctx: &Context,
) -> Result<(String, Placed), Error> {
    let put = |path: &str, make_parents: bool| {
        remote::put(
            &ctx.target,
            &Put {
                path,
                content,
                mode,
                check: ctx.check,
                force: params.force,
                want_old: ctx.diff,
                make_parents,
                want_after: true,
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
        _ => (params.dest.clone(), params.make_parents),
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
        // Ansible's words for `content` (no file name to put it under).
        return Err(Error::msg(match &params.src_name {
            None => format!("can not use content with a dir as dest ({dest})"),
            Some(_) => format!("dest {dest} is a directory; give the file's full path"),
        }));
    }
    Ok((dest, placed))
}

/// A copy that keeps a backup, validates first or sets a symbolic mode,
/// step by step: look, read, back up, validate, write. Gives the file's
/// path, what was done, the backup's path and the mode it was given.
fn put_in_steps(
    params: &CopyParams,
    content: &[u8],
    ctx: &Context,
) -> Result<(String, Placed, Option<String>, Option<u32>), Error> {
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
    let mode = params
        .mode
        .as_ref()
        .map(|m| m.resolve(existing.as_ref().map(|i| i.mode), false))
        .transpose()?;
    let content_differs = old.as_deref() != Some(content);
    let write = content_differs && !ctx.check && (existing.is_none() || params.force);
    let mut backup_file = None;
    if write {
        if params.backup && existing.is_some() {
            backup_file = Some(remote::backup_file(&ctx.target, &dest)?);
        }
        if into_folder.is_some() && params.dest.ends_with('/') {
            remote::Command::new(["mkdir", "-p", "--", &params.dest]).run_checked(&ctx.target)?;
        }
        if let Some((parent, _)) = dest.rsplit_once('/').filter(|_| params.make_parents) {
            remote::Command::new(["mkdir", "-p", "--", parent]).run_checked(&ctx.target)?;
        }
        if let Some(validate) = &params.validate {
            remote::validate(&ctx.target, validate, &dest, content, mode)?;
        }
        remote::write_file(&ctx.target, &dest, content, mode)?;
    }
    let placed = Placed {
        before: existing,
        content_differs,
        written: write,
        old: old.filter(|_| content_differs),
        after: None,
    };
    Ok((dest, placed, backup_file, mode))
}

/// The SHA-1 of `bytes` in hex: Ansible's `checksum` of a file.
fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

register_plugin!(Copy);
