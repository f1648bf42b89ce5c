//! The folders and links of a folder copied from the controller, made in
//! one command before its files: each folder missing under `dest` made
//! (with `directory_mode` when given), each link made to point where it
//! pointed on the controller, unless it already does.

use capstan_plugin_sdk::{Context, Error, remote};

use crate::{CopyParams, TreeFile};

/// Takes `root check mode` and then `kind path target` triples (`d` a
/// folder, `l` a link); prints the path of each one it makes (or would).
const SCRIPT: &str = r#"
root=$1 check=$2 dmode=$3
shift 3
if [ ! -d "$root" ]; then
    echo .
    if [ "$check" != 1 ]; then
        mkdir -p -- "$root" || exit 1
        [ -z "$dmode" ] || chmod "$dmode" -- "$root" || exit 1
    fi
fi
while [ $# -ge 3 ]; do
    kind=$1 p=$2 to=$3
    shift 3
    t=$root/$p
    if [ "$kind" = d ]; then
        [ -d "$t" ] && continue
        echo "$p"
        [ "$check" = 1 ] && continue
        mkdir -- "$t" || exit 1
        [ -z "$dmode" ] || chmod "$dmode" -- "$t" || exit 1
    else
        [ -h "$t" ] && [ "$(readlink -- "$t")" = "$to" ] && continue
        if [ -d "$t" ] && [ ! -h "$t" ]; then
            echo "$t is a folder, not a link to $to" >&2
            exit 3
        fi
        echo "$p"
        [ "$check" = 1 ] && continue
        rm -f -- "$t" && ln -s -- "$to" "$t" || exit 1
    fi
done
"#;

/// Makes the folders and links among `shapes` under `root`; the paths of
/// those it made (or would make, in check mode).
pub(crate) fn make(
    params: &CopyParams,
    root: &str,
    shapes: &[TreeFile],
    ctx: &Context,
) -> Result<Vec<String>, Error> {
    if shapes.is_empty() {
        return Ok(Vec::new());
    }
    let mode = params
        .directory_mode
        .as_ref()
        .map(|m| m.resolve(None, true).map(|bits| format!("{bits:o}")))
        .transpose()?
        .unwrap_or_default();
    let check = if ctx.check { "1" } else { "0" };
    let mut argv = vec!["sh", "-c", SCRIPT, "capstan-tree", root, check, &mode];
    for shape in shapes {
        match &shape.link {
            Some(to) => argv.extend(["l", shape.path.as_str(), to.as_str()]),
            None => argv.extend(["d", shape.path.as_str(), ""]),
        }
    }
    let out = remote::Command::new(argv).run(&ctx.target)?;
    if !out.success() {
        return Err(Error::msg(format!(
            "making the folders and links under {root} failed: {}",
            out.stderr_text().trim()
        )));
    }
    Ok(out
        .stdout_text()
        .lines()
        .map(|made| if made == "." { root } else { made }.to_string())
        .collect())
}
