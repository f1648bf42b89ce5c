//! Job history: each run, its per-target results and its log lines.

use rusqlite::{OptionalExtension, params};

use super::Result;
use super::{Store, now_ms};
use capstan_wire::jobs::{
    JobRecord, JobRequest, LogLine, PlaybookRequest, RunRequest, TargetResult,
};
use capstan_wire::status::{FailureKind, JobKind, JobState, LogLevel, ResultStatus};
use capstan_wire::{Actor, RawJson};

/// What became of a request to cancel a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelRequest {
    /// Recorded: the process running the job stops it.
    Recorded {
        /// That process.
        owner_pid: i64,
    },
    /// The job had already ended, in this state.
    AlreadyEnded(JobState),
    /// The process that ran it is gone: it is now marked interrupted.
    OwnerGone,
    /// There is no such job.
    NoSuchJob,
}

/// How a job ended, as its owner saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// It ran to its end.
    Finished,
    /// It was cancelled; what had finished is kept.
    Cancelled,
}

impl Store {
    /// Records a new running job owned by this process; returns its id.
    /// The row's plugin, action and params columns are what the history
    /// lists; the typed request is kept whole beside them.
    pub fn create_job(&self, request: &JobRequest, launched_by: &Actor) -> Result<i64> {
        let (plugin, action, params) = match request {
            JobRequest::Action(r) => (r.plugin.clone(), r.action.clone(), r.params.to_string()),
            JobRequest::Playbook(p) => (
                JobKind::Playbook.name().to_string(),
                p.playbook.clone(),
                serde_json::json!({
                    "inventory": p.inventory,
                    "limit": p.limit,
                    "tags": p.tags,
                    "skip_tags": p.skip_tags,
                    "extra_vars": p.extra_vars,
                })
                .to_string(),
            ),
        };
        let targets = serde_json::to_string(request.targets()).expect("targets serialise");
        let request_json = serde_json::to_string(request).expect("requests serialise");
        self.with(|conn| {
            conn.execute(
                "INSERT INTO jobs (kind, plugin, action, params_json, targets, check_mode, state, owner_pid, started_at, request_json, launched_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7, ?8, ?9, ?10)",
                params![
                    request.kind().name(),
                    plugin,
                    action,
                    params,
                    targets,
                    request.check(),
                    std::process::id(),
                    now_ms(),
                    request_json,
                    launched_by.to_string()
                ],
            )?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Stores one target's result.
    pub fn save_result(&self, job_id: i64, result: &TargetResult) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO job_results (job_id, target, status, summary, diff, data_json, failure_kind, duration_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    job_id,
                    result.target,
                    result.status.name(),
                    result.summary,
                    result.diff,
                    result.data.as_ref().map(|d| d.to_string()),
                    result.failure.map(|k| k.name()),
                    result.duration_ms as i64,
                ],
            )
        })?;
        Ok(())
    }

    /// Appends log lines to a job, numbering them after the last one.
    pub fn append_logs(&self, job_id: i64, lines: &[LogLine]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        self.with(|conn| {
            let tx = conn.transaction()?;
            let mut seq: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM job_logs WHERE job_id = ?1",
                [job_id],
                |r| r.get(0),
            )?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO job_logs (job_id, seq, target, at, level, message, fields_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for line in lines {
                    seq += 1;
                    let fields = (!line.fields.is_empty())
                        .then(|| serde_json::to_string(&line.fields).expect("fields serialise"));
                    stmt.execute(params![job_id, seq, line.target, line.at_ms, line.level.name(), line.message, fields])?;
                }
            }
            tx.commit()
        })
    }

    /// Marks a job ended: finished, or cancelled (by whoever asked, or,
    /// when it was cancelled where it runs, by whoever launched it).
    pub fn finish_job(&self, job_id: i64, end: JobEnd) -> Result<()> {
        let state = match end {
            JobEnd::Finished => JobState::Finished,
            JobEnd::Cancelled => JobState::Cancelled,
        };
        self.with(|conn| {
            conn.execute(
                "UPDATE jobs SET state = ?2, finished_at = ?3,
                        cancelled_by = CASE WHEN ?2 = 'cancelled' THEN COALESCE(cancelled_by, launched_by) ELSE cancelled_by END
                  WHERE id = ?1",
                params![job_id, state.name(), now_ms()],
            )
        })?;
        Ok(())
    }

    /// Asks for a running job to be cancelled, by whichever process owns
    /// it (it looks with [`Store::cancel_requested`]). A job whose owner
    /// is gone is marked interrupted instead.
    pub fn request_cancel(&self, job_id: i64, by: &Actor) -> Result<CancelRequest> {
        let row = self.with(|conn| {
            conn.query_row(
                "SELECT state, owner_pid FROM jobs WHERE id = ?1",
                [job_id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()
        })?;
        let Some((state, owner_pid)) = row else {
            return Ok(CancelRequest::NoSuchJob);
        };
        let state = JobState::from_name(&state).unwrap_or(JobState::Interrupted);
        if state != JobState::Running {
            return Ok(CancelRequest::AlreadyEnded(state));
        }
        if !process_alive(owner_pid) {
            self.mark_interrupted_jobs()?;
            return Ok(CancelRequest::OwnerGone);
        }
        let changed = self.with(|conn| {
            conn.execute(
                "UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, ?2),
                                 cancelled_by = COALESCE(cancelled_by, ?3)
                  WHERE id = ?1 AND state = 'running'",
                params![job_id, now_ms(), by.to_string()],
            )
        })?;
        if changed == 0 {
            // It ended between the two statements.
            let state = self.job(job_id)?.map_or(JobState::Interrupted, |j| j.state);
            return Ok(CancelRequest::AlreadyEnded(state));
        }
        Ok(CancelRequest::Recorded { owner_pid })
    }

    /// Whether someone asked for job `job_id` to be cancelled.
    pub fn cancel_requested(&self, job_id: i64) -> Result<bool> {
        self.with(|conn| {
            conn.query_row(
                "SELECT cancel_requested_at IS NOT NULL FROM jobs WHERE id = ?1",
                [job_id],
                |r| r.get(0),
            )
            .optional()
        })
        .map(|asked| asked.unwrap_or(false))
    }

    /// Records why a job failed as a whole (beside its targets' results).
    pub fn fail_job(&self, job_id: i64, error: &str) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE jobs SET error = ?2 WHERE id = ?1",
                params![job_id, error],
            )
        })?;
        Ok(())
    }

    /// One job with its results, if it exists.
    pub fn job(&self, id: i64) -> Result<Option<JobRecord>> {
        let job = self.with(|conn| {
            conn.query_row(&format!("{SELECT_JOB} WHERE id = ?1"), [id], read_job)
                .optional()
        })?;
        match job {
            Some(mut job) => {
                job.results = self.results(id)?;
                Ok(Some(job))
            }
            None => Ok(None),
        }
    }

    /// The newest jobs first, at most `limit`, with their results (read
    /// in one query for the whole page).
    pub fn jobs(&self, limit: usize) -> Result<Vec<JobRecord>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{SELECT_JOB} ORDER BY id DESC LIMIT ?1"))?;
            // Sized for the page up front: a page of 50 jobs is several
            // KiB, and growing it step by step copies it each time.
            let mut jobs = Vec::with_capacity(limit.min(PAGE_CAPACITY_CAP));
            for job in stmt.query_map([limit as i64], read_job)? {
                jobs.push(job?);
            }
            let (Some(newest), Some(oldest)) = (jobs.first(), jobs.last()) else {
                return Ok(jobs);
            };
            let mut stmt = conn.prepare_cached(&format!(
                "{SELECT_RESULT} WHERE job_id BETWEEN ?1 AND ?2 ORDER BY job_id DESC, target DESC"
            ))?;
            let mut rows = stmt.query(params![oldest.id, newest.id])?;
            // Both come newest job first: walk them together.
            let mut at = 0;
            while let Some(row) = rows.next()? {
                let job_id: i64 = row.get(7)?;
                while at < jobs.len() && jobs[at].id > job_id {
                    at += 1;
                }
                if let Some(job) = jobs.get_mut(at).filter(|j| j.id == job_id) {
                    job.results.push(read_result(row)?);
                }
            }
            // Read backwards along the (job, target) key, which needs no
            // sort; each job's results are wanted by target.
            for job in &mut jobs {
                job.results.reverse();
            }
            Ok(jobs)
        })
    }

    /// The jobs that ended after `(at_ms, id)` in end-time order (later, or
    /// at the same time with a higher id), as `(id, finished_at)`, oldest
    /// end first, at most `limit`: a page that the next one continues.
    pub fn jobs_ended_after(&self, at_ms: i64, id: i64, limit: usize) -> Result<Vec<(i64, i64)>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, finished_at FROM jobs \
                 WHERE finished_at > ?1 OR (finished_at = ?1 AND id > ?2) \
                 ORDER BY finished_at, id LIMIT ?3",
            )?;
            stmt.query_map(params![at_ms, id, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect()
        })
    }

    /// How many jobs are in each state.
    pub fn job_counts(&self) -> Result<Vec<(JobState, i64)>> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT state, COUNT(*) FROM jobs GROUP BY state")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut counts = Vec::new();
            for row in rows {
                let (state, count) = row?;
                if let Some(state) = JobState::from_name(&state) {
                    counts.push((state, count));
                }
            }
            Ok(counts)
        })
    }

    /// The request a job was started with, `None` when there is no job
    /// `id`. Jobs recorded before their whole request was kept, or before
    /// job kinds were typed (an action's bare request; a playbook's options
    /// in its params), are read into their kind from what the row has.
    pub fn job_request(&self, id: i64) -> Result<Option<JobRequest>> {
        let row = self.with(|conn| {
            conn.query_row(
                "SELECT kind, request_json, plugin, action, params_json, targets, check_mode
                 FROM jobs WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, bool>(6)?,
                    ))
                },
            )
            .optional()
        })?;
        let Some((kind, text, plugin, action, params, targets, check)) = row else {
            return Ok(None);
        };
        let text = text.unwrap_or_default();
        if let Ok(request) = serde_json::from_str::<JobRequest>(&text) {
            return Ok(Some(request));
        }
        let params: serde_json::Value = serde_json::from_str(&params).unwrap_or_default();
        let old = serde_json::from_str::<RunRequest>(&text).unwrap_or_else(|_| {
            let targets: Vec<String> = serde_json::from_str(&targets).unwrap_or_default();
            let mut request = RunRequest::new(&plugin, &action, params.clone(), targets);
            request.check = check;
            request
        });
        Ok(Some(match JobKind::from_name(&kind) {
            Some(JobKind::Playbook) => {
                let strings = |key: &str| -> Vec<String> {
                    params[key]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                };
                JobRequest::Playbook(PlaybookRequest {
                    playbook: action,
                    inventory: params["inventory"].as_str().map(String::from),
                    limit: params["limit"].as_str().map(String::from),
                    tags: strings("tags"),
                    skip_tags: strings("skip_tags"),
                    extra_vars: strings("extra_vars"),
                    check: old.check,
                    diff: old.diff,
                    become_password_env: old.become_password_env,
                    become_password_secret: None,
                    adhoc: None,
                    hosts: old.targets,
                })
            }
            _ => JobRequest::Action(old),
        }))
    }

    /// A job's log lines in order.
    pub fn job_logs(&self, id: i64) -> Result<Vec<LogLine>> {
        Ok(self
            .job_logs_after(id, 0, usize::MAX)?
            .into_iter()
            .map(|(_, line)| line)
            .collect())
    }

    /// At most `limit` of a job's log lines after line number `after`,
    /// each with its number (from 1), in order: a follower asks again from
    /// the last number it saw.
    pub fn job_logs_after(&self, id: i64, after: i64, limit: usize) -> Result<Vec<(i64, LogLine)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT target, level, message, fields_json, at, seq FROM job_logs
                  WHERE job_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            stmt.query_map(params![id, after, limit], |r| {
                let fields: Option<String> = r.get(3)?;
                let line = LogLine {
                    target: r.get(0)?,
                    level: LogLevel::from_name(&r.get::<_, String>(1)?).unwrap_or(LogLevel::Info),
                    message: r.get(2)?,
                    fields: fields
                        .and_then(|f| serde_json::from_str(&f).ok())
                        .unwrap_or_default(),
                    at_ms: r.get(4)?,
                };
                Ok((r.get(5)?, line))
            })?
            .collect()
        })
    }

    /// Marks running jobs whose owning process is gone as interrupted, so
    /// a kill mid-run never leaves a job that claims to still be running.
    pub(super) fn mark_interrupted_jobs(&self) -> Result<usize> {
        let running: Vec<(i64, i64)> = self.with(|conn| {
            let mut stmt =
                conn.prepare("SELECT id, owner_pid FROM jobs WHERE state = 'running'")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })?;
        let mut marked = 0;
        for (id, pid) in running {
            if !process_alive(pid) {
                self.with(|conn| {
                    conn.execute(
                        "UPDATE jobs SET state = 'interrupted', finished_at = ?2 WHERE id = ?1 AND state = 'running'",
                        params![id, now_ms()],
                    )
                })?;
                marked += 1;
            }
        }
        Ok(marked)
    }

    fn results(&self, job_id: i64) -> Result<Vec<TargetResult>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{SELECT_RESULT} WHERE job_id = ?1 ORDER BY target"
            ))?;
            stmt.query_map([job_id], read_result)?.collect()
        })
    }
}

