//! Ansible's `unarchive`: a tar (plain or compressed, as GNU tar reads
//! it) or zip archive, sent from the controller or already on the target
//! (`remote_src`), unpacked into an existing folder with the target's own
//! `tar` or `unzip` — and only when what it holds differs from what is
//! there: tar compares with `--diff` and Ansible's reading of its lines; a
//! zip is unpacked aside and compared file by file.

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::remote::{self, FileKind};
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;

/// Parameters of `unarchive`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnarchiveParams {
    /// The archive: as the task named it, or with `remote_src` its path on
    /// the target (`~` and `$VAR` expanded there).
    src: String,
    /// The archive's bytes in base64 (the runner reads a controller file
    /// into it); absent with `remote_src`.
    content_base64: Option<String>,
    /// `src` is a file on the target.
    #[serde(default)]
    remote_src: bool,
    /// The folder to unpack into; it must exist.
    dest: String,
    /// Do nothing when this path exists.
    creates: Option<String>,
    /// Return the archive's file names in `files`.
    #[serde(default)]
    list_files: bool,
    /// Leave files on the target that are newer than the archive's.
    #[serde(default)]
    keep_newer: bool,
    /// Paths of the archive to leave out.
    #[serde(default)]
    exclude: Vec<String>,
    /// Only these paths of the archive.
    #[serde(default)]
    include: Vec<String>,
    /// More options for `tar` or `unzip`.
    #[serde(default)]
    extra_opts: Vec<String>,
    /// Permissions for what is unpacked: octal or symbolic (`u+rwX`).
    mode: Option<Mode>,
    /// Owning user of what is unpacked.
    owner: Option<String>,
    /// Owning group of what is unpacked.
    group: Option<String>,
}

/// The kind of archive, by the program that reads it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tar,
    Zip,
}

impl Kind {
    /// Ansible's name for the handler (in the result's `handler`).
    fn handler(self) -> &'static str {
        match self {
            Kind::Tar => "TgzArchive",
            Kind::Zip => "ZipArchive",
        }
    }
}

/// Unpacks `src` into `dest` when it differs (see the module's doc).
pub fn unarchive(params: UnarchiveParams, ctx: &Context) -> Result<Outcome, Error> {
    if !params.include.is_empty() && !params.exclude.is_empty() {
        return Err(Error::InvalidParams(
            "parameters are mutually exclusive: include|exclude".into(),
        ));
    }
    let [dest, creates] = expanded(ctx, [Some(params.dest.clone()), params.creates.clone()])?;
    let dest = dest.unwrap_or_default();
    if let Some(creates) = &creates
        && remote::stat(&ctx.target, creates)?.is_some()
    {
        return Ok(Outcome::ok(format!("skipped, since {creates} exists"))
            .with_data(serde_json::json!({ "dest": dest, "src": params.src })));
    }
    // A link to a folder is a folder here.
    let is_folder = match remote::stat(&ctx.target, &dest)? {
        Some(info) if info.kind == FileKind::Directory => true,
        Some(info) if info.kind == FileKind::Symlink => remote::Command::new(["test", "-d", &dest])
            .run(&ctx.target)?
            .success(),
        _ => false,
    };
    if !is_folder {
        return Err(Error::msg(format!(
            "Destination '{}' is not a directory",
            params.dest
        )));
    }
    let archive = Archive::place(&params, ctx)?;
    let result = unpack(&params, &dest, &archive, ctx);
    archive.clean_up(ctx);
    result
}

/// Path options as Ansible's modules read them: `~/`, `$VAR` and a
/// relative path (from the folder commands start in) made absolute.
fn expanded<const N: usize>(
    ctx: &Context,
    paths: [Option<String>; N],
) -> Result<[Option<String>; N], Error> {
    let given: Vec<String> = paths.iter().flatten().cloned().collect();
    let mut done = remote::absolute_paths(&ctx.target, given)?.into_iter();
    Ok(paths.map(|p| p.and_then(|_| done.next())))
}

/// The archive on the target, and whether Capstan put it there.
struct Archive {
    path: String,
    scratch: bool,
    kind: Kind,
}

