//! `capstan schedules add|list|show|pause|resume|remove`: jobs that
//! `capstan serve` runs at the times a cron expression names. What a
//! schedule runs is written as the command would be, after `--`:
//!
//! ```text
//! capstan schedules add nightly --cron '0 3 * * *' --tz Europe/Paris -- playbook run site.yml
//! ```

use clap::{Args, Parser, Subcommand};

use capstan_engine::Capstan;
use capstan_wire::schedules::{
    Misfire, Overlap, Schedule, ScheduleSpec, ScheduledJob, ScheduledPlaybook,
};

use crate::commands::playbook::PlaybookCommand;
use crate::commands::plugin::JsonFlag;
use crate::commands::run::RunArgs;
use crate::exit::{BadInput, Exit};
use crate::output::{print_json, timestamp};

/// Schedule subcommands.
#[derive(Subcommand)]
pub enum SchedulesCommand {
    /// Add a schedule; what it runs follows `--`, as `run PLUGIN ACTION …`
    /// or `playbook run FILE …` would be typed.
    Add(AddArgs),
    /// Every schedule with its next times, what it fired and skipped.
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// One schedule.
    Show {
        /// Its name.
        name: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Stop a schedule firing until it is resumed.
    Pause {
        /// Its name.
        name: String,
    },
    /// Let a paused schedule fire again, from now on.
    Resume {
        /// Its name.
        name: String,
    },
    /// Remove a schedule (its jobs stay in the history).
    Remove {
        /// Its name.
        name: String,
    },
}

/// Arguments of `capstan schedules add`.
#[derive(Args)]
pub struct AddArgs {
    /// Its name: its jobs are launched by `schedule:NAME`.
    name: String,
    /// When: 5 fields (`0 3 * * *`), or 6 with seconds first (`*/30 * * * * *`).
    #[arg(long, value_name = "EXPR")]
    cron: String,
    /// The time zone the expression is read in (an IANA name such as
    /// Europe/Paris; default UTC).
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// While its last job still runs: skip the firing, or allow another.
    #[arg(long, default_value = "skip", value_parser = parse_overlap)]
    overlap: Overlap,
    /// Times missed while the service was down: run once when it starts, or skip them.
    #[arg(long, default_value = "run-once", value_parser = parse_misfire)]
    misfire: Misfire,
    /// What it runs: `run PLUGIN ACTION …` or `playbook run FILE …`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

fn parse_overlap(text: &str) -> Result<Overlap, String> {
    Overlap::from_name(text).ok_or_else(|| format!("one of {}", Overlap::names()))
}

fn parse_misfire(text: &str) -> Result<Misfire, String> {
    Misfire::from_name(text).ok_or_else(|| format!("one of {}", Misfire::names()))
}

/// The command after `--`, parsed as `capstan` would parse it.
#[derive(Parser)]
#[command(
    name = "capstan schedules add NAME --cron EXPR --",
    no_binary_name = true
)]
struct Scheduled {
    #[command(subcommand)]
    command: ScheduledCommand,
}

#[derive(Subcommand)]
enum ScheduledCommand {
    /// A plugin action.
    Run(RunArgs),
    /// A playbook.
    #[command(subcommand)]
    Playbook(PlaybookCommand),
}

impl AddArgs {
    /// The schedule these arguments describe.
    pub fn into_spec(self) -> anyhow::Result<ScheduleSpec> {
        Ok(ScheduleSpec {
            job: stored_job(&self.command)?,
            name: self.name,
            cron: self.cron,
            tz: self.tz,
            overlap: self.overlap,
            misfire: self.misfire,
        })
    }
}

