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
        restrict_to_owner(&home.root);
        Ok(home)
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

/// Keeps other users out of the data folder (job logs may hold host output).
fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
    }
    #[cfg(not(unix))]
    let _ = path;
}
