//! Ansible's `get_url`: downloads a URL on the host into a scratch file
//! beside `dest` and moves it into place only when its SHA-1 differs from
//! the file there (a `checksum` that already matches skips the download;
//! without `force`, an existing file is asked for with If-Modified-Since).

use std::collections::BTreeMap;

use capstan_plugin_sdk::mode::Mode;
use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;
use serde_json::json;

use crate::curl::{self, Request};

/// Parameters of the `get` action (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetParams {
    /// What to download (http, https, ftp or file).
    url: String,
    /// The file to write, or a folder (the name then comes from the
    /// answer's Content-Disposition, else the URL).
    dest: String,
    /// `ALGORITHM:HEX` (`sha256:...`): the download must match it, and a
    /// file that already does is not downloaded again.
    #[serde(default)]
    checksum: String,
    /// Download even when `dest` exists.
    #[serde(default)]
    force: bool,
    /// Request headers.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Basic authentication's user.
    url_username: Option<String>,
    /// Basic authentication's password.
    url_password: Option<String>,
    /// Send the credentials with the first request.
    #[serde(default)]
    force_basic_auth: bool,
    /// Check the server's certificate (default true).
    validate_certs: Option<bool>,
    /// Seconds the whole request may take (default 10).
    timeout: Option<u64>,
    /// Keep a copy of the file it replaces.
    #[serde(default)]
    backup: bool,
    /// Use the host's proxy settings (default true).
    use_proxy: Option<bool>,
    /// The User-Agent header.
    http_agent: Option<String>,
    /// The file's permissions.
    mode: Option<Mode>,
    /// The file's owner.
    owner: Option<String>,
    /// The file's group.
    group: Option<String>,
}

/// Downloads into a scratch file beside the destination and prints what
/// the decision needs, one item a line: `have` (the checksum already
/// matches), or `got`, the HTTP code and size, the URL reached, the
/// scratch file, whether `dest` is a folder or a file, the scratch's SHA-1, the destination's (`-`: none), its digest
/// for `checksum` and the Content-Disposition file name; then the
/// answer's headers. `curl N` when curl failed. The config is stdin.
const DOWNLOAD: &str = r#"dest=$1 algo=$2 want=$3 force=$4
command -v curl >/dev/null 2>&1 || exit 127
if [ -d "$dest" ]; then dir=$dest; else
    case $dest in */*) dir=${dest%/*}; dir=${dir:-/} ;; *) dir=. ;; esac
fi
[ -d "$dir" ] || { echo "Destination $dir does not exist" >&2; exit 5; }
if [ -f "$dest" ] && [ -n "$want" ] && [ "$force" = 0 ]; then
    have=$("${algo}sum" < "$dest") || exit 1
    if [ "${have%% *}" = "$want" ]; then echo have; exit 0; fi
    force=1
fi
t=$(mktemp "$dir/.capstan-get_url.XXXXXX") || { echo "Destination $dir is not writable" >&2; exit 6; }
h=$(mktemp) || { rm -f -- "$t"; exit 6; }
if [ -f "$dest" ] && [ "$force" = 0 ]; then
    w=$(curl -K - -o "$t" -D "$h" -w '%{http_code} %{size_download}\n%{url_effective}' -z "$dest"); rc=$?
else
    w=$(curl -K - -o "$t" -D "$h" -w '%{http_code} %{size_download}\n%{url_effective}'); rc=$?
fi
if [ "$rc" != 0 ]; then rm -f -- "$t" "$h"; echo "curl $rc"; exit 0; fi
echo got; printf '%s\n' "$w"; echo "$t"; [ -d "$dest" ] && echo folder || echo file
s=$(sha1sum < "$t"); echo "${s%% *}"
if [ -f "$dest" ]; then s=$(sha1sum < "$dest"); echo "${s%% *}"; else echo -; fi
if [ -n "$algo" ]; then s=$("${algo}sum" < "$t"); echo "${s%% *}"; else echo -; fi
sed -n 's/^[Cc]ontent-[Dd]isposition:.*filename="\{0,1\}\([^";]*\).*/\1/p' "$h" | tr -d '\r' | tail -n 1
echo
cat -- "$h"; rm -f -- "$h""#;

