//! Upgrading a store written by an older Capstan: a backup copy first,
//! then every pending migration in one transaction.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::error::{Result, StoreError};
use super::{migrations, now_ms};

/// Backups of the database kept beside it, one per schema upgrade.
pub const KEPT_BACKUPS: usize = 3;

/// Brings the schema up to date. A database of an older schema is first
/// copied beside itself (`capstan.db.v8-<ms>.bak`, the newest
/// [`KEPT_BACKUPS`] kept); the migrations then run in one transaction, so
/// a failure leaves the database as it was. A database from a newer
/// Capstan is refused rather than misread.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let wrap = |source| StoreError::sqlite(path, source);
    let current = migrations::version(conn).map_err(wrap)?;
    let newest = migrations::MIGRATIONS.len();
    if current > newest {
        return Err(StoreError::Newer {
            path: path.to_path_buf(),
            found: current,
            known: newest,
        });
    }
    if current == newest {
        return Ok(());
    }
    if current > 0 {
        backup(conn, path, current)?;
    }
    migrations::apply_up_to(conn, newest).map_err(|source| StoreError::Migration {
        path: path.to_path_buf(),
        from: current,
        to: newest,
        source,
    })
}

/// Copies the database (a consistent snapshot, WAL included) to
/// `NAME.vVERSION-MS.bak` beside it, private to its owner, and deletes all
/// but the newest [`KEPT_BACKUPS`] such copies.
fn backup(conn: &Connection, path: &Path, version: usize) -> Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "capstan.db".into());
    let dir = path.parent().unwrap_or(Path::new("."));
    let target = dir.join(format!("{name}.v{version}-{}.bak", now_ms()));
    // VACUUM INTO writes into an empty file: make it first, owner-only.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&target)
        .map_err(|e| StoreError::io("create backup", &target, e))?;
    conn.execute("VACUUM INTO ?1", [target.to_string_lossy()])
        .map_err(|source| StoreError::sqlite(&target, source))?;
    let prefix = format!("{name}.v");
    let mut backups: Vec<(i64, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| StoreError::io("list", dir, e))?
        .filter_map(|entry| {
            let file = entry.ok()?.file_name().to_string_lossy().into_owned();
            let stamp = file.strip_prefix(&prefix)?.strip_suffix(".bak")?;
            let (_, ms) = stamp.split_once('-')?;
            Some((ms.parse().ok()?, dir.join(file)))
        })
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(KEPT_BACKUPS);
    for (_, old) in backups.into_iter().take(excess) {
        std::fs::remove_file(&old).map_err(|e| StoreError::io("remove old backup", &old, e))?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use capstan_wire::jobs::JobRequest;
    use capstan_wire::status::JobKind;

    /// A database at schema version `version`, as an older Capstan left it.
    fn old_store(dir: &Path, version: usize) -> PathBuf {
        let path = dir.join("capstan.db");
        let mut conn = Connection::open(&path).unwrap();
        migrations::apply_up_to(&mut conn, version).unwrap();
        path
    }

    fn backups(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".bak"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_old_store_is_backed_up_then_its_playbook_jobs_get_their_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_store(dir.path(), 8);
        let conn = Connection::open(&path).unwrap();
        // A playbook run, and a job of a third-party plugin that happened
        // to be called `playbook`, as version 8 recorded them.
        let playbook_params = r#"{"inventory":"hosts.ini","limit":"web","tags":["deploy"],"skip_tags":[],"extra_vars":[]}"#;
        let playbook_request = r#"{"plugin":"playbook","action":"/srv/site.yml","params":{},"targets":["web-1","web-2"],"check":true,"diff":false}"#;
        for (action, params, request) in [
            ("/srv/site.yml", playbook_params, Some(playbook_request)),
            ("deploy", r#"{"version":"2"}"#, None),
        ] {
            conn.execute(
                "INSERT INTO jobs (plugin, action, params_json, targets, check_mode, state, owner_pid, started_at, request_json)
                 VALUES ('playbook', ?1, ?2, '[\"web-1\",\"web-2\"]', 1, 'finished', 1, 0, ?3)",
                rusqlite::params![action, params, request],
            )
            .unwrap();
        }
        drop(conn);

        let store = Store::open(&path).unwrap();
        let saved = backups(dir.path());
        assert_eq!(saved.len(), 1, "{saved:?}");
        assert!(saved[0].starts_with("capstan.db.v8-"), "{saved:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(&saved[0]))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the backup is private");
        }
        let backup = Connection::open(dir.path().join(&saved[0])).unwrap();
        assert_eq!(
            migrations::version(&backup).unwrap(),
            8,
            "the copy is the old database"
        );

        let jobs = store.jobs(10).unwrap();
        let kind_of = |action: &str| jobs.iter().find(|j| j.action == action).unwrap().kind;
        assert_eq!(kind_of("/srv/site.yml"), JobKind::Playbook);
        assert_eq!(
            kind_of("deploy"),
            JobKind::Action,
            "a plugin named playbook stays an action"
        );

        let id = jobs
            .iter()
            .find(|j| j.action == "/srv/site.yml")
            .unwrap()
            .id;
        let Some(JobRequest::Playbook(request)) = store.job_request(id).unwrap() else {
            panic!("the old request reads as a playbook's");
        };
        assert_eq!(request.playbook, "/srv/site.yml");
        assert_eq!(request.inventory.as_deref(), Some("hosts.ini"));
        assert_eq!(request.limit.as_deref(), Some("web"));
        assert_eq!(request.tags, ["deploy"]);
        assert!(request.check);
        assert_eq!(request.hosts, ["web-1", "web-2"]);
    }

    #[test]
    fn rebuilding_the_jobs_table_keeps_every_job_with_its_results_logs_and_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_store(dir.path(), 9);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "INSERT INTO jobs (id, kind, plugin, action, params_json, targets, check_mode, state, owner_pid, started_at, finished_at, error)
                 VALUES (41, 'action', 'command', 'exec', '{}', '[\"web-1\"]', 0, 'finished', 1, 10, 20, NULL);
             INSERT INTO job_results (job_id, target, status, summary, duration_ms)
                 VALUES (41, 'web-1', 'changed', 'ran', 5);
             INSERT INTO job_logs (job_id, seq, target, at, level, message)
                 VALUES (41, 1, 'web-1', 11, 'info', 'hello');
             INSERT INTO job_tasks (job_id, seq, play, task, module, host, status, ignored, summary, result_json, duration_ms)
                 VALUES (41, 1, 'p', 't', 'command', 'web-1', 'changed', 0, 'ran', '{}', 5);",
        )
        .unwrap();
        drop(conn);

        let store = Store::open(&path).unwrap();
        let job = store.job(41).unwrap().expect("the job survived");
        assert_eq!(job.results.len(), 1);
        assert_eq!(job.finished_at_ms, Some(20));
        assert_eq!(
            job.launched_by,
            capstan_wire::Actor::default(),
            "who is unknown"
        );
        assert_eq!(store.job_logs(41).unwrap()[0].message, "hello");
        assert_eq!(store.task_outcomes(41).unwrap().len(), 1);
        let next = store
            .create_job(
                &JobRequest::Action(capstan_wire::jobs::RunRequest::new(
                    "debug",
                    "msg",
                    serde_json::json!({}),
                    Vec::<String>::new(),
                )),
                &capstan_wire::Actor::User("alice".into()),
            )
            .unwrap();
        assert_eq!(next, 42, "numbering goes on after the last job");
        let conn = Connection::open(&path).unwrap();
        let children: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_foreign_key_list('job_results')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(children, 1, "results still reference jobs");
    }

    #[test]
    fn results_move_into_their_key_order_whole_and_still_go_with_their_job() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_store(dir.path(), 18);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "INSERT INTO jobs (id, kind, plugin, action, params_json, targets, check_mode, state, owner_pid, started_at, finished_at)
                 VALUES (7, 'action', 'command', 'exec', '{}', '[\"b\",\"a\"]', 0, 'finished', 1, 10, 20);
             INSERT INTO job_results (job_id, target, status, summary, diff, data_json, failure_kind, duration_ms)
                 VALUES (7, 'b', 'failed', 'no', '-x\n+y', '{\"rc\":2}', 'module', 9),
                        (7, 'a', 'ok', 'fine', NULL, NULL, NULL, 3);",
        )
        .unwrap();
        drop(conn);

        let store = Store::open(&path).unwrap();
        let job = store.job(7).unwrap().expect("the job survived");
        let targets: Vec<&str> = job.results.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(targets, ["a", "b"]);
        assert_eq!(job.results[1].diff.as_deref(), Some("-x\n+y"));
        assert_eq!(job.results[1].data, Some(serde_json::json!({ "rc": 2 })));
        assert_eq!(job.results[1].duration_ms, 9);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        let rowid = conn.query_row("SELECT rowid FROM job_results", [], |r| r.get::<_, i64>(0));
        assert!(rowid.is_err(), "the table has no rowid: {rowid:?}");
        conn.execute("DELETE FROM jobs WHERE id = 7", []).unwrap();
        let left: i64 = conn
            .query_row("SELECT COUNT(*) FROM job_results", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "a job's results go with it");
    }

    #[test]
    fn a_current_store_is_not_copied_and_only_three_copies_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_store(dir.path(), migrations::MIGRATIONS.len());
        Store::open(&path).unwrap();
        assert!(
            backups(dir.path()).is_empty(),
            "nothing to upgrade, nothing copied"
        );
        let conn = Connection::open(&path).unwrap();
        for _ in 0..5 {
            backup(&conn, &path, 7).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(3));
        }
        assert_eq!(backups(dir.path()).len(), KEPT_BACKUPS);
    }

    #[test]
    fn a_failed_upgrade_leaves_the_old_database_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_store(dir.path(), 8);
        let conn = Connection::open(&path).unwrap();
        // Something migration 9 cannot do: the column it adds exists.
        conn.execute_batch("ALTER TABLE jobs ADD COLUMN kind TEXT")
            .unwrap();
        conn.execute(
            "INSERT INTO jobs (plugin, action, params_json, targets, check_mode, state, owner_pid, started_at)
             VALUES ('debug', 'msg', '{}', '[]', 0, 'finished', 1, 0)",
            [],
        )
        .unwrap();
        drop(conn);

        let err = Store::open(&path).unwrap_err().to_string();
        assert!(err.contains("from version 8 to"), "{err}");
        assert!(err.contains("left at version 8"), "{err}");
        let conn = Connection::open(&path).unwrap();
        assert_eq!(migrations::version(&conn).unwrap(), 8);
        let jobs: i64 = conn
            .query_row("SELECT COUNT(*) FROM jobs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(jobs, 1, "the job is still there");
        assert_eq!(backups(dir.path()).len(), 1, "and a copy was made first");
    }

    #[test]
    fn a_store_from_a_newer_capstan_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_store(dir.path(), migrations::MIGRATIONS.len());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        let err = Store::open(&path).unwrap_err();
        assert!(
            err.to_string()
                .contains("schema version 999, newer than this Capstan knows"),
            "{err}"
        );
        assert!(matches!(err, StoreError::Newer { found: 999, .. }));
    }
}