/// The most jobs [`Store::jobs`] makes room for before reading (a larger
/// page grows as it is read).
const PAGE_CAPACITY_CAP: usize = 1_000;

const SELECT_RESULT: &str = "SELECT target, status, summary, diff, data_json, failure_kind, duration_ms, job_id FROM job_results";

fn read_result(r: &rusqlite::Row<'_>) -> rusqlite::Result<TargetResult> {
    Ok(TargetResult {
        target: r.get(0)?,
        status: ResultStatus::from_name(text(r, 1)?).unwrap_or(ResultStatus::Failed),
        summary: r.get(2)?,
        diff: r.get(3)?,
        data: text_or_null(r, 4)?.and_then(|d| serde_json::from_str(d).ok()),
        failure: text_or_null(r, 5)?.and_then(FailureKind::from_name),
        duration_ms: r.get::<_, i64>(6)? as u64,
    })
}

/// Column `i` as text borrowed from the row: no copy of a value that is
/// only parsed (a page of jobs reads thousands).
fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?.as_str().map_err(|e| not_text(i, e))
}

/// [`text`] of a column that may be NULL.
fn text_or_null<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    r.get_ref(i)?.as_str_or_null().map_err(|e| not_text(i, e))
}

fn not_text(i: usize, e: rusqlite::types::FromSqlError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

pub(crate) const SELECT_JOB: &str = "SELECT id, plugin, action, params_json, targets, check_mode, state, started_at, finished_at, error, kind, launched_by, cancelled_by FROM jobs";

fn read_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        id: r.get(0)?,
        kind: JobKind::from_name(text(r, 10)?).unwrap_or(JobKind::Action),
        plugin: r.get(1)?,
        action: r.get(2)?,
        params: RawJson::parse(text(r, 3)?).unwrap_or_default(),
        targets: serde_json::from_str(text(r, 4)?).unwrap_or_default(),
        check: r.get(5)?,
        state: JobState::from_name(text(r, 6)?).unwrap_or(JobState::Interrupted),
        started_at_ms: r.get(7)?,
        finished_at_ms: r.get(8)?,
        error: r.get(9)?,
        launched_by: actor(text(r, 11)?),
        cancelled_by: text_or_null(r, 12)?.map(actor),
        results: Vec::new(),
    })
}

fn actor(text: &str) -> Actor {
    let Ok(actor) = text.parse();
    actor
}

/// True when a process with this id exists. The current process is alive.
fn process_alive(pid: i64) -> bool {
    if pid == std::process::id() as i64 {
        return true;
    }
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: kill with signal 0 only checks that the process exists;
        // it sends nothing and touches no memory.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        // Without a cheap liveness check, a job of another process is
        // assumed gone once this process opens the store.
        false
    }
}
