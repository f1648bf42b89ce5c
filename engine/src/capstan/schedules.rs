//! Schedules: added after their times and their job are checked, listed
//! with their next times, paused, resumed and removed (each audited), and
//! [`Capstan::take_due`], which the service's scheduler calls to learn
//! whether a schedule fires now — claiming the due time in the store, so
//! two services never both fire it, and applying the overlap and misfire
//! rules.

use capstan_store::StoredSchedule;
use capstan_wire::Actor;
use capstan_wire::clock::now_ms;
use capstan_wire::schedules::{Misfire, Overlap, Schedule, ScheduleSpec, ScheduledJob};
use capstan_wire::status::JobState;

use super::Capstan;
use crate::cron::CronTimes;
use crate::{Error, Result};

/// Next times a listed schedule shows.
pub const NEXT_SHOWN: usize = 3;

/// What a schedule does now.
#[derive(Debug, Clone, PartialEq)]
pub enum Due {
    /// Nothing is due (or another service handles it).
    Nothing,
    /// Start its job.
    Fire(ScheduledJob),
    /// Due, but skipped: its last job still runs, or the times were
    /// missed and its misfire rule says skip.
    Skipped(&'static str),
}

impl Capstan {
    /// Adds a schedule once its expression, zone and job check out (an
    /// installed plugin, its action, params that fit, known targets; a
    /// playbook file that exists and parses).
    pub async fn add_schedule(&self, spec: ScheduleSpec, by: &Actor) -> Result<Schedule> {
        check_name(&spec.name)?;
        CronTimes::parse(&spec.cron, spec.tz.as_deref())
            .map_err(|e| Error::BadInput(e.to_string()))?;
        self.check_stored_job(&spec.job).await?;
        if !self.store.add_schedule(&spec, by, now_ms())? {
            return Err(Error::BadInput(format!(
                "a schedule named `{}` exists: remove it first, or pick another name",
                spec.name
            )));
        }
        let detail = format!(
            "`{}`{} {}",
            spec.cron,
            spec.tz
                .as_deref()
                .map(|tz| format!(" ({tz})"))
                .unwrap_or_default(),
            spec.job.describe()
        );
        self.audit_as(by, "add", &format!("schedule:{}", spec.name), &detail)?;
        self.schedule(&spec.name)
    }