impl Archive {
    /// Sends the controller's archive to a scratch file (or finds the
    /// target's own) and tells its kind.
    fn place(params: &UnarchiveParams, ctx: &Context) -> Result<Archive, Error> {
        let (path, scratch) = match (&params.content_base64, params.remote_src) {
            (Some(encoded), false) => {
                let bytes = capstan_plugin_sdk::base64::decode(encoded)
                    .ok_or_else(|| Error::InvalidParams("content_base64 is not base64".into()))?;
                if bytes.is_empty() {
                    return Err(Error::msg(format!(
                        "Invalid archive '{}', the file is 0 bytes",
                        params.src
                    )));
                }
                let made = remote::Command::new(["mktemp", "-t", "capstan-unarchive.XXXXXXXX"])
                    .run_checked(&ctx.target)?;
                let path = made.stdout_text().trim().to_string();
                remote::write_file(&ctx.target, &path, &bytes, Some(0o600))?;
                (path, true)
            }
            (None, true) => {
                let [src] = expanded(ctx, [Some(params.src.clone())])?;
                let src = src.unwrap_or_default();
                match remote::stat(&ctx.target, &src)? {
                    None => return Err(Error::msg(format!("Source '{src}' does not exist"))),
                    Some(info) if info.size == 0 => {
                        return Err(Error::msg(format!(
                            "Invalid archive '{src}', the file is 0 bytes"
                        )));
                    }
                    Some(_) => (src, false),
                }
            }
            _ => {
                return Err(Error::InvalidParams(
                    "give content_base64 (the runner's copy of src) or remote_src, not both".into(),
                ));
            }
        };
        let mut archive = Archive {
            path,
            scratch,
            kind: Kind::Tar,
        };
        match archive.kind_on_target(ctx) {
            Ok(kind) => archive.kind = kind,
            Err(error) => {
                archive.clean_up(ctx);
                return Err(error.with_src(&params.src));
            }
        }
        Ok(archive)
    }

    /// Zip when `unzip` lists it, tar when `tar` does.
    fn kind_on_target(&self, ctx: &Context) -> Result<Kind, KindError> {
        const SCRIPT: &str = r#"if command -v unzip >/dev/null 2>&1 && unzip -Z1 "$1" >/dev/null 2>&1; then echo zip
elif tar -tf "$1" >/dev/null 2>&1; then echo tar
elif ! command -v unzip >/dev/null 2>&1 && [ "$(head -c 2 "$1")" = PK ]; then echo zip-without-unzip
else echo none; fi"#;
        let out = remote::Command::new(["sh", "-c", SCRIPT, "sh", &self.path])
            .run_checked(&ctx.target)
            .map_err(KindError::Other)?;
        match out.stdout_text().trim() {
            "zip" => Ok(Kind::Zip),
            "tar" => Ok(Kind::Tar),
            "zip-without-unzip" => Err(KindError::Unknown(
                "Unable to find required 'unzip' binary in the path.".into(),
            )),
            _ => Err(KindError::Unknown(
                "neither tar nor unzip can read it as an archive".into(),
            )),
        }
    }

    /// Removes the scratch copy (a copy left behind is only a temp file).
    fn clean_up(&self, ctx: &Context) {
        if self.scratch {
            let _ = remote::Command::new(["rm", "-f", "--", &self.path]).run(&ctx.target);
        }
    }
}

/// Why an archive's kind was not found.
enum KindError {
    Unknown(String),
    Other(Error),
}

impl KindError {
    fn with_src(self, src: &str) -> Error {
        match self {
            KindError::Unknown(why) => Error::msg(format!(
                "Failed to find handler for \"{src}\". Make sure the required command to extract \
                 the file is installed.\n{why}"
            )),
            KindError::Other(error) => error,
        }
    }
}

/// Compares, unpacks when different, then sets the attributes asked for.
fn unpack(
    params: &UnarchiveParams,
    dest: &str,
    archive: &Archive,
    ctx: &Context,
) -> Result<Outcome, Error> {
    let files = list(params, archive, ctx)?;
    let differs = match archive.kind {
        Kind::Tar => tar_differs(params, dest, archive, ctx)?,
        Kind::Zip => zip_differs(params, dest, archive, ctx)?,
    };
    if differs && !ctx.check {
        let argv = match archive.kind {
            Kind::Tar => tar_argv("--extract", params, dest, &archive.path),
            Kind::Zip => zip_argv(params, dest, &archive.path),
        };
        remote::Command::new(argv).run_checked(&ctx.target)?;
    }
    let attributes_changed = match set_attributes(params, dest, &files, ctx) {
        Ok(changed) => changed,
        // As Ansible's: what was wrong with the mode is the `details`.
        Err(Error::InvalidParams(details)) => {
            return Ok(Outcome::failed(format!(
                "Unexpected error when accessing exploded file: {details}"
            ))
            .with_data(serde_json::json!({ "dest": dest, "details": details })));
        }
        Err(other) => return Err(other),
    };
    let mut data = serde_json::json!({
        "dest": dest,
        "src": params.src,
        "handler": archive.kind.handler(),
    });
    if params.list_files {
        data["files"] = serde_json::json!(files);
    }
    let changed = differs || attributes_changed;
    let verb = if ctx.check {
        "would unpack"
    } else {
        "unpacked"
    };
    Ok(if changed {
        Outcome::changed(format!("{}: {verb} into {dest}", params.src)).with_data(data)
    } else {
        Outcome::ok(format!("{dest} already holds {}", params.src)).with_data(data)
    })
}

