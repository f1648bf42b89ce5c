//! A controller folder as `copy`'s `files`: every folder, file and (with
//! `local_follow: false`) link under it, in walking order, so the plugin
//! makes each folder before what it holds. With `local_follow` (Ansible's
//! default) a link is copied as what it points to; without it, every
//! link is copied as a link, pointing where it points here, as are a link
//! to nothing and a link back to a folder on the way (`up -> ..`, which
//! followed would never end) either way.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::task_error::TaskError;

/// The most a folder `copy` sends in one task.
pub(crate) const MAX_FOLDER_BYTES: u64 = 64 << 20;

/// One thing found under the folder, by its path under it.
enum Entry {
    Folder(String),
    File(String, PathBuf),
    Link(String, String),
}

/// What a folder copy sends (see the module's doc), each path under
/// `under`; `describe` gives a file's fields as copy takes them (its
/// content, and its mode when it keeps it).
pub(crate) fn folder_files(
    folder: &Path,
    under: &str,
    follow: bool,
    describe: impl Fn(&Path) -> Result<Map<String, Json>, TaskError>,
) -> Result<Json, TaskError> {
    let mut found = Vec::new();
    if let Some(top) = under.strip_suffix('/').filter(|top| !top.is_empty()) {
        found.push(Entry::Folder(top.to_string()));
    }
    walk(folder, under, follow, &mut Vec::new(), &mut found)?;
    let total: u64 = found
        .iter()
        .map(|entry| match entry {
            Entry::File(_, path) => path.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum();
    if total > MAX_FOLDER_BYTES {
        return Err(TaskError::LocalFile(format!(
            "{} holds {total} bytes, more than copy sends in one task ({MAX_FOLDER_BYTES}); \
             use synchronize-like tools (rsync) for folders this big",
            folder.display()
        )));
    }
    let mut files = Vec::new();
    for entry in found {
        let mut file = Map::new();
        match entry {
            Entry::Folder(relative) => {
                file.insert("path".into(), Json::String(relative));
                file.insert("folder".into(), Json::Bool(true));
            }
            Entry::File(relative, path) => {
                file.insert("path".into(), Json::String(relative));
                file.extend(describe(&path)?);
            }
            Entry::Link(relative, to) => {
                file.insert("path".into(), Json::String(relative));
                file.insert("link".into(), Json::String(to));
            }
        }
        files.push(Json::Object(file));
    }
    Ok(Json::Array(files))
}

/// The entries under `dir`, sorted, files before folders, each with its
/// path under `prefix`.
fn walk(
    dir: &Path,
    prefix: &str,
    follow: bool,
    on_the_way: &mut Vec<PathBuf>,
    out: &mut Vec<Entry>,
) -> Result<(), TaskError> {
    let real = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    if on_the_way.contains(&real) {
        return Ok(());
    }
    on_the_way.push(real);
    // A folder's own files first, then its folders, as Ansible walks them
    // (the first file it cannot read is the one it names): whether each
    // is a folder to walk is looked up once, not at every comparison.
    let mut entries: Vec<(bool, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| TaskError::LocalFile(format!("cannot list {}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .map(|path| (path.is_dir() && (follow || !path.is_symlink()), path))
        .collect();
    entries.sort();
    for (_, path) in entries {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let relative = format!("{prefix}{name}");
        // A link to nothing stays a link even when links are followed.
        if path.is_symlink() && (!follow || !path.exists()) {
            let to = std::fs::read_link(&path).map_err(|e| {
                TaskError::LocalFile(format!("cannot read the link {}: {e}", path.display()))
            })?;
            out.push(Entry::Link(relative, to.to_string_lossy().into_owned()));
        } else if path.is_dir() {
            let inside = path
                .canonicalize()
                .is_ok_and(|real| on_the_way.contains(&real));
            if !inside {
                out.push(Entry::Folder(relative.clone()));
                walk(&path, &format!("{relative}/"), follow, on_the_way, out)?;
            } else if let Ok(to) = std::fs::read_link(&path) {
                // A circle: kept as the link it is, as Ansible keeps it.
                out.push(Entry::Link(relative, to.to_string_lossy().into_owned()));
            }
        } else if path.is_file() {
            out.push(Entry::File(relative, path));
        }
    }
    on_the_way.pop();
    Ok(())
}
