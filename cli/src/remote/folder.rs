//! The playbook's folder as an upload: every file under the playbook's
//! own folder (roles, templates, files, vars), hidden folders such as
//! `.git` left out, bounded as the service bounds it.

use std::path::Path;

use base64::Engine;
use capstan_server::upload::{MAX_UPLOAD_BYTES, MAX_UPLOAD_FILES};
use capstan_wire::jobs::UploadedFile;

use crate::exit::BadInput;

/// Folders deeper than this are refused (a symlink loop, say).
const MAX_DEPTH: usize = 32;

/// The files of `playbook`'s folder, and the playbook's path among them.
pub fn collect(playbook: &Path) -> anyhow::Result<(String, Vec<UploadedFile>)> {
    if !playbook.is_file() {
        return Err(BadInput(format!("{}: no such playbook file", playbook.display())).into());
    }
    let folder = match playbook.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = playbook
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| BadInput(format!("{}: the name is not UTF-8", playbook.display())))?
        .to_string();
    let mut files = Vec::new();
    let mut total = 0usize;
    walk(&folder, "", 0, &mut files, &mut total)?;
    Ok((name, files))
}

fn walk(
    dir: &Path,
    prefix: &str,
    depth: usize,
    files: &mut Vec<UploadedFile>,
    total: &mut usize,
) -> anyhow::Result<()> {
    if depth > MAX_DEPTH {
        return Err(BadInput(format!(
            "{}: folders nest deeper than {MAX_DEPTH} (a symlink loop?)",
            dir.display()
        ))
        .into());
    }
    let read = |e: std::io::Error| BadInput(format!("{}: {e}", dir.display()));
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read)?
        .collect::<Result<_, _>>()
        .map_err(read)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(BadInput(format!("{}: the name is not UTF-8", path.display())).into());
        };
        let relative = format!("{prefix}{name}");
        // Follows symlinks, as the playbook would when it runs here.
        let meta =
            std::fs::metadata(&path).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
        if meta.is_dir() {
            if !name.starts_with('.') {
                walk(&path, &format!("{relative}/"), depth + 1, files, total)?;
            }
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        let bytes =
            std::fs::read(&path).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
        *total += bytes.len();
        if *total > MAX_UPLOAD_BYTES || files.len() >= MAX_UPLOAD_FILES {
            return Err(BadInput(format!(
                "the playbook's folder holds more than {} MiB or {MAX_UPLOAD_FILES} files \
                 (at {}): run a playbook from a folder of its own",
                MAX_UPLOAD_BYTES >> 20,
                path.display()
            ))
            .into());
        }
        files.push(UploadedFile {
            path: relative,
            content_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
            executable: is_executable(&meta),
        });
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}
