//! Numbered schema migrations. A migration is never edited once released:
//! change the schema by appending one. `PRAGMA user_version` records how
//! many have run.

use rusqlite::OptionalExtension;

/// The migrations, in order; index + 1 is the version each one brings.
pub const MIGRATIONS: &[&str] = &[
    // 1: plugins, grants, key-values, jobs.
    r#"
    CREATE TABLE plugins (
        name          TEXT PRIMARY KEY,
        version       TEXT NOT NULL,
        summary       TEXT NOT NULL,
        api_version   TEXT NOT NULL,
        wasm_sha256   TEXT NOT NULL,
        wasm_path     TEXT NOT NULL,
        manifest_json TEXT NOT NULL,
        limits_json   TEXT NOT NULL DEFAULT '{}',
        bundled       INTEGER NOT NULL DEFAULT 0,
        installed_at  INTEGER NOT NULL
    );
    CREATE TABLE grants (
        plugin     TEXT NOT NULL REFERENCES plugins(name) ON DELETE CASCADE,
        capability TEXT NOT NULL,
        granted_at INTEGER NOT NULL,
        PRIMARY KEY (plugin, capability)
    );
    CREATE TABLE kv (
        plugin TEXT NOT NULL,
        key    TEXT NOT NULL,
        value  BLOB NOT NULL,
        PRIMARY KEY (plugin, key)
    );
    CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        plugin      TEXT NOT NULL,
        action      TEXT NOT NULL,
        params_json TEXT NOT NULL,
        targets     TEXT NOT NULL,
        check_mode  INTEGER NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('running', 'finished', 'interrupted')),
        owner_pid   INTEGER NOT NULL,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER
    );
    CREATE INDEX jobs_by_state ON jobs(state);
    CREATE TABLE job_results (
        job_id       INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        target       TEXT NOT NULL,
        status       TEXT NOT NULL,
        summary      TEXT NOT NULL,
        diff         TEXT,
        data_json    TEXT,
        failure_kind TEXT,
        duration_ms  INTEGER NOT NULL,
        PRIMARY KEY (job_id, target)
    );
    CREATE TABLE job_logs (
        job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        seq         INTEGER NOT NULL,
        target      TEXT NOT NULL,
        at          INTEGER NOT NULL,
        level       TEXT NOT NULL,
        message     TEXT NOT NULL,
        fields_json TEXT,
        PRIMARY KEY (job_id, seq)
    );
    "#,
    // 2: the inventory's hosts.
    r#"
    CREATE TABLE hosts (
        name        TEXT PRIMARY KEY,
        address     TEXT NOT NULL,
        port        INTEGER NOT NULL,
        user        TEXT NOT NULL,
        auth_json   TEXT NOT NULL,
        environment TEXT,
        groups_json TEXT NOT NULL DEFAULT '[]',
        created_at  INTEGER NOT NULL
    );
    "#,
    // 3: host variables (from imported inventories).
    r#"
    ALTER TABLE hosts ADD COLUMN vars_json TEXT NOT NULL DEFAULT '{}';
    "#,
    // 4: per-task results of playbook runs.
    r#"
    CREATE TABLE job_tasks (
        job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        seq         INTEGER NOT NULL,
        play        TEXT NOT NULL,
        task        TEXT NOT NULL,
        module      TEXT NOT NULL,
        host        TEXT NOT NULL,
        status      TEXT NOT NULL,
        ignored     INTEGER NOT NULL,
        summary     TEXT NOT NULL,
        diff        TEXT,
        result_json TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        PRIMARY KEY (job_id, seq)
    );
    "#,
    // 5: the last connection check of each host (reachability at a glance).
    r#"
    CREATE TABLE host_checks (
        name        TEXT PRIMARY KEY REFERENCES hosts(name) ON DELETE CASCADE,
        reachable   INTEGER NOT NULL,
        message     TEXT NOT NULL,
        unknown_key TEXT,
        elapsed_ms  INTEGER NOT NULL,
        checked_at  INTEGER NOT NULL
    );
    "#,
    // 6: the whole request of each job, so it can be run again as it was.
    r#"
    ALTER TABLE jobs ADD COLUMN request_json TEXT;
    "#,
    // 7: who installed, replaced, removed, granted or revoked what, when.
    r#"
    CREATE TABLE audit (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        at      INTEGER NOT NULL,
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        plugin  TEXT NOT NULL,
        detail  TEXT NOT NULL
    );
    "#,
    // 8: why a job stopped as a whole (a play whose hosts could not be
    // chosen), beside its per-target results.
    r#"
    ALTER TABLE jobs ADD COLUMN error TEXT;
    "#,
    // 9: what kind of job each is. Before, a playbook run was a job whose
    // plugin was named `playbook`; only those whose params hold a
    // playbook's options are (a plugin of that name was possible then).
    r#"
    ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'action'
        CHECK (kind IN ('action', 'playbook'));
    UPDATE jobs SET kind = 'playbook'
     WHERE plugin = 'playbook'
       AND json_valid(params_json)
       AND json_type(params_json, '$.skip_tags') IS NOT NULL;
    "#,
    // 10: who launched each job, cancellation asked for by anyone (the
    // owner acts on it) and the `cancelled` state. SQLite cannot change a
    // CHECK in place, so the table is rebuilt; the rows that reference it
    // are untouched (foreign keys are off while migrations run).
    r#"
    CREATE TABLE jobs_v10 (
        id                  INTEGER PRIMARY KEY AUTOINCREMENT,
        kind                TEXT NOT NULL DEFAULT 'action' CHECK (kind IN ('action', 'playbook')),
        plugin              TEXT NOT NULL,
        action              TEXT NOT NULL,
        params_json         TEXT NOT NULL,
        targets             TEXT NOT NULL,
        check_mode          INTEGER NOT NULL,
        state               TEXT NOT NULL
            CHECK (state IN ('running', 'finished', 'interrupted', 'cancelled')),
        owner_pid           INTEGER NOT NULL,
        started_at          INTEGER NOT NULL,
        finished_at         INTEGER,
        request_json        TEXT,
        error               TEXT,
        launched_by         TEXT NOT NULL DEFAULT '',
        cancel_requested_at INTEGER,
        cancelled_by        TEXT
    );
    INSERT INTO jobs_v10 (id, kind, plugin, action, params_json, targets, check_mode, state,
                          owner_pid, started_at, finished_at, request_json, error)
        SELECT id, kind, plugin, action, params_json, targets, check_mode, state,
               owner_pid, started_at, finished_at, request_json, error
          FROM jobs;
    DROP TABLE jobs;
    ALTER TABLE jobs_v10 RENAME TO jobs;
    CREATE INDEX jobs_by_state ON jobs(state);
    "#,
    // 11: API tokens (the secret's SHA-256, never the secret), and an
    // audit log about more than plugins: `subject` is `kind:name`
    // (a bare name, as older rows have, is a plugin).
    r#"
    CREATE TABLE tokens (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        name         TEXT NOT NULL,
        scope        TEXT NOT NULL CHECK (scope IN ('read', 'run', 'admin')),
        hash         TEXT NOT NULL UNIQUE,
        prefix       TEXT NOT NULL,
        created_by   TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER,
        last_used_at INTEGER,
        revoked_at   INTEGER
    );
    CREATE UNIQUE INDEX tokens_live_name ON tokens(name) WHERE revoked_at IS NULL;
    ALTER TABLE audit RENAME COLUMN plugin TO subject;
    "#,
    // 12: schedules. `spec_json` is what was asked for (a ScheduleSpec);
    // `last_due` is the last due time handled (fired or skipped), the
    // mark a firing claims by moving it forward.
    r#"
    CREATE TABLE schedules (
        name        TEXT PRIMARY KEY,
        spec_json   TEXT NOT NULL,
        paused      INTEGER NOT NULL DEFAULT 0,
        created_by  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        last_due    INTEGER,
        last_job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
        fired       INTEGER NOT NULL DEFAULT 0,
        skipped     INTEGER NOT NULL DEFAULT 0
    );
    "#,
    // 13: the secrets store: each value sealed (ChaCha20-Poly1305, its
    // name as associated data) with the key in the data folder's
    // secrets.key; never a value in clear.
    r#"
    CREATE TABLE secrets (
        name        TEXT PRIMARY KEY,
        nonce       BLOB NOT NULL,
        sealed      BLOB NOT NULL,
        updated_by  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    "#,
    // 14: webhooks in, and their deliveries: one row per delivery id, so a
    // repeated delivery is found by the primary key.
    r#"
    CREATE TABLE webhooks (
        name        TEXT PRIMARY KEY,
        spec_json   TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE webhook_deliveries (
        webhook     TEXT NOT NULL REFERENCES webhooks(name) ON DELETE CASCADE,
        delivery    TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        job_id      INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
        PRIMARY KEY (webhook, delivery)
    );
    "#,
    // 15: jobs by the time they ended, for the service that announces
    // each job's end, whichever process ran it.
    r#"
    CREATE INDEX jobs_by_finish ON jobs(finished_at) WHERE finished_at IS NOT NULL;
    "#,
    // 16: notifications: channels, the rules that send to them (a channel
    // in use cannot go), one delivery per rule and job, and every attempt.
    r#"
    CREATE TABLE notification_channels (
        name        TEXT PRIMARY KEY,
        spec_json   TEXT NOT NULL,
        host        TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE notification_rules (
        name        TEXT PRIMARY KEY,
        channel     TEXT NOT NULL REFERENCES notification_channels(name) ON DELETE RESTRICT,
        spec_json   TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE notification_deliveries (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        rule            TEXT NOT NULL,
        channel         TEXT NOT NULL,
        job_id          INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
        attempts        INTEGER NOT NULL,
        next_attempt_at INTEGER,
        last_error      TEXT,
        created_at      INTEGER NOT NULL,
        sent_at         INTEGER,
        UNIQUE (rule, job_id)
    );
    CREATE INDEX deliveries_due ON notification_deliveries(next_attempt_at) WHERE state = 'pending';
    CREATE TABLE notification_attempts (
        delivery_id INTEGER NOT NULL REFERENCES notification_deliveries(id) ON DELETE CASCADE,
        attempt     INTEGER NOT NULL,
        at          INTEGER NOT NULL,
        ok          INTEGER NOT NULL,
        detail      TEXT NOT NULL,
        PRIMARY KEY (delivery_id, attempt)
    );
    "#,
    // 17: settings configured once (the SMTP server e-mail channels use),
    // each a JSON document under its key.
    r#"
    CREATE TABLE settings (
        key         TEXT PRIMARY KEY,
        json        TEXT NOT NULL,
        updated_by  TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    "#,
    // 18: events handed to a plugin and not yet settled (handled, refused
    // for good, or given up on): what a restarted service delivers again.
    r#"
    CREATE TABLE event_outbox (
        plugin      TEXT NOT NULL,
        event_id    INTEGER NOT NULL,
        event_json  TEXT NOT NULL,
        queued_at   INTEGER NOT NULL,
        PRIMARY KEY (plugin, event_id)
    );
    "#,
    // 19: results kept in their key's order (WITHOUT ROWID): a page of
    // jobs reads its results straight from the (job, target) key instead
    // of looking each row up by rowid from an index of that key.
    r#"
    CREATE TABLE job_results_v19 (
        job_id       INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        target       TEXT NOT NULL,
        status       TEXT NOT NULL,
        summary      TEXT NOT NULL,
        diff         TEXT,
        data_json    TEXT,
        failure_kind TEXT,
        duration_ms  INTEGER NOT NULL,
        PRIMARY KEY (job_id, target)
    ) WITHOUT ROWID;
    INSERT INTO job_results_v19
        SELECT job_id, target, status, summary, diff, data_json, failure_kind, duration_ms
          FROM job_results;
    DROP TABLE job_results;
    ALTER TABLE job_results_v19 RENAME TO job_results;
    "#,
];

/// The schema version a database file records.
pub fn version(conn: &rusqlite::Connection) -> rusqlite::Result<usize> {
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map(|v| v.max(0) as usize)
}

/// Brings the database from its recorded version up to `target`, every
/// pending migration in one transaction: if one fails, none is kept and
/// the database is as it was.
///
/// Foreign keys are off meanwhile (SQLite's way to rebuild a table that
/// others reference, as a migration that changes a constraint must) and
/// checked whole before the commit.
pub fn apply_up_to(conn: &mut rusqlite::Connection, target: usize) -> rusqlite::Result<()> {
    let enforced: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let applied = apply_in_transaction(conn, target);
    conn.pragma_update(None, "foreign_keys", enforced)?;
    applied
}

fn apply_in_transaction(conn: &mut rusqlite::Connection, target: usize) -> rusqlite::Result<()> {
    // IMMEDIATE: a second process opening the store at the same moment
    // waits here, then finds the work done.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current = version(&tx)?;
    if current >= target {
        return Ok(());
    }
    for sql in &MIGRATIONS[current..target] {
        tx.execute_batch(sql)?;
    }
    let broken: Option<String> = tx
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()?;
    if let Some(table) = broken {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
            Some(format!(
                "a migration left rows in `{table}` that reference nothing"
            )),
        ));
    }
    tx.pragma_update(None, "user_version", target as i64)?;
    tx.commit()
}
