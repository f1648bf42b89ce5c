//! What can go wrong in the store, each naming the database file. The
//! engine's `Error` carries it whole (`Error::Store`), so the store needs
//! nothing of the engine above it.

use std::path::PathBuf;

/// Shorthand for results of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },

    /// The store's schema could not be upgraded; nothing of the upgrade
    /// was kept.
    #[error(
        "store {path}: upgrading its schema from version {from} to {to} failed ({source}); \
         the database was left at version {from}, and a copy of it is beside it"
    )]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The version it stays at.
        from: usize,
        /// The version this Capstan needs.
        to: usize,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },

    /// The database was written by a newer Capstan, whose schema this one
    /// would misread.
    #[error(
        "store {path} has schema version {found}, newer than this Capstan knows ({known}): \
         it was written by a newer Capstan; use that one, or restore a backup"
    )]
    Newer {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        found: usize,
        /// The newest this Capstan knows.
        known: usize,
    },

    /// A file beside the database (a backup) could not be made or removed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What the store was doing ("create backup", "list").
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether SQLite said the database was locked by another connection.
    pub fn is_busy(&self) -> bool {
        let source = match self {
            StoreError::Sqlite { source, .. } | StoreError::Migration { source, .. } => source,
            _ => return false,
        };
        source.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
    }

    /// An SQLite error on the database at `path`.
    pub fn sqlite(path: impl Into<PathBuf>, source: rusqlite::Error) -> Self {
        StoreError::Sqlite {
            path: path.into(),
            source,
        }
    }

    /// An I/O error with what was being done and where.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
