//! Files only their owner may read or write: everything Capstan keeps in its
//! data folder, known_hosts among them.

use std::path::Path;

/// Writes a file that only its owner may read or write (0600 from the
/// moment it exists).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)?;
    // An existing file keeps its mode on open: narrow it too.
    restrict(path, 0o600)
}

/// Narrows a file (written by a library) to its owner.
pub fn make_private(path: &Path) -> std::io::Result<()> {
    restrict(path, 0o600)
}

/// Sets `path`'s permission bits (a no-op where there are none).
pub fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}