/// Moves the scratch file into place (or drops it), backing the old file
/// up first when asked; gives the file its mode, owner and group; prints
/// its `stat` before and after those, and the backup's name.
const FINISH: &str = r#"t=$1 dest=$2 move=$3 backup=$4 mode=$5 owner=$6 group=$7
if [ "$move" = 1 ]; then
    if [ -e "$dest" ]; then
        chmod --reference="$dest" -- "$t" && chown --reference="$dest" -- "$t" 2>/dev/null
        if [ "$backup" = 1 ]; then
            b="$dest.$(date +%Y-%m-%d@%H:%M:%S)~"; cp -p -- "$dest" "$b" || exit 1; echo "backup $b"
        fi
    else
        chmod "$(printf '%o' $((0666 & ~$(umask))))" -- "$t"
    fi
    mv -f -- "$t" "$dest" || { rm -f -- "$t"; exit 1; }
else
    rm -f -- "$t"
fi
echo "before $(stat -c '%a %U %G' -- "$dest")"
[ -z "$mode" ] || chmod "$mode" -- "$dest" || exit 1
[ -z "$owner" ] || chown -- "$owner" "$dest" || exit 1
[ -z "$group" ] || chgrp -- "$group" "$dest" || exit 1
echo "after $(stat -c '%a %U %G' -- "$dest")""#;

/// Digest programs the host has, by Ansible's algorithm names.
const ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// What the download script answered.
struct Download {
    code: u16,
    size: u64,
    url: String,
    scratch: String,
    into_folder: bool,
    sha1: String,
    dest_sha1: Option<String>,
    digest: Option<String>,
    disposition: String,
    headers: String,
}

impl Download {
    fn read(text: &str) -> Option<Download> {
        let (top, headers) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = top.lines();
        let (code, size) = lines.next()?.split_once(' ')?;
        let optional = |s: &str| (s != "-").then(|| s.to_string());
        Some(Download {
            code: code.parse().ok()?,
            size: size.parse().unwrap_or(0),
            url: lines.next()?.to_string(),
            scratch: lines.next()?.to_string(),
            into_folder: lines.next()? == "folder",
            sha1: lines.next()?.to_string(),
            dest_sha1: optional(lines.next()?),
            digest: optional(lines.next()?),
            disposition: lines.next().unwrap_or_default().trim().to_string(),
            headers: headers.to_string(),
        })
    }
}

/// `ALGORITHM:HEX` split and checked (the hex lower-cased, as Ansible).
fn checksum(text: &str) -> Result<Option<(String, String)>, Error> {
    if text.is_empty() {
        return Ok(None);
    }
    let (algorithm, hex) = text.split_once(':').ok_or_else(|| {
        Error::msg("The checksum parameter has to be in format <algorithm>:<checksum>")
    })?;
    let algorithm = algorithm.trim().to_ascii_lowercase();
    if !ALGORITHMS.contains(&algorithm.as_str()) {
        return Err(Error::msg(format!(
            "checksum algorithm `{algorithm}` is not one of {}",
            ALGORITHMS.join(", ")
        )));
    }
    if hex.starts_with("http://") || hex.starts_with("https://") {
        return Err(Error::msg(
            "a checksum read from a URL is not supported yet: give ALGORITHM:HEX",
        ));
    }
    let hex: String = hex
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::msg("The checksum format is invalid"));
    }
    Ok(Some((algorithm, hex)))
}

/// The name a download takes in a folder: the URL path's last part.
fn url_filename(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let after_host = path.split_once("://").map_or(path, |(_, rest)| rest);
    let name = after_host
        .split_once('/')
        .map_or("", |(_, p)| p)
        .rsplit('/')
        .next()
        .unwrap_or("");
    if name.is_empty() {
        "index.html".into()
    } else {
        name.into()
    }
}