/// The archive's file names (the includes and excludes applied).
fn list(params: &UnarchiveParams, archive: &Archive, ctx: &Context) -> Result<Vec<String>, Error> {
    let out = match archive.kind {
        Kind::Tar => {
            let mut argv = vec!["tar".to_string(), "--list".into()];
            argv.extend(params.extra_opts.iter().cloned());
            argv.extend(params.exclude.iter().map(|e| format!("--exclude={e}")));
            argv.extend(["-f".into(), archive.path.clone()]);
            argv.extend(params.include.iter().cloned());
            remote::Command::new(argv).run_checked(&ctx.target)?
        }
        Kind::Zip => {
            remote::Command::new(["unzip", "-Z1", &archive.path]).run_checked(&ctx.target)?
        }
    };
    let excluded = |name: &str| {
        archive.kind == Kind::Zip
            && (params.exclude.iter().any(|e| glob_matches(e, name))
                || (!params.include.is_empty()
                    && !params.include.iter().any(|i| glob_matches(i, name))))
    };
    Ok(out
        .stdout_text()
        .lines()
        .filter(|l| !l.is_empty() && !excluded(l))
        .map(String::from)
        .collect())
}

/// Ansible's reading of `tar --diff`: a missing file, other contents,
/// size, link, modification time, and (unless set anyway) mode, owner and
/// group count as a difference.
fn tar_differs(
    params: &UnarchiveParams,
    dest: &str,
    archive: &Archive,
    ctx: &Context,
) -> Result<bool, Error> {
    let out = remote::Command::new(tar_argv("--diff", params, dest, &archive.path))
        .env("LC_ALL", "C")
        .run(&ctx.target)?;
    let text = format!("{}\n{}", out.stdout_text(), out.stderr_text());
    let root = remote::Command::new(["id", "-u"])
        .run_checked(&ctx.target)?
        .stdout_text()
        .trim()
        == "0";
    Ok(text.lines().any(|line| {
        if line.ends_with(": : Warning: Cannot stat: No such file or directory") {
            return false;
        }
        let ends = |tail: &str| line.ends_with(tail);
        (root && params.owner.is_none() && ends(": Uid differs"))
            || (root && params.group.is_none() && ends(": Gid differs"))
            || (params.mode.is_none() && ends(": Mode differs"))
            || ends(": Mod time differs")
            || ends(": Warning: Cannot stat: No such file or directory")
            || line.contains(": Invalid owner")
            || line.contains(": Invalid group")
            || ends(": Symlink differs")
            || ends(": Contents differ")
            || ends(": Size differs")
    }))
}

/// A zip unpacked into a scratch folder and each of its files compared
/// with the one under `dest`.
fn zip_differs(
    params: &UnarchiveParams,
    dest: &str,
    archive: &Archive,
    ctx: &Context,
) -> Result<bool, Error> {
    const SCRIPT: &str = r#"scratch=$(mktemp -d -t capstan-unzip.XXXXXXXX) || exit 3
trap 'rm -rf "$scratch"' EXIT
dest=$1; shift
"$@" -d "$scratch" >/dev/null || exit 3
cd "$scratch" || exit 3
find . ! -type d | while IFS= read -r f; do
  if [ -h "$f" ]; then [ "$(readlink "$f")" = "$(readlink "$dest/$f" 2>/dev/null)" ] || exit 1
  else cmp -s "$f" "$dest/$f" || exit 1; fi
done"#;
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        SCRIPT.into(),
        "sh".into(),
        dest.into(),
    ];
    argv.extend(
        zip_argv(params, "", &archive.path)
            .into_iter()
            .take_while(|a| a != "-d"),
    );
    let out = remote::Command::new(argv).run(&ctx.target)?;
    match out.exit_code {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        _ => Err(Error::msg(format!(
            "unzip could not read {}: {}",
            params.src,
            out.stderr_text().trim()
        ))),
    }
}

