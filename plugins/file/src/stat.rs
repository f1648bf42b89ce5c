//! Ansible's `stat` module: what is at a path, for `register:` and `when:`,
//! with Ansible's fields (times, inode, owner names, permission bits,
//! access for the connecting user, checksum, MIME type), read by one
//! shell script on the target.

use capstan_plugin_sdk::remote;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

/// Parameters of the `stat` action.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatParams {
    /// Absolute path on the target.
    path: String,
    /// Describe what a symlink points to.
    #[serde(default)]
    follow: bool,
    /// Add the file's checksum (default true).
    get_checksum: Option<bool>,
    /// sha1 (default), md5, sha224, sha256, sha384 or sha512.
    checksum_algorithm: Option<String>,
    /// Add the MIME type and charset, when `file` is on the target
    /// (default true).
    get_mime: Option<bool>,
    /// Add the file's attributes from `lsattr` (default true).
    get_attributes: Option<bool>,
}

/// Prints, one per line: the access, modification and change times (with
/// nanoseconds where the target's `stat` gives them, as GNU's does; whole
/// seconds from busybox's), the other stat fields, then owner and group
/// names, then r/w/x access, the link target, the checksum, MIME and
/// attributes (each line empty when not asked for or not known).
const SCRIPT: &str = r#"p=$1; follow=$2; sum=$3; mime=$4; attrs=$5
if [ "$follow" = 1 ]; then L=-L; else L=; fi
t=$(stat $L -c '%.9X %.9Y %.9Z' -- "$p" 2>/dev/null) || exit 3
case "$t" in
*[!0-9.\ ]*|'') t=$(stat $L -c '%X %Y %Z' -- "$p") || exit 3 ;;
esac
for n in $t; do echo "$n"; done
stat $L -c '%d
%i
%h
%u
%g
%s
%f
%b
%B
%t
%T
%U
%G' -- "$p" 2>/dev/null || exit 3
[ -r "$p" ] && echo 1 || echo 0
[ -w "$p" ] && echo 1 || echo 0
[ -x "$p" ] && echo 1 || echo 0
if [ -h "$p" ]; then readlink -- "$p" || echo; else echo; fi
if [ -n "$sum" ] && [ -f "$p" ] && [ -r "$p" ]; then s=$(${sum}sum -- "$p") && echo "${s%% *}" || echo; else echo; fi
if [ "$mime" = 1 ] && command -v file >/dev/null; then file -b -L --mime -- "$p"; else echo; fi
if [ "$attrs" = 1 ] && a=$(lsattr -d -- "$p" 2>/dev/null); then echo "${a%% *}"; else echo; fi
"#;

/// Describes the path; never changes anything.
pub fn stat(params: StatParams, ctx: &Context) -> Result<Outcome, Error> {
    let path = remote::absolute_path(&ctx.target, params.path)?;
    let path = path.as_str();
    let algorithm = params.checksum_algorithm.as_deref().unwrap_or("sha1");
    if !["sha1", "md5", "sha224", "sha256", "sha384", "sha512"].contains(&algorithm) {
        return Err(Error::msg(format!(
            "checksum_algorithm `{algorithm}` is unknown (sha1, md5, sha224, sha256, sha384, sha512)"
        )));
    }
    let flag = |on: bool| if on { "1" } else { "0" };
    let sum = if params.get_checksum.unwrap_or(true) {
        algorithm
    } else {
        ""
    };
    let out = remote::Command::new([
        "sh",
        "-c",
        SCRIPT,
        "stat",
        path,
        flag(params.follow),
        sum,
        flag(params.get_mime.unwrap_or(true)),
        flag(params.get_attributes.unwrap_or(true)),
    ])
    .run(&ctx.target)?;
    if out.exit_code == Some(3) {
        return Ok(Outcome::ok(format!("{path} does not exist"))
            .with_data(json!({ "stat": { "exists": false, "path": path } })));
    }
    if !out.success() {
        return Err(Error::msg(format!(
            "stat {path} failed: {}",
            out.stderr_text().trim()
        )));
    }
    let text = out.stdout_text();
    let stat = describe(path, &text.lines().collect::<Vec<_>>(), algorithm)
        .ok_or_else(|| Error::msg(format!("stat {path}: unexpected output `{text}`")))?;
    let kind = ["isreg", "isdir", "islnk"]
        .into_iter()
        .zip(["file", "directory", "link"])
        .find(|(field, _)| stat[*field] == Json::Bool(true))
        .map_or("special file", |(_, name)| name);
    let summary = format!(
        "{path} is a {kind}, mode {}",
        stat["mode"].as_str().unwrap_or("?")
    );
    Ok(Outcome::ok(summary).with_data(json!({ "stat": stat })))
}

