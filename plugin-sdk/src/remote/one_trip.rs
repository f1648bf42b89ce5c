//! File operations that each cost one command on the target: a task's
//! time on a remote host is mostly its round trips (an sshd session and a
//! shell each), so a module that would stat, read and write in three
//! commands asks one script to do all of it.

use super::{Command, FileInfo, FileKind};
use crate::Error;

/// What [`put`] should make a file hold.
#[derive(Debug, Clone, Copy)]
pub struct Put<'a> {
    /// Absolute path of the file on the target.
    pub path: &'a str,
    /// What the file should hold.
    pub content: &'a [u8],
    /// Permissions for a file that is written; `None` keeps the old
    /// file's (0644 for a new one).
    pub mode: Option<u32>,
    /// Only look: report what would change, write nothing.
    pub check: bool,
    /// Replace a file whose content differs (`false`: leave it).
    pub force: bool,
    /// Return the old content when it differs (for a diff).
    pub want_old: bool,
    /// Make the folders above `path` when they are missing.
    pub make_parents: bool,
    /// Report the file as it is after ([`Placed::after`]), at the cost of
    /// one more `stat` on the target.
    pub want_after: bool,
}

/// What [`put`] found, and whether it wrote.
#[derive(Debug, Clone)]
pub struct Placed {
    /// What was at the path before (`None`: nothing).
    pub before: Option<FileInfo>,
    /// The content differed (or there was no file).
    pub content_differs: bool,
    /// The new content was written (false in check mode, when it was the
    /// same, or when `force` was off and a file was there).
    pub written: bool,
    /// The old content, when it differed and `want_old` asked for it.
    pub old: Option<Vec<u8>>,
    /// The file as it is now (or, in check mode, as it was), when there is
    /// one: what Ansible adds to a result that names a path.
    pub after: Option<PathInfo>,
}

/// Who owns a file and what it is, as Ansible's modules add them to a
/// result that names a path (`uid`, `gid`, `owner`, `group`, `mode`,
/// `size`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// Owner's id.
    pub uid: u32,
    /// Group's id.
    pub gid: u32,
    /// Owner's name (its id when it has none).
    pub owner: String,
    /// Group's name (its id when it has none).
    pub group: String,
    /// Permission bits.
    pub mode: u32,
    /// Size in bytes.
    pub size: u64,
}

impl PathInfo {
    /// Ansible's fields: `uid`, `gid`, `owner`, `group`, `mode` (`0644`),
    /// `size`, and `state: file`.
    pub fn fields(&self) -> serde_json::Value {
        serde_json::json!({
            "uid": self.uid,
            "gid": self.gid,
            "owner": self.owner,
            "group": self.group,
            "mode": format!("0{:03o}", self.mode),
            "size": self.size,
            "state": "file",
        })
    }

    /// Reads `stat -c 'after %u|%g|%U|%G|%a|%s'`'s line.
    fn parse(line: &str) -> Option<PathInfo> {
        let mut parts = line.strip_prefix("after ")?.split('|');
        Some(PathInfo {
            uid: parts.next()?.parse().ok()?,
            gid: parts.next()?.parse().ok()?,
            owner: parts.next()?.to_string(),
            group: parts.next()?.to_string(),
            mode: u32::from_str_radix(parts.next()?, 8).ok()?,
            size: parts.next()?.parse().ok()?,
        })
    }
}