/// A job kept to run later (by a schedule or a webhook), from the command
/// written after `--`: a playbook's paths made absolute, since the
/// service does not run in this folder.
pub fn stored_job(command: &[String]) -> anyhow::Result<ScheduledJob> {
    let parsed = Scheduled::try_parse_from(command)
        .map_err(|e| BadInput(format!("the command after --: {}", e.render())))?;
    Ok(match parsed.command {
        ScheduledCommand::Run(args) => ScheduledJob::Action {
            request: args.into_request()?,
        },
        ScheduledCommand::Playbook(PlaybookCommand::Run(args)) => {
            if args.reads_local_secrets() {
                return Err(BadInput(
                    "--secret and --become-password-env cannot be kept to run later: they read this process's environment; \
                     put the value in the secrets store (`capstan secrets set NAME`) and use --stored-secret NAME"
                        .into(),
                )
                .into());
            }
            if let Some(flag) = args.local_only() {
                return Err(BadInput(format!(
                    "{flag} cannot be kept: a kept run is a whole run from the first task"
                ))
                .into());
            }
            let stored_secrets = args.stored_secrets().to_vec();
            let options = args.into_options()?;
            let absolute = |path: &std::path::Path| {
                std::path::absolute(path)
                    .map(|p| p.display().to_string())
                    .map_err(|e| BadInput(format!("{}: {e}", path.display())))
            };
            ScheduledJob::Playbook {
                playbook: ScheduledPlaybook {
                    playbook: absolute(&options.playbook)?,
                    inventory: options.inventory.as_deref().map(absolute).transpose()?,
                    limit: options.limit,
                    tags: options.tags,
                    skip_tags: options.skip_tags,
                    extra_vars: options.extra_vars,
                    stored_secrets,
                    become_password_secret: options.become_password_secret,
                    check: options.check,
                    diff: options.diff,
                },
            }
        }
    })
}

/// Runs a schedules subcommand on this machine's store.
pub async fn exec(capstan: &Capstan, command: SchedulesCommand) -> anyhow::Result<Exit> {
    let me = capstan.actor();
    match command {
        SchedulesCommand::Add(args) => {
            let schedule = capstan.add_schedule(args.into_spec()?, &me).await?;
            print_added(&schedule);
            Ok(Exit::Success)
        }
        SchedulesCommand::List { json } => print_list(&capstan.schedules()?, json.json),
        SchedulesCommand::Show { name, json } => print_one(&capstan.schedule(&name)?, json.json),
        SchedulesCommand::Pause { name } => {
            print_one(&capstan.pause_schedule(&name, true, &me)?, false)
        }
        SchedulesCommand::Resume { name } => {
            print_one(&capstan.pause_schedule(&name, false, &me)?, false)
        }
        SchedulesCommand::Remove { name } => {
            capstan.remove_schedule(&name, &me)?;
            println!("schedule {name} removed (its jobs stay in the history)");
            Ok(Exit::Success)
        }
    }
}

/// Says a schedule was added, and when it fires next.
pub fn print_added(schedule: &Schedule) {
    println!(
        "schedule {} added: {}; next {}",
        schedule.spec.name,
        schedule.spec.job.describe(),
        next(schedule)
    );
    eprintln!("(`capstan serve` runs schedules: they fire only while it runs)");
}

/// Prints schedules, one per line (or as JSON).
pub fn print_list(schedules: &[Schedule], json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(&schedules)?;
        return Ok(Exit::Success);
    }
    if schedules.is_empty() {
        println!("no schedules: `capstan schedules add NAME --cron EXPR -- run …` adds one");
    }
    for s in schedules {
        println!(
            "{:<16} {:<22} {:<7} next {:<24} fired {:<4} skipped {:<4} {}",
            s.spec.name,
            when(s),
            if s.paused { "paused" } else { "active" },
            next(s),
            s.fired,
            s.skipped,
            s.spec.job.describe()
        );
    }
    Ok(Exit::Success)
}

/// Prints one schedule (or it as JSON).
pub fn print_one(s: &Schedule, json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(s)?;
        return Ok(Exit::Success);
    }
    println!("schedule {}: {}", s.spec.name, s.spec.job.describe());
    println!("when:     {}", when(s));
    println!("state:    {}", if s.paused { "paused" } else { "active" });
    println!("overlap:  {}", s.spec.overlap);
    println!("misfire:  {}", s.spec.misfire);
    println!("by:       {}", s.created_by);
    println!("fired:    {} (skipped {})", s.fired, s.skipped);
    if let Some(job) = s.last_job_id {
        println!("last job: {job} (`capstan jobs show {job}`)");
    }
    for (i, at) in s.next_runs_ms.iter().enumerate() {
        println!(
            "{} {} UTC",
            if i == 0 { "next:    " } else { "         " },
            timestamp(*at)
        );
    }
    Ok(Exit::Success)
}

fn when(s: &Schedule) -> String {
    match &s.spec.tz {
        Some(tz) => format!("{} ({tz})", s.spec.cron),
        None => s.spec.cron.clone(),
    }
}

fn next(s: &Schedule) -> String {
    s.next_runs_ms
        .first()
        .map_or_else(|| "-".to_string(), |at| format!("{} UTC", timestamp(*at)))
}
