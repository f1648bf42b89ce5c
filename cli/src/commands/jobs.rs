//! `capstan jobs list|show|rerun`: the job history, filtered; one job;
//! a job run again as it ran.

use clap::Subcommand;

use capstan_engine::jobs::{JobState, ResultStatus};
use capstan_engine::{Capstan, JobFilter, Rerun};

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
    /// One job: its results per target and its log.
    Show {
        /// The job's number.
        id: i64,
        #[command(flatten)]
        json: JsonFlag,
    },
}

fn parse_state(text: &str) -> Result<JobState, String> {
    JobState::from_name(text).ok_or_else(|| "one of running, finished, interrupted".into())
}

fn parse_result(text: &str) -> Result<ResultStatus, String> {
    ResultStatus::from_name(text)
        .ok_or_else(|| "one of ok, changed, failed, skipped, unreachable".into())
}

/// Runs a jobs subcommand.
pub async fn exec(capstan: &Capstan, command: JobsCommand) -> anyhow::Result<Exit> {
    match command {
        JobsCommand::Rerun { id, json } => match capstan.rerun_of(id)? {
            Rerun::Action(request) => {
                crate::commands::run::run_request(capstan, request, json.json, false).await
            }
            Rerun::Playbook(options) => {
                crate::commands::playbook::run_options(capstan, options, json.json).await
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
            if json.json {
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
        JobsCommand::Show { id, json } => {
            let job = capstan.job(id)?;
            let logs = capstan.job_logs(id)?;
            let tasks = capstan.store().task_outcomes(id)?;
            if json.json {
                let mut value = serde_json::to_value(&job)?;
                value["logs"] = serde_json::to_value(&logs)?;
                if !tasks.is_empty() {
                    value["tasks"] = serde_json::to_value(&tasks)?;
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
                for task in &tasks {
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
                for line in &logs {
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
    }
}
