//! File operations built on running commands (`cat`, `mktemp` + `mv`,
//! `stat`): how files are handled over SSH, and locally under `become`.

use std::future::Future;

use super::{ExecOutput, ExecRequest, FileInfo, FileKind, RemoteError};

/// Something that runs commands.
pub trait ExecPort: Sync {
    /// Runs one command, collecting at most `max_output` bytes per stream.
    fn run(
        &self,
        request: &ExecRequest,
        max_output: u64,
    ) -> impl Future<Output = Result<ExecOutput, RemoteError>> + Send;
}

/// An argv request with no stdin, env or cwd.
pub fn argv(words: &[&str]) -> ExecRequest {
    ExecRequest {
        argv: words.iter().map(|w| w.to_string()).collect(),
        ..Default::default()
    }
}

/// The command that prints a regular file with `cat`; a device or FIFO is
/// refused (exit 3, "not a regular file") before anything is read.
pub fn read_command(path: &str) -> ExecRequest {
    const SCRIPT: &str = r#"if [ -e "$1" ] && [ ! -f "$1" ]; then echo "not a regular file" >&2; exit 3; fi
exec cat -- "$1""#;
    argv(&["sh", "-c", SCRIPT, "capstan-read", path])
}

/// Reads a regular file with [`read_command`], stopped once it passes
/// `max_size`.
pub async fn read_file(
    port: &impl ExecPort,
    path: &str,
    max_size: u64,
) -> Result<Vec<u8>, RemoteError> {
    let out = port.run(&read_command(path), max_size).await?;
    match out.exit_code {
        Some(0) => Ok(out.stdout),
        _ => Err(file_error("read", path, &out)),
    }
}

/// Writes through a temporary file beside the target and a rename, keeping
/// the old mode unless `mode` is given.
pub async fn write_file(
    port: &impl ExecPort,
    path: &str,
    contents: &[u8],
    mode: Option<u32>,
) -> Result<(), RemoteError> {
    const SCRIPT: &str = r#"set -e
t=$(mktemp "$1.capstan-XXXXXX")
trap 'rm -f "$t"' EXIT
cat > "$t"
if [ -n "$2" ]; then chmod "$2" "$t"; elif [ -e "$1" ]; then chmod --reference="$1" "$t"; else chmod 644 "$t"; fi
mv -f "$t" "$1"
trap - EXIT"#;
    let mode = mode.map(|m| format!("{m:o}")).unwrap_or_default();
    let mut request = argv(&["sh", "-c", SCRIPT, "capstan-write", path, &mode]);
    request.stdin = Some(contents.to_vec());
    let out = port.run(&request, 64 << 10).await?;
    match out.exit_code {
        Some(0) => Ok(()),
        _ => Err(file_error("write", path, &out)),
    }
}

/// Describes a path with GNU `stat` (and `readlink` for symlinks).
pub async fn stat(port: &impl ExecPort, path: &str) -> Result<Option<FileInfo>, RemoteError> {
    let out = port
        .run(
            &argv(&["stat", "-c", "%F|%s|%a|%u|%g", "--", path]),
            64 << 10,
        )
        .await?;
    if out.exit_code != Some(0) {
        if String::from_utf8_lossy(&out.stderr).contains("No such file") {
            return Ok(None);
        }
        return Err(file_error("stat", path, &out));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let info = parse_stat(text.trim()).ok_or_else(|| {
        RemoteError::Failed(format!("stat {path}: unexpected output `{}`", text.trim()))
    })?;
    let link_target = if info.kind == FileKind::Symlink {
        let out = port.run(&argv(&["readlink", "--", path]), 64 << 10).await?;
        Some(
            String::from_utf8_lossy(&out.stdout)
                .trim_end_matches('\n')
                .to_string(),
        )
    } else {
        None
    };
    Ok(Some(FileInfo {
        link_target,
        ..info
    }))
}

fn file_error(what: &str, path: &str, out: &ExecOutput) -> RemoteError {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reason = stderr.lines().last().unwrap_or("failed").trim();
    if reason.contains("No such file") {
        RemoteError::Unavailable(format!("{what} {path}: no such file or folder"))
    } else if reason.contains("Permission denied") {
        RemoteError::Failed(format!("{what} {path}: permission denied"))
    } else {
        RemoteError::Failed(format!("{what} {path}: {reason}"))
    }
}

/// Parses `%F|%s|%a|%u|%g`.
fn parse_stat(line: &str) -> Option<FileInfo> {
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
    fn stat_lines_parse() {
        let info = parse_stat("regular file|12|644|0|0").unwrap();
        assert_eq!(
            (info.kind, info.size, info.mode),
            (FileKind::File, 12, 0o644)
        );
        assert_eq!(
            parse_stat("directory|4096|2755|1000|1000").unwrap().mode,
            0o2755
        );
        assert!(parse_stat("garbage").is_none());
    }
}