/// `tar OPERATION` with the task's options, reading `archive` into `dest`.
fn tar_argv(operation: &str, params: &UnarchiveParams, dest: &str, archive: &str) -> Vec<String> {
    let mut argv = vec![
        "tar".to_string(),
        operation.into(),
        "-C".into(),
        dest.into(),
    ];
    argv.extend(params.extra_opts.iter().cloned());
    if let Some(owner) = &params.owner {
        argv.push(format!("--owner={owner}"));
    }
    if let Some(group) = &params.group {
        argv.push(format!("--group={group}"));
    }
    if params.keep_newer {
        argv.push("--keep-newer-files".into());
    }
    argv.extend(params.exclude.iter().map(|e| format!("--exclude={e}")));
    argv.extend(["-f".into(), archive.into()]);
    argv.extend(params.include.iter().cloned());
    argv
}

/// `unzip` overwriting (or, with `keep_newer`, only newer), into `dest`.
fn zip_argv(params: &UnarchiveParams, dest: &str, archive: &str) -> Vec<String> {
    let mut argv = vec!["unzip".to_string(), "-o".into()];
    if params.keep_newer {
        argv.push("-u".into());
    }
    argv.extend(params.extra_opts.iter().cloned());
    argv.push(archive.into());
    argv.extend(params.include.iter().cloned());
    if !params.exclude.is_empty() {
        argv.push("-x".into());
        argv.extend(params.exclude.iter().cloned());
    }
    argv.extend(["-d".into(), dest.into()]);
    argv
}

/// Gives each unpacked path (in check mode: only looks) the mode, owner
/// and group asked for, a symbolic mode applied to each path's own mode
/// as Ansible applies it; whether any of them changed.
fn set_attributes(
    params: &UnarchiveParams,
    dest: &str,
    files: &[String],
    ctx: &Context,
) -> Result<bool, Error> {
    if params.mode.is_none() && params.owner.is_none() && params.group.is_none() {
        return Ok(false);
    }
    // Each path's mode, owner, group and kind, one line each.
    const LOOK: &str = r#"cd "$1" || exit 3; shift
for f; do stat -c '%a|%U|%u|%G|%g|%F|%n' -- "$f" 2>/dev/null || true; done"#;
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        LOOK.into(),
        "sh".into(),
        dest.into(),
    ];
    argv.extend(files.iter().map(|f| f.trim_end_matches('/').to_string()));
    let seen = remote::Command::new(argv).run_checked(&ctx.target)?;
    // Triples (program, argument, path) for the change script.
    let mut changes: Vec<String> = Vec::new();
    for line in seen.stdout_text().lines() {
        let fields: Vec<&str> = line.splitn(7, '|').collect();
        let [mode, user, uid, group, gid, kind, path] = fields[..] else {
            continue;
        };
        let current = u32::from_str_radix(mode, 8).ok();
        if let Some(wanted) = &params.mode
            && kind != "symbolic link"
        {
            let bits = wanted.resolve(current, kind == "directory")?;
            if current != Some(bits) {
                changes.extend(["chmod".into(), format!("{bits:o}"), path.into()]);
            }
        }
        // An owner may be given by name or by number.
        for (program, want, name, id) in [
            ("chown", &params.owner, user, uid),
            ("chgrp", &params.group, group, gid),
        ] {
            if let Some(want) = want.as_deref().filter(|w| *w != name && *w != id) {
                changes.extend([program.into(), want.into(), path.into()]);
            }
        }
    }
    if changes.is_empty() || ctx.check {
        return Ok(!changes.is_empty());
    }
    const CHANGE: &str = r#"cd "$1" || exit 3; shift
while [ $# -ge 3 ]; do
  if [ "$1" = chmod ]; then chmod "$2" -- "$3" || exit 4; else "$1" -h "$2" -- "$3" || exit 4; fi
  shift 3
done"#;
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        CHANGE.into(),
        "sh".into(),
        dest.into(),
    ];
    argv.extend(changes);
    remote::Command::new(argv).run_checked(&ctx.target)?;
    Ok(true)
}

/// `unzip`'s wildcard patterns: `*` and `?` (a `*` crosses folders).
fn glob_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn unzip_patterns_match_as_unzip_does() {
        assert!(glob_matches("*.txt", "a/b.txt"));
        assert!(glob_matches("foo-?.txt", "foo-1.txt"));
        assert!(!glob_matches("*.txt", "a.png"));
        assert!(glob_matches("exact", "exact"));
    }
}