/// Ansible's stat fields from the script's lines.
fn describe(path: &str, lines: &[&str], algorithm: &str) -> Option<Json> {
    let number = |i: usize| lines.get(i)?.trim().parse::<u64>().ok();
    // Ansible's times are seconds with their fraction.
    let seconds = |i: usize| lines.get(i)?.trim().parse::<f64>().ok();
    let hex = |i: usize| u64::from_str_radix(lines.get(i)?.trim(), 16).ok();
    let text = |i: usize| lines.get(i).map(|l| l.trim()).unwrap_or_default();
    let raw_mode = hex(9)?;
    let file_type = raw_mode & 0o170000;
    let mode = raw_mode & 0o7777;
    let mut stat = Map::new();
    let mut put = |key: &str, value: Json| {
        stat.insert(key.to_string(), value);
    };
    put("exists", json!(true));
    put("path", json!(path));
    put("atime", json!(seconds(0)?));
    put("mtime", json!(seconds(1)?));
    put("ctime", json!(seconds(2)?));
    put("dev", json!(number(3)?));
    put("inode", json!(number(4)?));
    put("nlink", json!(number(5)?));
    put("uid", json!(number(6)?));
    put("gid", json!(number(7)?));
    put("size", json!(number(8)?));
    put("mode", json!(format!("{mode:04o}")));
    put("blocks", json!(number(10)?));
    put("block_size", json!(number(11)?));
    put("device_type", json!((hex(12)? << 8) | hex(13)?));
    put("pw_name", json!(text(14)));
    put("gr_name", json!(text(15)));
    for (key, kind) in [
        ("isreg", 0o100000),
        ("isdir", 0o040000),
        ("islnk", 0o120000),
        ("ischr", 0o020000),
        ("isblk", 0o060000),
        ("isfifo", 0o010000),
        ("issock", 0o140000),
    ] {
        put(key, json!(file_type == kind));
    }
    for (key, bit) in [
        ("isuid", 0o4000),
        ("isgid", 0o2000),
        ("rusr", 0o400),
        ("wusr", 0o200),
        ("xusr", 0o100),
        ("rgrp", 0o040),
        ("wgrp", 0o020),
        ("xgrp", 0o010),
        ("roth", 0o004),
        ("woth", 0o002),
        ("xoth", 0o001),
    ] {
        put(key, json!(mode & bit != 0));
    }
    put("readable", json!(text(16) == "1"));
    put("writeable", json!(text(17) == "1"));
    put("executable", json!(text(18) == "1"));
    if file_type == 0o120000 {
        let target = text(19);
        put("lnk_target", json!(target));
        let source = if target.starts_with('/') {
            target.to_string()
        } else {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            format!("{dir}/{target}")
        };
        put("lnk_source", json!(source));
    }
    if !text(20).is_empty() {
        put("checksum", json!(text(20)));
        put("checksum_algorithm", json!(algorithm));
    }
    let mime = text(21);
    if !mime.is_empty() {
        let (mimetype, charset) = mime.split_once("; charset=").unwrap_or((mime, "unknown"));
        put("mimetype", json!(mimetype));
        put("charset", json!(charset));
    }
    let attributes = text(22);
    if !attributes.is_empty() {
        put("attributes", json!(attributes));
    }
    Some(Json::Object(stat))
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn the_scripts_lines_become_ansibles_fields() {
        let lines = [
            "1700000000.250000000",
            "1700000001",
            "1700000002",
            "2049",
            "42",
            "1",
            "0",
            "0",
            "11",
            "81a4",
            "8",
            "4096",
            "0",
            "0",
            "root",
            "root",
            "1",
            "1",
            "0",
            "",
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed",
            "text/plain; charset=us-ascii",
            "--------------e-------",
        ];
        let stat = describe("/tmp/foo.txt", &lines, "sha1").unwrap();
        assert_eq!(stat["mode"], "0644");
        assert_eq!(stat["isreg"], true);
        assert_eq!(stat["isdir"], false);
        assert_eq!(stat["rusr"], true);
        assert_eq!(stat["xusr"], false);
        assert_eq!(stat["pw_name"], "root");
        assert_eq!(stat["mimetype"], "text/plain");
        assert_eq!(stat["charset"], "us-ascii");
        assert_eq!(stat["inode"], 42);
        assert_eq!(stat["atime"], 1_700_000_000.25);
        assert_eq!(stat["mtime"], 1_700_000_001.0);
        assert_eq!(stat["checksum"], "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed");
    }
}
