//! `capstan jobs list|show|rerun|cancel`: the job history, filtered; one
//! job; a job run again as it ran; a running job stopped, whichever
//! process runs it.

use clap::Subcommand;

use capstan_engine::jobs::{JobRecord, JobState, ResultStatus};
use capstan_engine::store::CancelRequest;
use capstan_engine::{Capstan, JobFilter, Rerun};
use capstan_wire::jobs::JobDetail;

use crate::commands::plugin::JsonFlag;
use crate::exit::Exit;
use crate::output::{first_line, print_json, recap, result_line, timestamp};

/// Job subcommands.
#[derive(Subcommand)]
pub enum JobsCommand {
    /// The newest jobs first.
    List {
        /// How many to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only jobs in this state.
        #[arg(long, value_parser = parse_state)]
        state: Option<JobState>,
        /// Only jobs whose worst result is this one.
        #[arg(long, value_parser = parse_result)]
        result: Option<ResultStatus>,
        /// Only jobs whose plugin, action or targets contain this text.
        #[arg(long, value_name = "TEXT")]
        grep: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Run a job again as it ran (same action, params, targets and check
    /// mode; a playbook with the same inventory, limit and tags).
    Rerun {
        /// The job's number.
        id: i64,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Cancel a running job, whichever process runs it (another terminal,
    /// the window, the service): its commands are stopped on the hosts and
    /// it is recorded `cancelled` with what had finished.
    Cancel {
        /// The job's number.
        id: i64,
        /// Record the request and return without waiting for the job to stop.
        #[arg(long)]
        no_wait: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// One job: its results per target and its log.
    Show {
        /// The job's number.
        id: i64,
        #[command(flatten)]
        json: JsonFlag,
    },
}

fn parse_state(text: &str) -> Result<JobState, String> {
    JobState::from_name(text).ok_or_else(|| format!("one of {}", JobState::names()))
}

fn parse_result(text: &str) -> Result<ResultStatus, String> {
    ResultStatus::from_name(text)
        .ok_or_else(|| "one of ok, changed, failed, skipped, unreachable".into())
}

/// Runs a jobs subcommand.
pub async fn exec(capstan: &Capstan, command: JobsCommand) -> anyhow::Result<Exit> {
    match command {
        JobsCommand::Cancel { id, no_wait, json } => cancel(capstan, id, no_wait, json.json).await,
        JobsCommand::Rerun { id, json } => match capstan.rerun_of(id)? {
            Rerun::Action(request) => {
                crate::commands::run::run_request(capstan, request, json.json, false).await
            }
            Rerun::Playbook(options) => {
                crate::commands::playbook::run_options(
                    capstan,
                    options,
                    crate::commands::playbook::Printer::new(json.json),
                )
                .await
            }
        },
        JobsCommand::List {
            limit,
            state,
            result,
            grep,
            json,
        } => {
            let jobs = capstan.find_jobs(&JobFilter {
                state,
                result,
                text: grep,
                limit,
            })?;
            print_list(&jobs, json.json)
        }
        JobsCommand::Show { id, json } => print_detail(&capstan.job_detail(id, true)?, json.json),
    }
}

/// Prints jobs one per line, newest first (or as JSON).
pub fn print_list(jobs: &[JobRecord], json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(&jobs)?;
        return Ok(Exit::Success);
    }
    if jobs.is_empty() {
        println!("no jobs match: `capstan run PLUGIN ACTION` starts one");
    }
    for job in jobs {
        println!(
            "{:>5}  {}  {:<11} {:<9} {} {}{}  {}",
            job.id,
            timestamp(job.started_at_ms),
            job.state.name(),
            job.overall().map_or("-", |s| s.name()),
            job.plugin,
            job.action,
            if job.check { " (check)" } else { "" },
            job.targets.join(",")
        );
    }
    Ok(Exit::Success)
}

/// Prints one job: its results, a playbook's tasks, and its log (or all
/// of it as JSON).
pub fn print_detail(detail: &JobDetail, json: bool) -> anyhow::Result<Exit> {
    let (job, logs, tasks) = (&detail.job, &detail.logs, &detail.tasks);
    if json {
        let mut value = serde_json::to_value(job)?;
        value["logs"] = serde_json::to_value(logs)?;
        if !tasks.is_empty() {
            value["tasks"] = serde_json::to_value(tasks)?;
        }
        print_json(&value)?;
        return Ok(Exit::Success);
    }
    println!(
        "job {}: {} {}{}",
        job.id,
        job.plugin,
        job.action,
        if job.check { " (check mode)" } else { "" }
    );
    println!("state:   {}", job.state.name());
    println!("by:      {}", job.launched_by);
    if let Some(by) = &job.cancelled_by {
        println!("cancel:  asked by {by}");
    }
    println!("started: {}", timestamp(job.started_at_ms));
    if let Some(end) = job.finished_at_ms {
        println!(
            "ended:   {} ({} ms)",
            timestamp(end),
            end - job.started_at_ms
        );
    }
    println!("params:  {}", job.params);
    println!("results:");
    for result in &job.results {
        println!("  {}", result_line(result));
    }
    println!("recap:   {}", recap(&job.results));
    if let Some(error) = &job.error {
        println!("error:   {error}");
    }
    if !tasks.is_empty() {
        println!("tasks:");
        for task in tasks {
            println!(
                "  {:<12} {:<11} {} [{}] {}",
                task.host,
                if task.ignored {
                    "ignored"
                } else {
                    task.status.name()
                },
                task.task,
                task.module,
                first_line(&task.summary)
            );
        }
    }
    if !logs.is_empty() {
        println!("log:");
        for line in logs {
            println!(
                "  {} {:<5} {}",
                line.target,
                line.level.name(),
                first_line(&line.message)
            );
        }
    }
    Ok(Exit::Success)
}

/// How long `capstan jobs cancel` waits for the job's owner to stop it
/// (it looks every [`capstan_engine::CANCEL_POLL`]; stopping a command on a
/// host takes up to a few seconds more).
pub const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

async fn cancel(capstan: &Capstan, id: i64, no_wait: bool, json: bool) -> anyhow::Result<Exit> {
    let asked = capstan.cancel_job(id, &capstan.actor())?;
    let outcome = CancelOutcome::of(&asked, id)?;
    let job = if no_wait {
        capstan.job(id)?
    } else {
        let deadline = std::time::Instant::now() + CANCEL_WAIT;
        loop {
            let job = capstan.job(id)?;
            if job.state != JobState::Running || std::time::Instant::now() > deadline {
                break job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    report_cancel(outcome, &job, no_wait, json)
}

/// What became of a cancel request, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Recorded: the process running the job stops it.
    Requested,
    /// The job was no longer running.
    AlreadyEnded,
    /// Its process was gone: the job is now marked interrupted.
    OwnerGone,
}

impl CancelOutcome {
    /// The outcome of a request made in this process (an error for a job
    /// that does not exist).
    pub fn of(asked: &CancelRequest, id: i64) -> anyhow::Result<CancelOutcome> {
        Ok(match asked {
            CancelRequest::NoSuchJob => {
                return Err(crate::exit::BadInput(format!(
                    "there is no job {id} (`capstan jobs list` shows them)"
                ))
                .into());
            }
            CancelRequest::Recorded { .. } => CancelOutcome::Requested,
            CancelRequest::AlreadyEnded(_) => CancelOutcome::AlreadyEnded,
            CancelRequest::OwnerGone => CancelOutcome::OwnerGone,
        })
    }

    /// The outcome the API reported (`requested`, `already_ended`, `owner_gone`).
    pub fn from_name(name: &str) -> Option<CancelOutcome> {
        match name {
            "requested" => Some(CancelOutcome::Requested),
            "already_ended" => Some(CancelOutcome::AlreadyEnded),
            "owner_gone" => Some(CancelOutcome::OwnerGone),
            _ => None,
        }
    }
}

/// Says what became of a cancel request, given the job as it is after
/// waiting (or not) for it to stop; fails when it did not stop in time.
pub fn report_cancel(
    outcome: CancelOutcome,
    job: &JobRecord,
    no_wait: bool,
    json: bool,
) -> anyhow::Result<Exit> {
    let id = job.id;
    let running = job.state == JobState::Running;
    let said = match outcome {
        CancelOutcome::AlreadyEnded => format!("job {id} had already ended: {}", job.state),
        CancelOutcome::OwnerGone => {
            format!("job {id}'s process is gone: it is now marked interrupted")
        }
        CancelOutcome::Requested if no_wait => format!("job {id}: cancel requested"),
        CancelOutcome::Requested if running => format!(
            "job {id}: cancel requested, but the process running it has not stopped it after {}s",
            CANCEL_WAIT.as_secs()
        ),
        CancelOutcome::Requested => format!("job {id}: {}", job.state),
    };
    if json {
        print_json(job)?;
    } else {
        println!("{said}");
    }
    let stopped = outcome != CancelOutcome::Requested || no_wait || !running;
    Ok(if stopped { Exit::Success } else { Exit::Failed })
}
