//! Where Capstan keeps its files: the database and installed plugins in a
//! data folder, and plugins' compiled code in a cache folder that every
//! data folder of the same user may share.

use std::path::{Path, PathBuf};

use crate::{Error, Result};
use capstan_remote::private_file::{restrict, write_private};

/// Capstan's data folder and the paths inside it, and where compiled
/// plugin code is kept.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
    cache: PathBuf,
}

impl Home {
    /// `CAPSTAN_HOME` when set, else the platform's data folder
    /// (`~/.local/share/capstan` on Linux), with the user's compiled-code
    /// cache ([`Home::user_cache_dir`]).
    pub fn from_env() -> Result<Self> {
        let root = match std::env::var_os("CAPSTAN_HOME").filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => project_dirs()?.data_dir().to_path_buf(),
        };
        Self::with_user_cache(root)
    }

    /// A home at `root` with the user's compiled-code cache
    /// ([`Home::user_cache_dir`]). A cache that cannot be used (no home
    /// folder, not writable, someone else's) is passed over, with a
    /// warning, for one inside `root`: compiled code only saves time.
    pub fn with_user_cache(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let shared = Self::user_cache_dir().and_then(|dir| {
            prepare_folder(&dir, Folder::Cache)?;
            Ok(dir)
        });
        match shared {
            Ok(cache) => Self::open(root, cache, false),
            Err(e) => {
                let own = root.join("cache");
                tracing::warn!(error = %e, fallback = %own.display(), "the shared compiled-code cache cannot be used; compiling into the data folder");
                Self::open(root, own, true)
            }
        }
    }

    /// A self-contained home at `root`, created if missing: its compiled
    /// code is kept inside it (`root/cache`), shared with no other folder.
    pub fn at(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let cache = root.join("cache");
        Self::with_cache(root, cache)
    }

    /// A home at `root` whose compiled code is kept in `cache`; both are
    /// created if missing and must belong to the user.
    pub fn with_cache(root: impl Into<PathBuf>, cache: impl Into<PathBuf>) -> Result<Self> {
        Self::open(root.into(), cache.into(), true)
    }

    /// Makes the data folder ready (and the cache, unless the caller did).
    fn open(root: PathBuf, cache: PathBuf, prepare_cache: bool) -> Result<Self> {
        let home = Home { root, cache };
        prepare_folder(&home.root, Folder::Data)?;
        let plugins = home.plugins_dir();
        std::fs::create_dir_all(&plugins).map_err(|e| Error::io("create folder", &plugins, e))?;
        if prepare_cache {
            prepare_folder(&home.cache, Folder::Cache)?;
        }
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

    /// The Unix socket `capstan serve` listens on.
    pub fn socket(&self) -> PathBuf {
        self.root.join("capstan.sock")
    }

    /// The key that seals the secrets store (32 random bytes, 0600; no
    /// plugin can reach the data folder).
    pub fn secrets_key(&self) -> PathBuf {
        self.root.join("secrets.key")
    }

    /// The host keys Capstan trusts (OpenSSH known_hosts format).
    pub fn known_hosts(&self) -> PathBuf {
        self.root.join("known_hosts")
    }

    /// Where jobs' own files live, beside the data folder (plugins read
    /// them, and may never reach the data folder): `uploads/` holds the
    /// playbook folders sent to `capstan serve`. For a data folder
    /// `~/.local/share/capstan` it is `~/.local/share/capstan-work`.
    pub fn work_dir(&self) -> PathBuf {
        let name = self
            .root
            .file_name()
            .map_or_else(|| "capstan".into(), |n| n.to_string_lossy().into_owned());
        self.root.with_file_name(format!("{name}-work"))
    }

    /// Compiled components, keyed by content hash and engine.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache.clone()
    }

    /// The folders no plugin may reach on this computer: the data folder
    /// and the compiled-code cache.
    pub fn private_folders(&self) -> [&Path; 2] {
        [&self.root, &self.cache]
    }

    /// The user's compiled-code cache, shared by all their data folders:
    /// `CAPSTAN_CACHE` when set, else the platform's cache folder
    /// (`~/.cache/capstan/compiled` on Linux). Compiled code is keyed by
    /// the component's content hash and the engine, so sharing it is
    /// sound, and `capstan plugin prepare` fills it once for every folder.
    pub fn user_cache_dir() -> Result<PathBuf> {
        if let Some(dir) = std::env::var_os("CAPSTAN_CACHE").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        Ok(project_dirs()?.cache_dir().join("compiled"))
    }
}

/// The platform's folders for Capstan.
fn project_dirs() -> Result<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "capstan", "capstan").ok_or_else(|| {
        Error::BadInput("no home folder found: set CAPSTAN_HOME and CAPSTAN_CACHE".into())
    })
}

/// Creates one of Capstan's folders if missing, refuses it if it is
/// someone else's, and keeps other users out of it (0700).
fn prepare_folder(dir: &Path, role: Folder) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
    check_owner(dir, role)?;
    restrict(dir, 0o700).map_err(|e| Error::io("keep other users out of (chmod 700)", dir, e))
}

/// Which of Capstan's folders is being checked, for the error.
#[derive(Clone, Copy)]
enum Folder {
    Data,
    Cache,
}

/// Refuses a folder that belongs to another user: whoever owns the data
/// folder can change Capstan's grants, known hosts and plugins, and whoever
/// owns the cache can change the code plugins run as.
fn check_owner(root: &Path, role: Folder) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(root).map_err(|e| Error::io("read", root, e))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        #[allow(unsafe_code)]
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            let (what, controls, variable) = match role {
                Folder::Data => (
                    "data folder",
                    "Capstan's grants and known hosts",
                    "CAPSTAN_HOME",
                ),
                Folder::Cache => (
                    "compiled-code cache",
                    "the code plugins run as",
                    "CAPSTAN_CACHE",
                ),
            };
            return Err(Error::BadInput(format!(
                "the {what} {} belongs to user id {}, not to you (user id {me}): \
                 whoever owns it controls {controls}. Use a folder of your own \
                 ({variable}=...) or take it over with `chown -R {me} {}`",
                root.display(),
                meta.uid(),
                root.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = (root, role);
    Ok(())
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
