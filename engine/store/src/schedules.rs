//! Schedules as stored: what was asked for (as JSON), whether paused, and
//! what each has done. A firing is claimed by moving `last_due` forward
//! from the value the claimer read, so two services on one store never
//! both fire the same time.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};
use capstan_wire::Actor;
use capstan_wire::schedules::ScheduleSpec;

/// A schedule as the store holds it (its next times are the engine's to
/// work out).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSchedule {
    /// What was asked for.
    pub spec: ScheduleSpec,
    /// Not firing until resumed.
    pub paused: bool,
    /// Who added it.
    pub created_by: Actor,
    /// When.
    pub created_at_ms: i64,
    /// The last due time handled.
    pub last_due_ms: Option<i64>,
    /// The job it started last.
    pub last_job_id: Option<i64>,
    /// Jobs started.
    pub fired: u64,
    /// Firings skipped.
    pub skipped: u64,
}

impl Store {
    /// Adds a schedule; false (and nothing added) when one has that name.
    pub fn add_schedule(&self, spec: &ScheduleSpec, by: &Actor, now_ms: i64) -> Result<bool> {
        let json = serde_json::to_string(spec).unwrap_or_default();
        let added = self.with(|conn| {
            conn.execute(
                "INSERT INTO schedules (name, spec_json, created_by, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![spec.name, json, by.to_string(), now_ms],
            )
        });
        Store::added_unless_taken(added)
    }

    /// Every schedule, by name.
    pub fn schedules(&self) -> Result<Vec<StoredSchedule>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(&format!("{SELECT_SCHEDULE} ORDER BY name"))?;
            stmt.query_map([], read_schedule)?.collect()
        })
    }

    /// The schedule called `name`.
    pub fn schedule(&self, name: &str) -> Result<Option<StoredSchedule>> {
        self.with(|conn| {
            conn.query_row(
                &format!("{SELECT_SCHEDULE} WHERE name = ?1"),
                [name],
                read_schedule,
            )
            .optional()
        })
    }

    /// Pauses or resumes a schedule; false when there is none so named.
    /// Resuming starts counting from `now_ms`: times missed while paused
    /// are not fired.
    pub fn set_schedule_paused(&self, name: &str, paused: bool, now_ms: i64) -> Result<bool> {
        self.with(|conn| {
            let changed = if paused {
                conn.execute("UPDATE schedules SET paused = 1 WHERE name = ?1", [name])?
            } else {
                conn.execute(
                    "UPDATE schedules SET paused = 0,
                        last_due = CASE WHEN paused = 1 THEN ?2 ELSE last_due END
                     WHERE name = ?1",
                    params![name, now_ms],
                )?
            };
            Ok(changed == 1)
        })
    }

    /// Removes a schedule (its jobs stay in the history); false when there
    /// is none so named.
    pub fn remove_schedule(&self, name: &str) -> Result<bool> {
        self.with(|conn| Ok(conn.execute("DELETE FROM schedules WHERE name = ?1", [name])? == 1))
    }

    /// Claims the handling of due time `due_ms` for a schedule whose
    /// `last_due` was `seen`: true when this caller moved it (and so
    /// handles it), false when another did first or it was removed or
    /// paused meanwhile.
    pub fn claim_schedule_due(&self, name: &str, seen: Option<i64>, due_ms: i64) -> Result<bool> {
        self.with(|conn| {
            let changed = conn.execute(
                "UPDATE schedules SET last_due = ?3
                 WHERE name = ?1 AND paused = 0 AND last_due IS ?2",
                params![name, seen, due_ms],
            )?;
            Ok(changed == 1)
        })
    }

    /// Records that a claimed firing started job `job_id`.
    pub fn record_schedule_fired(&self, name: &str, job_id: i64) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE schedules SET fired = fired + 1, last_job_id = ?2 WHERE name = ?1",
                params![name, job_id],
            )
            .map(|_| ())
        })
    }

    /// Records that a claimed firing was skipped (`count` times at once,
    /// for missed ones).
    pub fn record_schedule_skipped(&self, name: &str, count: u64) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE schedules SET skipped = skipped + ?2 WHERE name = ?1",
                params![name, count as i64],
            )
            .map(|_| ())
        })
    }
}

const SELECT_SCHEDULE: &str = "SELECT spec_json, paused, created_by, created_at, last_due, last_job_id, fired, skipped FROM schedules";

fn read_schedule(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredSchedule> {
    let json: String = r.get(0)?;
    let spec = serde_json::from_str(&json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(StoredSchedule {
        spec,
        paused: r.get(1)?,
        created_by: r.get::<_, String>(2)?.parse().unwrap_or_default(),
        created_at_ms: r.get(3)?,
        last_due_ms: r.get(4)?,
        last_job_id: r.get(5)?,
        fired: r.get::<_, i64>(6)?.max(0) as u64,
        skipped: r.get::<_, i64>(7)?.max(0) as u64,
    })
}
