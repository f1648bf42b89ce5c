//! Where Capstan keeps its files: the database, installed plugins and the
//! compiled-component cache.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Capstan's data folder and the paths inside it.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `CAPSTAN_HOME` when set, else the platform's data folder
    /// (`~/.local/share/capstan` on Linux).
    pub fn from_env() -> Result<Self> {
        if let Some(dir) = std::env::var_os("CAPSTAN_HOME").filter(|d| !d.is_empty()) {
            return Self::at(PathBuf::from(dir));
        }
        let dirs = directories::ProjectDirs::from("dev", "capstan", "capstan")
            .ok_or_else(|| Error::BadInput("no home folder found: set CAPSTAN_HOME".into()))?;
        Self::at(dirs.data_dir().to_path_buf())
    }

    /// A home at `root`, created if missing.
    pub fn at(root: impl Into<PathBuf>) -> Result<Self> {
        let home = Home { root: root.into() };
        for dir in [home.root.clone(), home.plugins_dir(), home.cache_dir()] {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create folder", &dir, e))?;
        }
        check_owner(&home.root)?;
        restrict(&home.root, 0o700)
            .map_err(|e| Error::io("keep other users out of (chmod 700)", &home.root, e))?;
        // SQLite creates a missing database (and later its journal, with
        // the database's mode) as the umask allows: start it private.
        let db = home.database();
        if !db.exists() {
            write_private(&db, b"").map_err(|e| Error::io("create", &db, e))?;
        }
        Ok(home)
    }

    /// Makes every file Capstan keeps readable by its owner only (0600):
    /// the database and its journal, known hosts, installed plugins and
    /// the cache. Run at start, after the database is open. Returns the
    /// files it had to tighten.
    pub fn restrict_files(&self) -> Vec<PathBuf> {
        let mut tightened = Vec::new();
        for dir in [self.root.clone(), self.plugins_dir(), self.cache_dir()] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if too_open(&path) && restrict(&path, 0o600).is_ok() {
                    tightened.push(path);
                }
            }
        }
        tightened
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite database.
    pub fn database(&self) -> PathBuf {
        self.root.join("capstan.db")
    }

    /// Installed plugins' original `.wasm` files.
    pub fn plugins_dir(&self) -> PathBuf {
        self.root.join("plugins")
    }

    /// The host keys Capstan trusts (OpenSSH known_hosts format).
    pub fn known_hosts(&self) -> PathBuf {
        self.root.join("known_hosts")
    }

    /// Compiled components, keyed by content hash and engine.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }
}

/// Refuses a data folder that belongs to another user: whoever owns it
/// can change Capstan's grants, known hosts and plugins.
fn check_owner(root: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(root).map_err(|e| Error::io("read", root, e))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        #[allow(unsafe_code)]
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(Error::BadInput(format!(
                "the data folder {} belongs to user id {}, not to you (user id {me}): \
                 whoever owns it controls Capstan's grants and known hosts. Use a folder of \
                 your own (CAPSTAN_HOME=...) or take it over with `chown -R {me} {}`",
                root.display(),
                meta.uid(),
                root.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = root;
    Ok(())
}

/// Writes a file that only its owner may read or write (0600 from the
/// moment it exists): everything Capstan keeps in its data folder.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)?;
    // An existing file keeps its mode on open: narrow it too.
    restrict(path, 0o600)
}

/// Narrows a file Capstan keeps (written by a library) to its owner.
pub(crate) fn make_private(path: &Path) -> std::io::Result<()> {
    restrict(path, 0o600)
}

/// Whether a regular file can be read or written by anyone but its owner.
fn too_open(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Sets `path`'s permission bits.
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
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
