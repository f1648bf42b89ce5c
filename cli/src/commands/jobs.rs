//! `capstan jobs list|show`: the job history.

use clap::Subcommand;

use capstan_engine::Capstan;

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

/// Runs a jobs subcommand.
pub fn exec(capstan: &Capstan, command: JobsCommand) -> anyhow::Result<Exit> {
    match command {
        JobsCommand::List { limit, json } => {
            let jobs = capstan.jobs(limit)?;
            if json.json {
                print_json(&jobs)?;
                return Ok(Exit::Success);
            }
            if jobs.is_empty() {
                println!("no jobs yet: `capstan run PLUGIN ACTION`");
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
