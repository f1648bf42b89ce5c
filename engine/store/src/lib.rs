//! The embedded store: one SQLite database (WAL) in Capstan's home with
//! installed plugins and grants, plugin key-values and job history.

mod audit;
mod error;
mod host_checks;
mod hosts;
mod jobs;
mod kv;
mod migrations;
mod notifications;
mod plugins;
mod schedules;
mod secrets;
mod tasks;
mod tokens;
mod upgrade;
mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

pub use audit::AuditEntry;
pub use capstan_wire::clock::now_ms;
pub use capstan_wire::plugins::KvUsage;
pub use error::{Result, StoreError};
pub use jobs::{CancelRequest, JobEnd};
pub use notifications::AttemptOutcome;
pub use plugins::PluginRecord;
pub use schedules::StoredSchedule;
pub use secrets::SealedSecret;
pub use tokens::NewToken;
pub use upgrade::KEPT_BACKUPS;

/// A handle on the database, cheap to clone and safe to share across tasks.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database, runs pending migrations and
    /// marks jobs whose process is gone as interrupted.
    pub fn open(path: &Path) -> Result<Store> {
        let wrap = |source| StoreError::sqlite(path, source);
        let mut conn = Connection::open(path).map_err(wrap)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(wrap)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(wrap)?;
        // Closing leaves the write-ahead log for the next process rather
        // than folding it into the database there and then (two fsyncs on
        // every CLI command). SQLite folds it in as it grows, and a reader
        // always sees it; nothing committed is at risk either way.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(wrap)?;
        upgrade::migrate(&mut conn, path)?;
        let store = Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                conn: Mutex::new(conn),
            }),
        };
        store.mark_interrupted_jobs()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with the connection, mapping SQLite errors to [`StoreError::Sqlite`].
    /// An insert's outcome as whether it added a row: false (not an
    /// error) when a unique name was taken.
    fn added_unless_taken(inserted: Result<usize>) -> Result<bool> {
        match inserted {
            Err(StoreError::Sqlite { source, .. })
                if source.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
            {
                Ok(false)
            }
            other => other.map(|_| true),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = self.inner.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn).map_err(|source| StoreError::sqlite(&self.inner.path, source))
    }
}