/// Downloads the file into place.
pub fn get_url(p: GetParams, ctx: &Context) -> Result<Outcome, Error> {
    let request = Request {
        url: &p.url,
        method: None,
        headers: &p.headers,
        username: p.url_username.as_deref(),
        password: p.url_password.as_deref(),
        basic_auth_first: p.force_basic_auth,
        validate_certs: p.validate_certs.unwrap_or(true),
        timeout: p.timeout.unwrap_or(10),
        follow_redirects: true,
        use_proxy: p.use_proxy.unwrap_or(true),
        agent: p.http_agent.as_deref(),
        body: None,
    };
    request.checked()?;
    let mode = match &p.mode {
        None => String::new(),
        Some(mode) => match mode.octal()? {
            Some(bits) => format!("{bits:o}"),
            None => mode.text(),
        },
    };
    let sum = checksum(&p.checksum)?;
    let (algorithm, wanted) = sum.clone().unzip();
    let out = Command::new([
        "sh",
        "-c",
        DOWNLOAD,
        "capstan-get_url",
        &p.dest,
        algorithm.as_deref().unwrap_or_default(),
        wanted.as_deref().unwrap_or_default(),
        if p.force { "1" } else { "0" },
    ])
    .stdin(request.config().into_bytes())
    .run(&ctx.target)?;
    let text = out.stdout_text();
    match out.exit_code {
        Some(0) => {}
        // The destination's folder is missing or cannot be written.
        Some(5 | 6) => return Err(Error::msg(out.stderr_text().trim().to_string())),
        Some(code) => return Err(curl::failed(code, &out.stderr_text(), &p.url)),
        None => return Err(Error::msg("the download was stopped by a signal")),
    }
    let mut data = json!({"url": p.url, "dest": p.dest, "changed": false});
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    if first == "have" {
        return kept(ctx, &p, &mode, data, "file already exists");
    }
    if let Some(code) = first.strip_prefix("curl ") {
        return Err(curl::failed(
            code.parse().unwrap_or(-1),
            &out.stderr_text(),
            &p.url,
        ));
    }
    let got = Download::read(rest)
        .ok_or_else(|| Error::msg("get_url: the host's answer could not be read"))?;
    let (status_line, _) = curl::last_headers(&got.headers);
    data["status_code"] = json!(got.code);
    data["checksum_src"] = json!(got.sha1);
    data["checksum_dest"] = json!(got.dest_sha1);
    let drop_scratch = || {
        let _ = Command::new(["rm", "-f", "--", &got.scratch]).run(&ctx.target);
    };
    if got.code == 304 {
        drop_scratch();
        data["msg"] = json!("Not Modified");
        return kept(ctx, &p, &mode, data, "Not Modified");
    }
    let http = got.url.starts_with("http");
    if http && !(200..300).contains(&got.code) {
        drop_scratch();
        return Err(Error::msg(format!(
            "Request failed: {} ({})",
            curl::message(got.code, &status_line, got.size),
            p.url
        )));
    }
    let dest = if got.into_folder {
        let name = if got.disposition.is_empty() {
            url_filename(&got.url)
        } else {
            got.disposition.clone()
        };
        // A name the server gives is a file name, never a path.
        let name = name.rsplit('/').next().unwrap_or(&name).to_string();
        if name.is_empty() || name == "." || name == ".." {
            drop_scratch();
            return Err(Error::msg(format!(
                "no file name for the download in folder {}",
                p.dest
            )));
        }
        format!("{}/{name}", p.dest.trim_end_matches('/'))
    } else {
        p.dest.clone()
    };
    data["dest"] = json!(dest);
    if let (Some((_, wanted)), Some(digest)) = (&sum, &got.digest)
        && wanted != digest
    {
        drop_scratch();
        return Err(Error::msg(format!(
            "The checksum for {} did not match {wanted}; it was {digest}.",
            got.scratch
        )));
    }
    let dest_sha1 = if dest == p.dest {
        got.dest_sha1.clone()
    } else {
        sha1_of(ctx, &dest)?
    };
    data["checksum_dest"] = json!(dest_sha1);
    let differs = dest_sha1.as_deref() != Some(got.sha1.as_str());
    let msg = curl::message(got.code, &status_line, got.size);
    if ctx.check {
        drop_scratch();
        data["changed"] = json!(differs);
        let outcome = if differs {
            Outcome::changed(format!("{dest}: would download"))
        } else {
            Outcome::ok(format!("{dest}: as asked"))
        };
        return Ok(outcome.with_data(data));
    }
    finish(
        ctx,
        &p,
        &mode,
        Some(&got.scratch),
        &dest,
        differs,
        data,
        &msg,
    )
}

