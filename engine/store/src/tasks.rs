//! Per-task, per-host results of playbook runs.

use rusqlite::params;

use super::Result;
use super::Store;
use capstan_wire::jobs::TaskOutcome;
use capstan_wire::status::ResultStatus;

/// Results bigger than this are stored cut, with a marker.
const MAX_RESULT_BYTES: usize = 256 << 10;

impl Store {
    /// Stores the results of one task (one row per host), in one transaction.
    pub fn save_task_outcomes(&self, job_id: i64, outcomes: &[TaskOutcome]) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        self.with(|conn| {
            let tx = conn.transaction()?;
            let mut seq: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM job_tasks WHERE job_id = ?1",
                [job_id],
                |r| r.get(0),
            )?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO job_tasks (job_id, seq, play, task, module, host, status, ignored, summary, diff, result_json, duration_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )?;
                for o in outcomes {
                    seq += 1;
                    let mut result = o.result.to_string();
                    if result.len() > MAX_RESULT_BYTES {
                        result = serde_json::json!({"truncated": true, "bytes": result.len()}).to_string();
                    }
                    stmt.execute(params![
                        job_id,
                        seq,
                        o.play,
                        o.task,
                        o.module,
                        o.host,
                        o.status.name(),
                        o.ignored,
                        o.summary,
                        o.diff,
                        result,
                        o.duration_ms as i64
                    ])?;
                }
            }
            tx.commit()
        })
    }

    /// A playbook job's task results, in the order they finished.
    pub fn task_outcomes(&self, job_id: i64) -> Result<Vec<TaskOutcome>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT play, task, module, host, status, ignored, summary, diff, result_json, duration_ms
                 FROM job_tasks WHERE job_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([job_id], |r| {
                Ok(TaskOutcome {
                    play: r.get(0)?,
                    task: r.get(1)?,
                    module: r.get(2)?,
                    host: r.get(3)?,
                    status: ResultStatus::from_name(&r.get::<_, String>(4)?)
                        .unwrap_or(ResultStatus::Failed),
                    ignored: r.get(5)?,
                    summary: r.get(6)?,
                    diff: r.get(7)?,
                    result: serde_json::from_str(&r.get::<_, String>(8)?)
                        .unwrap_or(serde_json::Value::Null),
                    duration_ms: r.get::<_, i64>(9)? as u64,
                })
            })?;
            rows.collect()
        })
    }
}
