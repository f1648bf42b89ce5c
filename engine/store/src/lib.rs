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
mod outbox;
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
pub use notifications::{AttemptOutcome, DueChannels};
pub use outbox::OwedEvent;
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
    /// The connection every write (and most reads) goes through.
    conn: Mutex<Connection>,
    /// Read-only connections for the hot reads ([`Store::read`]), opened
    /// as they are first needed and kept; in WAL mode they read beside
    /// the writer and each other.
    readers: Mutex<Vec<Connection>>,
    /// A read-only connection that only asks whether anything was
    /// committed since ([`Store::data_version`]), opened when first needed.
    watch: Mutex<Option<Connection>>,
    /// Tokens found lately, good while the database is unchanged.
    tokens: Mutex<tokens::TokenCache>,
}

/// Read-only connections kept for reuse.
const KEPT_READERS: usize = 4;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database, runs pending migrations and
    /// marks jobs whose process is gone as interrupted. Two processes
    /// opening a new database at once race to make it a write-ahead-log
    /// database, which SQLite answers with "locked" at once rather than
    /// waiting: the loser tries again, for up to 10 s.
    pub fn open(path: &Path) -> Result<Store> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Store::open_once(path) {
                Err(e) if e.is_busy() && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                opened => return opened,
            }
        }
    }

    fn open_once(path: &Path) -> Result<Store> {
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
        keep_plans(&conn).map_err(wrap)?;
        upgrade::migrate(&mut conn, path)?;
        let store = Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                conn: Mutex::new(conn),
                readers: Mutex::default(),
                watch: Mutex::default(),
                tokens: Mutex::default(),
            }),
        };
        store.mark_interrupted_jobs()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

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

    /// Runs `f` with the connection, mapping SQLite errors to [`StoreError::Sqlite`].
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = self.inner.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn).map_err(|source| StoreError::sqlite(&self.inner.path, source))
    }

    /// Runs a read-only `f` on a read-only connection of its own, so that
    /// reads on several threads (the service's requests) go on together
    /// instead of waiting on the one connection [`Store::with`] holds.
    /// It sees everything committed before it starts.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let wrap = |source| StoreError::sqlite(&self.inner.path, source);
        let taken = self.readers().pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.open_reader().map_err(wrap)?,
        };
        let result = f(&conn).map_err(wrap);
        let mut readers = self.readers();
        if readers.len() < KEPT_READERS {
            readers.push(conn);
        }
        result
    }

    /// A number that changes whenever anything is committed to the
    /// database, by this process or another: what a cache of rows checks
    /// before it answers. It comes from a connection that never writes
    /// (SQLite counts the commits of every other connection).
    fn data_version(&self) -> Result<i64> {
        let wrap = |source| StoreError::sqlite(&self.inner.path, source);
        let mut watch = self.inner.watch.lock().unwrap_or_else(|e| e.into_inner());
        if watch.is_none() {
            *watch = Some(self.open_reader().map_err(wrap)?);
        }
        let conn = watch.as_ref().expect("opened above");
        conn.prepare_cached("PRAGMA data_version")
            .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
            .map_err(wrap)
    }

    fn readers(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.inner.readers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open_reader(&self) -> rusqlite::Result<Connection> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            &self.inner.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        keep_plans(&conn)?;
        Ok(conn)
    }
}

/// Makes a prepared statement keep its query plan whatever values are
/// bound to it (SQLite's query planner stability guarantee). Without it,
/// a statement with a bound `LIMIT ?` (or a bound range the planner's
/// statistics could weigh) is compiled again on every run after its
/// values are bound: a tenth of the service's CPU time on `GET /jobs`.
fn keep_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_wire::jobs::{JobRequest, RunRequest};

    /// A fresh store, and a job request with its launcher to create jobs
    /// from.
    fn store_and_job() -> (tempfile::TempDir, Store, JobRequest, capstan_wire::Actor) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("capstan.db")).unwrap();
        let request = JobRequest::Action(RunRequest::new(
            "debug",
            "msg",
            serde_json::json!({}),
            ["local"],
        ));
        let me = capstan_wire::Actor::User("tester".into());
        (dir, store, request, me)
    }

    #[test]
    fn a_page_read_again_with_other_values_is_not_compiled_again() {
        let (_dir, store, request, me) = store_and_job();
        for _ in 0..3 {
            store.create_job(&request, &me).unwrap();
        }
        // Other limits and other id ranges, on the one reader this thread
        // takes back each time.
        for limit in [1, 3, 2, 1] {
            assert_eq!(store.jobs(limit).unwrap().len(), limit);
        }
        let sql = format!("{} ORDER BY id DESC LIMIT ?1", jobs::SELECT_JOB);
        let recompiled = store
            .read(|conn| {
                let stmt = conn.prepare_cached(&sql)?;
                Ok(stmt.get_status(rusqlite::StatementStatus::RePrepare))
            })
            .unwrap();
        assert_eq!(recompiled, 0, "the page's statement was compiled again");
    }

    #[test]
    fn reads_on_many_threads_see_every_write_committed_before_them() {
        let (_dir, store, request, me) = store_and_job();
        std::thread::scope(|threads| {
            for _ in 0..8 {
                threads.spawn(|| {
                    for _ in 0..25 {
                        // Each thread's own write is in its next read.
                        let id = store.create_job(&request, &me).unwrap();
                        let newest = store.jobs(1).unwrap();
                        assert!(newest[0].id >= id, "{} < {id}", newest[0].id);
                    }
                });
            }
        });
        assert_eq!(store.jobs(1_000).unwrap().len(), 200);
        assert!(store.readers().len() <= KEPT_READERS);
        // A reader never writes.
        let refused = store.read(|conn| conn.execute("DELETE FROM jobs", []));
        assert!(refused.is_err());
        assert_eq!(store.jobs(1_000).unwrap().len(), 200);
    }
}