    /// Checks a job kept to run later (by a schedule or a webhook): an
    /// installed plugin, its action, params that fit, known targets; a
    /// playbook file that parses, its inventory, its stored secrets (the
    /// sudo password's among them).
    pub(crate) async fn check_stored_job(&self, job: &ScheduledJob) -> Result<()> {
        match job {
            ScheduledJob::Action { request } => {
                self.check_request(request).await?;
                self.sudo_password(request.become_password_secret.as_deref())?;
            }
            ScheduledJob::Playbook { playbook } => {
                crate::playbook::model::load(std::path::Path::new(&playbook.playbook))?;
                for name in &playbook.stored_secrets {
                    self.secret_value(name)?;
                }
                self.sudo_password(playbook.become_password_secret.as_deref())?;
                if let Some(inventory) = &playbook.inventory
                    && !std::path::Path::new(inventory).is_file()
                {
                    return Err(Error::BadInput(format!(
                        "inventory {inventory}: no such file"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Every schedule, by name, with its next times.
    pub fn schedules(&self) -> Result<Vec<Schedule>> {
        let now = now_ms();
        Ok(self
            .store
            .schedules()?
            .into_iter()
            .map(|s| listed(s, now))
            .collect())
    }

    /// The schedule called `name`.
    pub fn schedule(&self, name: &str) -> Result<Schedule> {
        let stored = self
            .store
            .schedule(name)?
            .ok_or_else(|| no_schedule(name))?;
        Ok(listed(stored, now_ms()))
    }

    /// Pauses (or resumes) a schedule. A resumed schedule counts from
    /// now: the times it missed while paused do not fire.
    pub fn pause_schedule(&self, name: &str, paused: bool, by: &Actor) -> Result<Schedule> {
        if !self.store.set_schedule_paused(name, paused, now_ms())? {
            return Err(no_schedule(name));
        }
        let action = if paused { "pause" } else { "resume" };
        self.audit_as(by, action, &format!("schedule:{name}"), "")?;
        self.schedule(name)
    }

    /// Removes a schedule; its jobs stay in the history.
    pub fn remove_schedule(&self, name: &str, by: &Actor) -> Result<()> {
        if !self.store.remove_schedule(name)? {
            return Err(no_schedule(name));
        }
        self.audit_as(by, "remove", &format!("schedule:{name}"), "")
    }

    /// Whether `schedule` fires at `now_ms`. With `at_start` (the
    /// service's first look after it started), due times are ones it
    /// missed while down, and the misfire rule decides; otherwise several
    /// due times (the machine slept) fire once. The due time is claimed
    /// in the store first: when another service claimed it, nothing is
    /// due here.
    pub fn take_due(&self, schedule: &StoredSchedule, now_ms: i64, at_start: bool) -> Result<Due> {
        let spec = &schedule.spec;
        if schedule.paused {
            return Ok(Due::Nothing);
        }
        let times = CronTimes::parse(&spec.cron, spec.tz.as_deref())
            .map_err(|e| Error::BadInput(format!("schedule {}: {e}", spec.name)))?;
        let after = schedule.last_due_ms.unwrap_or(schedule.created_at_ms);
        let (count, Some(last)) = times.due_between(after, now_ms) else {
            return Ok(Due::Nothing);
        };
        if !self
            .store
            .claim_schedule_due(&spec.name, schedule.last_due_ms, last)?
        {
            return Ok(Due::Nothing);
        }
        let missed = if at_start { count } else { count - 1 };
        if at_start && spec.misfire == Misfire::Skip {
            self.store
                .record_schedule_skipped(&spec.name, missed as u64)?;
            return Ok(Due::Skipped("missed while the service was down"));
        }
        let still_running = spec.overlap == Overlap::Skip
            && schedule
                .last_job_id
                .and_then(|id| self.store.job(id).ok().flatten())
                .is_some_and(|job| job.state == JobState::Running);
        if still_running {
            self.store
                .record_schedule_skipped(&spec.name, count as u64)?;
            return Ok(Due::Skipped("its last job is still running"));
        }
        // One run stands for every time it missed.
        let coalesced = if at_start { missed - 1 } else { missed };
        if coalesced > 0 {
            self.store
                .record_schedule_skipped(&spec.name, coalesced as u64)?;
        }
        Ok(Due::Fire(spec.job.clone()))
    }

    /// Records that a firing of `name` started job `job_id`.
    pub fn schedule_fired(&self, name: &str, job_id: i64) -> Result<()> {
        Ok(self.store.record_schedule_fired(name, job_id)?)
    }

    /// Records (in the audit log) that a firing of `name` could not start.
    pub fn schedule_failed(&self, name: &str, why: &str) -> Result<()> {
        self.audit_as(
            &Actor::Schedule(name.to_string()),
            "fire-failed",
            &format!("schedule:{name}"),
            why,
        )
    }
}

/// A stored schedule as lists show it, with its next times after `now`.
fn listed(stored: StoredSchedule, now: i64) -> Schedule {
    let next_runs_ms = match stored.paused {
        true => Vec::new(),
        false => CronTimes::parse(&stored.spec.cron, stored.spec.tz.as_deref())
            .map(|t| t.next_times(now, NEXT_SHOWN))
            .unwrap_or_default(),
    };
    Schedule {
        spec: stored.spec,
        paused: stored.paused,
        created_by: stored.created_by,
        created_at_ms: stored.created_at_ms,
        last_due_ms: stored.last_due_ms,
        last_job_id: stored.last_job_id,
        fired: stored.fired,
        skipped: stored.skipped,
        next_runs_ms,
    }
}

fn no_schedule(name: &str) -> Error {
    Error::NotFound(format!(
        "no schedule named `{name}` (`capstan schedules list` shows them)"
    ))
}

/// A schedule's or webhook's name: it is written into `schedule:NAME`
/// or `webhook:NAME`, and into a URL.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::BadInput(format!(
            "name `{}`: 1-64 letters, digits, '-', '_' or '.'",
            name.escape_debug()
        )))
    }
}
