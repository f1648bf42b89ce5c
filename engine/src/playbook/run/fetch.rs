//! The controller's half of Ansible's `fetch`: where the file the copy
//! plugin read on the host goes on this machine (`DEST/HOST/PATH`, or
//! `dest` itself with `flat`), written only when its SHA-1 differs, never
//! into Capstan's own folders.

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::results::ItemResult;
use crate::jobs::ResultStatus;
use crate::playbook::context::RunContext;
use crate::playbook::task_error::TaskError;

/// What the controller does with a fetched file, taken out of the task's
/// parameters before the plugin sees them.
pub(super) struct Fetching {
    dest: String,
    flat: bool,
}

impl Fetching {
    /// Takes `dest`, `flat` and `validate_checksum` out of `params`.
    pub fn take(params: &mut Json) -> Result<Fetching, TaskError> {
        let Json::Object(map) = params else {
            return Err(TaskError::Args("fetch: src and dest are required".into()));
        };
        let truthy =
            |v: Option<Json>| v.is_some_and(|v| crate::playbook::template::truthy_json(&v));
        let dest = match map.remove("dest") {
            Some(Json::String(dest)) if !dest.is_empty() => dest,
            Some(_) => {
                return Err(TaskError::Args(
                    "Invalid type supplied for dest option, it must be a string".into(),
                ));
            }
            None => return Err(TaskError::Args("src and dest are required".into())),
        };
        let flat = truthy(map.remove("flat"));
        // The bytes are checked as they arrive: there is nothing to skip.
        map.remove("validate_checksum");
        Ok(Fetching { dest, flat })
    }

    /// Keeps the file a successful read brought (its bytes never reach
    /// the stored result) and says where, as Ansible's result does.
    pub async fn keep(self, ctx: &RunContext, host: &str, mut item: ItemResult) -> ItemResult {
        let Some(Json::String(encoded)) = item.result.remove("content_base64") else {
            return item;
        };
        let Some(bytes) = capstan_wire::base64::decode(&encoded) else {
            return ItemResult::failed("fetch: the file arrived garbled".into());
        };
        let src = item
            .result
            .get("file")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let dest = match self.dest_of(ctx, host, &src) {
            Ok(dest) => dest,
            Err(message) => return ItemResult::failed(message),
        };
        let remote_checksum = sha1_hex(&bytes);
        let shown = dest.display().to_string();
        let local = std::fs::read(&dest).ok();
        let changed = local.as_deref().map(sha1_hex).as_deref() != Some(remote_checksum.as_str());
        if changed {
            let written = async {
                // Refused inside Capstan's own folders before anything is made.
                ctx.controller
                    .stat(&shown)
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("{}: {e}", parent.display()))?;
                }
                ctx.controller
                    .write_file(&shown, &bytes, None)
                    .await
                    .map_err(|e| e.to_string())
            };
            if let Err(why) = written.await {
                return ItemResult::failed(format!("Failed to fetch the file: {why}"));
            }
        }
        let mut result = Map::new();
        result.insert("changed".into(), Json::Bool(changed));
        result.insert("failed".into(), Json::Bool(false));
        result.insert("file".into(), Json::String(src.clone()));
        result.insert("dest".into(), Json::String(shown.clone()));
        result.insert("checksum".into(), Json::String(remote_checksum.clone()));
        result.insert("remote_checksum".into(), Json::String(remote_checksum));
        item.status = if changed {
            ResultStatus::Changed
        } else {
            ResultStatus::Ok
        };
        item.summary = format!("{src} -> {shown}");
        item.result = result;
        item
    }

    /// Where the file goes: `DEST/HOST/SRC` (or with `flat`, `dest`, or
    /// `dest/NAME` for a `dest` ending in `/`), relative to the playbook's
    /// folder, and never outside `dest` (`..` in `src`).
    fn dest_of(&self, ctx: &RunContext, host: &str, src: &str) -> Result<PathBuf, String> {
        let base = ctx.dir.join(&self.dest);
        let wanted = if self.flat {
            if self.dest.ends_with('/') {
                let name = Path::new(src).file_name().unwrap_or_default();
                let into = base.join(name);
                if into.is_dir() {
                    return Err(format!(
                        "calculated dest '{}' is an existing directory, use another path that \
                         does not point to an existing directory",
                        into.display()
                    ));
                }
                into
            } else if base.is_dir() {
                return Err(
                    "dest is an existing directory, use a trailing slash if you want to \
                            fetch src into that directory"
                        .into(),
                );
            } else {
                base.clone()
            }
        } else {
            base.join(host).join(src.trim_start_matches('/'))
        };
        let normal = normalize(&wanted);
        if !normal.starts_with(normalize(&base)) {
            return Err(format!(
                "Detected directory traversal, expected to be contained in '{}' but got '{}'",
                self.dest,
                normal.display()
            ));
        }
        Ok(normal)
    }
}

/// `path` with `.` and `..` worked out by name (as Python's normpath).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The SHA-1 of `bytes` in hex, as Ansible's checksums are.
fn sha1_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes);
    crate::hex::encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::path::Path;

    #[test]
    fn paths_are_normalized_by_name() {
        assert_eq!(normalize(Path::new("/a/b/../c/./d")), Path::new("/a/c/d"));
        assert_eq!(normalize(Path::new("/a/../../x")), Path::new("/x"));
    }
}
