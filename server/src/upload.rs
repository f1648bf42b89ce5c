//! An uploaded playbook folder, written to a fresh folder of the service's
//! own before it runs. Every path is checked: relative, no `..`, no
//! drive or root, and the folder is bounded in files and bytes, so an
//! upload can only ever write inside its own folder.

use std::path::{Component, Path, PathBuf};

use base64::Engine;
use capstan_wire::jobs::PlaybookUpload;

/// Most bytes an upload's files may hold, decoded.
pub const MAX_UPLOAD_BYTES: usize = 16 << 20;

/// Most files an upload may hold.
pub const MAX_UPLOAD_FILES: usize = 5_000;

/// Largest request body for an upload: its files in base64 and the rest.
pub const UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD_BYTES / 3 * 4 + (4 << 20);

/// Longest path of one file.
const MAX_PATH_CHARS: usize = 1_024;

/// What is wrong with an upload: the field at fault and why.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct UploadError {
    /// The field (`files[3].path`, say).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> UploadError {
    UploadError {
        field: field.into(),
        message: message.into(),
    }
}

/// Writes the upload's files under `into` (which exists and is empty) and
/// returns where its playbook now is.
pub fn unpack(upload: &PlaybookUpload, into: &Path) -> Result<PathBuf, UploadError> {
    if upload.files.len() > MAX_UPLOAD_FILES {
        return Err(refuse(
            "files",
            format!(
                "{} files: an upload holds at most {MAX_UPLOAD_FILES}",
                upload.files.len()
            ),
        ));
    }
    let playbook = checked_path(&upload.playbook).map_err(|m| refuse("playbook", m))?;
    let mut total = 0usize;
    let mut found = false;
    for (i, file) in upload.files.iter().enumerate() {
        let field = format!("files[{i}]");
        let relative = checked_path(&file.path).map_err(|m| refuse(format!("{field}.path"), m))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&file.content_base64)
            .map_err(|e| {
                refuse(
                    format!("{field}.content_base64"),
                    format!("{}: not base64: {e}", file.path),
                )
            })?;
        total += bytes.len();
        if total > MAX_UPLOAD_BYTES {
            return Err(refuse(
                "files",
                format!(
                    "the files hold more than {} MiB: upload a smaller folder",
                    MAX_UPLOAD_BYTES >> 20
                ),
            ));
        }
        found |= relative == playbook;
        let target = into.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| refuse(format!("{field}.path"), format!("{}: {e}", file.path)))?;
        }
        write_new(&target, &bytes, file.executable).map_err(|e| {
            refuse(
                format!("{field}.path"),
                format!("{}: cannot be written: {e}", file.path),
            )
        })?;
    }
    if !found {
        return Err(refuse(
            "playbook",
            format!("{} is not one of the uploaded files", upload.playbook),
        ));
    }
    Ok(into.join(playbook))
}

/// The path as relative parts, or why it may not be used.
fn checked_path(path: &str) -> Result<PathBuf, String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.chars().count() > MAX_PATH_CHARS {
        return Err(format!("longer than {MAX_PATH_CHARS} characters"));
    }
    if path.contains('\0') || path.contains('\\') {
        return Err(format!(
            "{path:?}: paths use `/` and hold no NUL or backslash"
        ));
    }
    let mut clean = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(format!("{path}: `..` is not allowed")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("{path}: must be relative to the playbook's folder"));
            }
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(format!("{path}: names no file"));
    }
    Ok(clean)
}

/// Creates a file that must not exist yet (a path given twice, or through
/// a file named like a folder, is refused), owner-only.
fn write_new(path: &Path, bytes: &[u8], executable: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, if executable { 0o700 } else { 0o600 });
    #[cfg(not(unix))]
    let _ = executable;
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_wire::jobs::UploadedFile;

    fn upload(playbook: &str, files: &[(&str, &[u8])]) -> PlaybookUpload {
        PlaybookUpload {
            playbook: playbook.into(),
            files: files
                .iter()
                .map(|(path, bytes)| UploadedFile {
                    path: path.to_string(),
                    content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
                    executable: false,
                })
                .collect(),
            limit: None,
            tags: Vec::new(),
            skip_tags: Vec::new(),
            extra_vars: Default::default(),
            secret_vars: Vec::new(),
            stored_secrets: Vec::new(),
            check: false,
            diff: false,
            trust_new_hosts: false,
            become_password_secret: None,
        }
    }

    #[test]
    fn a_folder_lands_inside_its_own_folder() {
        let dir = tempfile::tempdir().unwrap();
        let played = unpack(
            &upload(
                "site.yml",
                &[
                    ("site.yml", b"- hosts: all\n"),
                    ("roles/web/tasks/main.yml", b"[]\n"),
                    ("./templates/a.j2", b"{{ x }}"),
                ],
            ),
            dir.path(),
        )
        .unwrap();
        assert_eq!(played, dir.path().join("site.yml"));
        assert_eq!(
            std::fs::read(dir.path().join("templates/a.j2")).unwrap(),
            b"{{ x }}"
        );
        assert!(dir.path().join("roles/web/tasks/main.yml").is_file());
    }

    #[test]
    fn paths_that_leave_the_folder_are_refused_and_named() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\\..\\b",
            "",
            "a\0b",
            ".",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let error = unpack(&upload("site.yml", &[(bad, b"x")]), dir.path()).unwrap_err();
            assert_eq!(error.field, "files[0].path", "{bad:?}: {error}");
        }
        let dir = tempfile::tempdir().unwrap();
        let error = unpack(&upload("../site.yml", &[("site.yml", b"x")]), dir.path()).unwrap_err();
        assert_eq!(error.field, "playbook");
    }

    #[test]
    fn a_path_given_twice_bad_base64_and_a_missing_playbook_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let twice = upload("a.yml", &[("a.yml", b"1"), ("./a.yml", b"2")]);
        assert!(
            unpack(&twice, dir.path())
                .unwrap_err()
                .message
                .contains("a.yml")
        );
        let dir = tempfile::tempdir().unwrap();
        let mut bad = upload("a.yml", &[("a.yml", b"1")]);
        bad.files[0].content_base64 = "%%%".into();
        assert_eq!(
            unpack(&bad, dir.path()).unwrap_err().field,
            "files[0].content_base64"
        );
        let dir = tempfile::tempdir().unwrap();
        let missing = upload("site.yml", &[("other.yml", b"1")]);
        assert!(
            unpack(&missing, dir.path())
                .unwrap_err()
                .message
                .contains("not one of the uploaded files")
        );
    }

    #[test]
    fn too_many_bytes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![b'x'; MAX_UPLOAD_BYTES / 2 + 1];
        let error = unpack(&upload("a", &[("a", &big), ("b", &big)]), dir.path()).unwrap_err();
        assert!(error.message.contains("MiB"), "{error}");
    }
}