/// Puts `content` at `path` in one command, only when it differs: the
/// target compares the old file's SHA-256 with the new content's, and a
/// new file is written beside the old under a scratch name and renamed
/// over it (with `mode`, else the old file's mode). A folder at `path` is
/// left alone: `before` says it is one.
pub fn put(target: &str, request: &Put<'_>) -> Result<Placed, Error> {
    // Each process on the target costs: a new file is made by `cat` and
    // `mv` alone (the umask gives it its mode), a file that is already
    // right costs `stat` and `sha256sum`.
    const SCRIPT: &str = r#"p=$1 m=$2 check=$3 force=$4 old=$5 parents=$6 sum=$7 mask=$8 report=$9
after() { [ "$report" = 1 ] && stat -c 'after %u|%g|%U|%G|%a|%s' -- "$p" >&2; return 0; }
if [ -d "$p" ]; then stat -L -c '%F|%s|%a|%u|%g' -- "$p" && echo folder; exit; fi
if [ -e "$p" ] || [ -h "$p" ]; then
    stat -c '%F|%s|%a|%u|%g' -- "$p" || exit 1
    h=$(sha256sum < "$p") || exit 1
    if [ "${h%% *}" = "$sum" ]; then echo same; after; exit 0; fi
    echo differs
    if [ "$old" = 1 ]; then cat -- "$p" || exit 1; fi
    if [ "$check" = 1 ] || [ "$force" = 0 ]; then after; exit 0; fi
    new=0
else
    echo absent
    echo differs
    if [ "$check" = 1 ]; then exit 0; fi
    case $parents$p in 1?*/*) mkdir -p -- "${p%/*}" || exit 1 ;; esac
    new=1
fi
if [ "$new" = 1 ] && [ -n "$mask" ]; then umask "$mask"; fi
t="$p.capstan-$$"
set -C
if : > "$t" 2>/dev/null; then set +C; else set +C; t=$(mktemp "$p.capstan-XXXXXX") || exit 1; mask=; fi
cat > "$t" || { rm -f -- "$t"; exit 1; }
if [ -n "$m" ] && { [ "$new" = 0 ] || [ -z "$mask" ]; }; then
    chmod "$m" -- "$t"
elif [ "$new" = 0 ]; then
    chmod --reference="$p" -- "$t"
elif [ -z "$mask" ]; then
    chmod 644 -- "$t"
fi || { rm -f -- "$t"; exit 1; }
mv -f -- "$t" "$p" || { rm -f -- "$t"; exit 1; }
echo written >&2
after"#;
    let flag = |on: bool| if on { "1" } else { "0" };
    let mode = request.mode.map(|m| format!("{m:o}")).unwrap_or_default();
    let out = Command::new([
        "sh",
        "-c",
        SCRIPT,
        "capstan-put",
        request.path,
        &mode,
        flag(request.check),
        flag(request.force),
        flag(request.want_old),
        flag(request.make_parents),
        &sha256_hex(request.content),
        &creation_mask(request.mode),
        flag(request.want_after),
    ])
    .stdin(request.content.to_vec())
    .run(target)?;
    let path = request.path;
    if !out.success() {
        return Err(file_error("write", path, out.exit_code, &out.stderr_text()));
    }
    let stderr = out.stderr_text();
    let written = stderr.lines().any(|l| l == "written");
    let mut placed = parse_put(&out.stdout, written)
        .ok_or_else(|| Error::msg(format!("write {path}: unexpected answer from the target")))?;
    placed.after = stderr.lines().find_map(PathInfo::parse);
    Ok(placed)
}

/// The umask that makes a new file with `mode` (0644 when none), when a
/// umask can: `cat` creates files 0666 less the mask, so a mode with
/// execute or special bits needs a `chmod`, and so does one its owner
/// cannot write (the script writes the file after making it, which only
/// root could do then) (empty: no mask).
fn creation_mask(mode: Option<u32>) -> String {
    let mode = mode.unwrap_or(0o644);
    if mode & !0o666 != 0 || mode & 0o200 == 0 {
        return String::new();
    }
    format!("{:03o}", 0o777 & !mode)
}

/// The SHA-256 of `bytes`, in hex, as `sha256sum` prints it.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks `content` with a `validate` command before it replaces `dest`:
/// the content goes to a scratch file beside `dest` (with `mode`), the
/// command runs with `%s` standing for it, and the scratch file goes
/// either way. An error quotes what the command said; a command without
/// `%s` is refused first.
pub fn validate(
    target: &str,
    command: &str,
    dest: &str,
    content: &[u8],
    mode: Option<u32>,
) -> Result<(), Error> {
    if !command.contains("%s") {
        return Err(Error::msg(format!(
            "validate must contain %s (where the new file goes): `{command}`"
        )));
    }
    let (dir, name) = dest.rsplit_once('/').unwrap_or((".", dest));
    let scratch = format!("{dir}/.{name}.capstan-validate");
    super::write_file(target, &scratch, content, mode)?;
    let quoted = format!("'{}'", scratch.replace('\'', r"'\''"));
    let line = command.replace("%s", &quoted);
    let out = Command::new(["sh", "-c", &line]).run(target);
    Command::new(["rm", "-f", "--", &scratch]).run(target)?;
    let out = out?;
    if out.success() {
        return Ok(());
    }
    let said = [out.stderr_text(), out.stdout_text()]
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Err(Error::msg(format!(
        "failed to validate: `{line}` exited with {}: {said}",
        out.exit_code
            .map_or_else(|| "no code (killed)".to_string(), |c| c.to_string())
    )))
}

/// Reads the `put` script's answer: the old file's stat line (or
/// `absent`), `same`, `differs` or `folder`, then the old content when
/// asked.
fn parse_put(stdout: &[u8], written: bool) -> Option<Placed> {
    let (stat_line, rest) = split_line(stdout)?;
    let (verdict, old) = split_line(rest)?;
    let before = match stat_line {
        b"absent" => None,
        line => Some(parse_stat(std::str::from_utf8(line).ok()?)?),
    };
    let content_differs = match verdict {
        b"same" | b"folder" => false,
        b"differs" => true,
        _ => return None,
    };
    Some(Placed {
        content_differs,
        old: (content_differs && before.is_some()).then(|| old.to_vec()),
        before,
        written,
        after: None,
    })
}

/// The file at `path` as Ansible adds it to a result ([`PathInfo`]);
/// `None` when nothing is there.
pub fn path_info(target: &str, path: &str) -> Result<Option<PathInfo>, Error> {
    const SCRIPT: &str = r#"[ -e "$1" ] || exit 3; exec stat -c 'after %u|%g|%U|%G|%a|%s' -- "$1""#;
    let out = Command::new(["sh", "-c", SCRIPT, "capstan-path-info", path]).run(target)?;
    match out.exit_code {
        Some(3) => Ok(None),
        Some(0) => Ok(PathInfo::parse(out.stdout_text().trim())),
        _ => Err(file_error("stat", path, out.exit_code, &out.stderr_text())),
    }
}

/// Reads a regular file in one command: `None` when nothing is at the
/// path; a folder (in Ansible's words, `Path P is a directory !`) or a
/// device is refused by name.
pub fn read_if_present(target: &str, path: &str) -> Result<Option<Vec<u8>>, Error> {
    const SCRIPT: &str = r#"if [ -f "$1" ]; then exec cat -- "$1"; fi
if [ -d "$1" ]; then exit 5; fi
if [ -e "$1" ]; then echo "not a regular file" >&2; exit 4; fi
if [ -h "$1" ]; then echo "a link to nothing" >&2; exit 4; fi
exit 3"#;
    let out = Command::new(["sh", "-c", SCRIPT, "capstan-read", path]).run(target)?;
    match out.exit_code {
        Some(0) => Ok(Some(out.stdout)),
        Some(3) => Ok(None),
        Some(5) => Err(Error::msg(format!("Path {path} is a directory !"))),
        code => Err(file_error("read", path, code, &out.stderr_text())),
    }
}

/// An error naming the operation, the path and the target's last word.
fn file_error(what: &str, path: &str, code: Option<i32>, stderr: &str) -> Error {
    let reason = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && *l != "written")
        .map(str::trim);
    match reason {
        Some(reason) if reason.contains("Permission denied") => {
            Error::msg(format!("{what} {path}: permission denied"))
        }
        Some(reason) => Error::msg(format!("{what} {path}: {reason}")),
        None => Error::msg(format!(
            "{what} {path} failed (exit {})",
            code.map_or_else(|| "by a signal".to_string(), |c| c.to_string())
        )),
    }
}

fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    Some((&bytes[..end], &bytes[end + 1..]))
}

/// Parses GNU stat's `%F|%s|%a|%u|%g`, the line the one-command scripts
/// print to describe a path.
pub fn parse_stat(line: &str) -> Option<FileInfo> {
    let mut parts = line.split('|');
    let kind = match parts.next()? {
        "regular file" | "regular empty file" => FileKind::File,
        "directory" => FileKind::Directory,
        "symbolic link" => FileKind::Symlink,
        _ => FileKind::Other,
    };
    Some(FileInfo {
        kind,
        size: parts.next()?.parse().ok()?,
        mode: u32::from_str_radix(parts.next()?, 8).ok()?,
        uid: parts.next()?.parse().ok()?,
        gid: parts.next()?.parse().ok()?,
        link_target: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_after_is_read_as_ansible_reports_it() {
        let info = PathInfo::parse("after 1000|1001|ann|staff|644|12").unwrap();
        assert_eq!(
            info.fields(),
            serde_json::json!({"uid": 1000, "gid": 1001, "owner": "ann", "group": "staff",
                "mode": "0644", "size": 12, "state": "file"})
        );
        assert_eq!(PathInfo::parse("written"), None);
    }

    #[test]
    fn a_new_file_is_absent_and_differs() {
        let placed = parse_put(b"absent\ndiffers\n", true).unwrap();
        assert!(placed.before.is_none() && placed.content_differs && placed.written);
        assert!(placed.old.is_none());
    }

    #[test]
    fn a_changed_file_brings_its_old_bytes() {
        let placed = parse_put(b"regular file|3|640|0|0\ndiffers\nold\nbytes", false).unwrap();
        let before = placed.before.unwrap();
        assert_eq!(
            (before.kind, before.mode, before.size),
            (FileKind::File, 0o640, 3)
        );
        assert_eq!(placed.old.as_deref(), Some(&b"old\nbytes"[..]));
    }

    #[test]
    fn the_same_file_is_not_rewritten() {
        let placed = parse_put(b"regular file|3|644|0|0\nsame\n", false).unwrap();
        assert!(!placed.content_differs && placed.old.is_none());
    }

    #[test]
    fn a_folder_is_left_alone() {
        let placed = parse_put(b"directory|4096|755|0|0\nfolder\n", false).unwrap();
        assert_eq!(placed.before.unwrap().kind, FileKind::Directory);
        assert!(!placed.content_differs && !placed.written);
    }

    #[test]
    fn modes_a_umask_can_give_get_one() {
        assert_eq!(creation_mask(None), "133");
        assert_eq!(creation_mask(Some(0o640)), "137");
        assert_eq!(creation_mask(Some(0o600)), "177");
        assert_eq!(creation_mask(Some(0o755)), "", "execute bits need chmod");
        assert_eq!(creation_mask(Some(0o4644)), "", "special bits need chmod");
        assert_eq!(
            creation_mask(Some(0o444)),
            "",
            "a file its owner cannot write is written first, then made read-only"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse_put(b"absent\nmaybe\n", false).is_none());
        assert!(parse_put(b"nonsense", false).is_none());
        assert!(parse_stat("regular file|x|644|0|0").is_none());
    }
}
