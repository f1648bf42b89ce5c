//! `copy` with `remote_src` and a folder as `src`: a folder on the target
//! merged into another there, as Ansible's copy merges them. `src` ending
//! in `/` copies what the folder holds into `dest`; without it, the folder
//! itself goes into `dest` under its own name. Files whose content
//! differs and entries `dest` lacks are copied; nothing already there is
//! removed. Links are kept as links unless `local_follow: true`.

use capstan_plugin_sdk::{Context, Error, Outcome, remote};

use crate::CopyParams;

/// Walks `src` and copies into `dst` what differs, printing each path it
/// copies (or would copy, in check mode): `.` alone when `dst` is new.
const MERGE: &str = r#"
src=$1 dst=$2 deref=$3 check=$4
if [ "$deref" = 1 ]; then links=-L; else links=-P; fi
# A copied file keeps its mode, as Python's copyfile and copymode keep it.
one() {
    cp $links -- "$1" "$2" || exit 1
    [ -h "$2" ] || chmod "$(stat -L -c %a -- "$1")" -- "$2" || exit 1
}
if [ ! -e "$dst" ] && [ ! -h "$dst" ]; then
    echo .
    [ "$check" = 1 ] && exit 0
    mkdir -p -- "$(dirname -- "$dst")" || exit 1
    cp -R $links -p -- "$src" "$dst" || exit 1
    exit 0
fi
if [ ! -d "$dst" ]; then
    echo "dest $dst exists and is not a folder" >&2
    exit 3
fi
cd -- "$src" || exit 1
find $links . -mindepth 1 | while IFS= read -r p; do
    p=${p#./}
    s=$src/$p
    d=$dst/$p
    if [ -h "$s" ] && [ "$deref" != 1 ]; then
        if [ -h "$d" ] || [ -e "$d" ]; then continue; fi
        echo "$p"
        [ "$check" = 1 ] || cp -P -- "$s" "$d" || exit 1
    elif [ -d "$s" ]; then
        [ -d "$d" ] && continue
        [ -e "$d" ] || [ -h "$d" ] && continue
        echo "$p"
        [ "$check" = 1 ] && continue
        mkdir -- "$d" && chmod "$(stat -L -c %a -- "$s")" -- "$d" || exit 1
    elif [ -f "$s" ]; then
        if [ -e "$d" ] || [ -h "$d" ]; then
            [ -f "$d" ] || continue
            cmp -s -- "$s" "$d" && continue
        fi
        echo "$p"
        [ "$check" = 1 ] || one "$s" "$d"
    fi
done
"#;

/// Owner and group of everything under `$1`: prints the first path whose
/// owner or group differs, then (unless checking) sets them all.
const OWN: &str = r#"
dst=$1 uid=$2 gid=$3 spec=$4 check=$5
if [ -n "$uid" ] && [ -n "$gid" ]; then
    odd=$(find "$dst" \( ! -uid "$uid" -o ! -gid "$gid" \) -print | head -n 1)
elif [ -n "$uid" ]; then
    odd=$(find "$dst" ! -uid "$uid" -print | head -n 1)
else
    odd=$(find "$dst" ! -gid "$gid" -print | head -n 1)
fi
[ -n "$odd" ] || exit 0
echo "$odd"
[ "$check" = 1 ] || chown -R -h -- "$spec" "$dst"
"#;

/// Copies the target's folder `src` to `dest` (see the module's doc).
pub(crate) fn copy_folder(params: &CopyParams, src: &str, ctx: &Context) -> Result<Outcome, Error> {
    let into = if src.ends_with('/') {
        params.dest.trim_end_matches('/').to_string()
    } else {
        let name = src.rsplit('/').next().unwrap_or(src);
        format!("{}/{name}", params.dest.trim_end_matches('/'))
    };
    let source = src.trim_end_matches('/');
    let deref = if params.local_follow == Some(true) {
        "1"
    } else {
        "0"
    };
    let check = if ctx.check { "1" } else { "0" };
    let out = remote::Command::new([
        "sh",
        "-c",
        MERGE,
        "capstan-copy",
        source,
        &into,
        deref,
        check,
    ])
    .run(&ctx.target)?;
    if !out.success() {
        return Err(Error::msg(format!(
            "copying the folder {src} to {into} failed: {}",
            out.stderr_text().trim()
        )));
    }
    let copied: Vec<String> = out.stdout_text().lines().map(str::to_string).collect();
    let owned = own(params, &into, ctx)?;
    let moded = mode(params, &into, ctx)?;
    let data = serde_json::json!({
        "dest": into,
        "src": src,
        "checksum": null,
        "md5sum": null,
        "copied": copied,
    });
    if copied.is_empty() && !owned && !moded {
        return Ok(Outcome::ok(format!("{into}: every file is up to date")).with_data(data));
    }
    let verb = if ctx.check { "would copy" } else { "copied" };
    let what = match copied.as_slice() {
        [] => "owner, group or mode".to_string(),
        [one] if one == "." => format!("the folder {src}"),
        many => format!("{} entries from {src}", many.len()),
    };
    Ok(Outcome::changed(format!("{into}: {verb} {what}")).with_data(data))
}

/// Sets `owner` and `group` on everything under `into`; whether any
/// differed.
fn own(params: &CopyParams, into: &str, ctx: &Context) -> Result<bool, Error> {
    if params.owner.is_none() && params.group.is_none() {
        return Ok(false);
    }
    let (uid, gid) = params.ids(ctx)?;
    let spec = match (uid, gid) {
        (Some(u), Some(g)) => format!("{u}:{g}"),
        (Some(u), None) => u.to_string(),
        (None, Some(g)) => format!(":{g}"),
        (None, None) => unreachable!("an owner or group was given"),
    };
    let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    let check = if ctx.check { "1" } else { "0" };
    let argv = [
        "sh",
        "-c",
        OWN,
        "capstan-own",
        into,
        &number(uid),
        &number(gid),
        &spec,
        check,
    ];
    let out = remote::Command::new(argv).run_checked(&ctx.target)?;
    Ok(!out.stdout_text().trim().is_empty())
}

/// Gives the copied folder itself `mode`; whether it differed.
fn mode(params: &CopyParams, into: &str, ctx: &Context) -> Result<bool, Error> {
    let Some(mode) = &params.mode else {
        return Ok(false);
    };
    let before = remote::stat(&ctx.target, into)?.map(|info| info.mode);
    let wanted = mode.resolve(before, true)?;
    if before == Some(wanted) {
        return Ok(false);
    }
    if !ctx.check {
        remote::Command::new(["chmod", &format!("{wanted:o}"), "--", into])
            .run_checked(&ctx.target)?;
    }
    Ok(true)
}