fn sha1_of(ctx: &Context, path: &str) -> Result<Option<String>, Error> {
    let out = Command::new(["sha1sum", "--", path]).run(&ctx.target)?;
    Ok(out.success().then(|| {
        out.stdout_text()
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    }))
}

/// The file was not downloaded again: only its attributes are set.
fn kept(
    ctx: &Context,
    p: &GetParams,
    mode: &str,
    data: serde_json::Value,
    msg: &str,
) -> Result<Outcome, Error> {
    finish(ctx, p, mode, None, &p.dest, false, data, msg)
}

/// Puts the download in place (or drops it) and sets the attributes;
/// changed when either changed something.
#[allow(clippy::too_many_arguments)]
fn finish(
    ctx: &Context,
    p: &GetParams,
    mode: &str,
    scratch: Option<&str>,
    dest: &str,
    moved: bool,
    mut data: serde_json::Value,
    msg: &str,
) -> Result<Outcome, Error> {
    let attributes = !mode.is_empty() || p.owner.is_some() || p.group.is_some();
    if scratch.is_none() && (!attributes || ctx.check) {
        data["msg"] = json!(msg);
        return Ok(Outcome::ok(format!("{dest}: {msg}")).with_data(data));
    }
    let out = Command::new([
        "sh",
        "-c",
        FINISH,
        "capstan-get_url",
        scratch.unwrap_or_default(),
        dest,
        if moved { "1" } else { "0" },
        if p.backup { "1" } else { "0" },
        mode,
        p.owner.as_deref().unwrap_or_default(),
        p.group.as_deref().unwrap_or_default(),
    ])
    .run(&ctx.target)?;
    if !out.success() {
        return Err(Error::msg(format!(
            "failed to copy the download to {dest}: {}",
            out.stderr_text().trim()
        )));
    }
    let text = out.stdout_text();
    let line = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
    };
    if let Some(backup) = line("backup ") {
        data["backup_file"] = json!(backup);
    }
    let changed = moved || line("before ") != line("after ");
    data["changed"] = json!(changed);
    data["msg"] = json!(msg);
    let summary = format!("{dest}: {msg}");
    Ok(if changed {
        Outcome::changed(summary)
    } else {
        Outcome::ok(summary)
    }
    .with_data(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_algorithm_and_hex() {
        assert_eq!(
            checksum("SHA256: AB:cd").unwrap(),
            Some(("sha256".into(), "abcd".into()))
        );
        assert!(
            checksum("abcd")
                .unwrap_err()
                .to_string()
                .contains("<algorithm>:<checksum>")
        );
        assert!(
            checksum("sha256:xyz")
                .unwrap_err()
                .to_string()
                .contains("invalid")
        );
        assert!(checksum("crc32:00").is_err());
        assert_eq!(checksum("").unwrap(), None);
    }

    #[test]
    fn a_folder_download_is_named_after_the_url() {
        assert_eq!(url_filename("https://h.test/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_filename("https://h.test/"), "index.html");
        assert_eq!(url_filename("https://h.test"), "index.html");
    }

    #[test]
    fn the_download_answer_is_read_line_by_line() {
        let text = "200 12\nhttp://h/f\n/d/.capstan-get_url.x\nfile\naaa\n-\nbbb\nf.txt\n\nHTTP/1.1 200 OK\r\n";
        let got = Download::read(text).unwrap();
        assert_eq!((got.code, got.size), (200, 12));
        assert_eq!(got.dest_sha1, None);
        assert_eq!(got.digest.as_deref(), Some("bbb"));
        assert_eq!(got.disposition, "f.txt");
        assert!(got.headers.starts_with("HTTP/1.1 200"));
    }
}
