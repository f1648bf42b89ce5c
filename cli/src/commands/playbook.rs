//! `capstan playbook run PLAYBOOK`: runs an Ansible playbook, printing
//! each task's result per host as Ansible does, a live progress line on a
//! terminal, and the PLAY RECAP.

use capstan_engine::yaml;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value as Json};

use capstan_engine::Capstan;
use capstan_engine::jobs::{JobRecord, JobState, JobUpdate, LogLevel, ResultStatus, UpdateStream};
use capstan_engine::playbook::outline::PlaybookOutline;
use capstan_engine::playbook::{PlaybookOptions, Recap, TaskOutcome};

use super::failure::{self, Origin};
use crate::exit::{BadInput, Exit};
use crate::output::print_json;

/// `capstan playbook ...`.
#[derive(Subcommand)]
pub enum PlaybookCommand {
    /// Run a playbook on the inventory's hosts.
    Run(PlaybookRunArgs),
}

/// Arguments of `capstan playbook run`.
#[derive(Args)]
pub struct PlaybookRunArgs {
    /// The playbook file (YAML).
    playbook: PathBuf,
    /// Only tasks with one of these tags (comma-separated, repeatable).
    #[arg(short = 't', long, value_name = "TAGS", value_delimiter = ',')]
    tags: Vec<String>,
    /// Not tasks with one of these tags.
    #[arg(long, value_name = "TAGS", value_delimiter = ',')]
    skip_tags: Vec<String>,
    /// Check the playbook and every file it reads (and the inventory),
    /// then stop: nothing runs and no job is recorded.
    #[arg(long)]
    syntax_check: bool,
    /// List each play's tasks (as --tags and --skip-tags select them), then stop.
    #[arg(long)]
    list_tasks: bool,
    /// Start at the first task whose name matches PATTERN (`*` and `?`
    /// as in a shell; a role's task also as `ROLE : NAME`): the tasks
    /// before it are passed over.
    #[arg(long, value_name = "PATTERN")]
    start_at_task: Option<String>,
    /// Refused: Capstan runs without prompting (see --start-at-task).
    #[arg(long)]
    step: bool,
    /// Run the handlers a host notified even when it failed afterwards
    /// (a play's `force_handlers:` still decides for itself).
    #[arg(long)]
    force_handlers: bool,
    /// Forget the facts a fact cache (ansible.cfg's `fact_caching =
    /// jsonfile`) kept from earlier runs before this one.
    #[arg(long)]
    flush_cache: bool,
    #[command(flatten)]
    run: RunFlags,
}

/// The flags a playbook run and an ad-hoc command share.
#[derive(Args)]
pub struct RunFlags {
    /// Inventory file (Ansible INI or YAML). Default: the stored inventory
    /// (`capstan hosts list`).
    #[arg(short = 'i', long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// Only hosts matching this pattern (e.g. `web:!web-3`).
    #[arg(short = 'l', long, value_name = "PATTERN")]
    limit: Option<String>,
    /// Extra variables: `key=value ...`, a JSON object, or `@FILE` (YAML
    /// or JSON). Repeatable; they win over every other variable.
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    extra_vars: Vec<String>,
    /// Check mode: change nothing, report what would change.
    #[arg(short = 'C', long)]
    check: bool,
    /// Show what changes in files, as diffs.
    #[arg(short = 'D', long)]
    diff: bool,
    /// Record the host keys of hosts seen for the first time instead of
    /// refusing them.
    #[arg(long)]
    trust_new_hosts: bool,
    /// Environment variable holding the sudo password, when `become` needs one.
    #[arg(long, value_name = "VAR", conflicts_with = "become_password_secret")]
    become_password_env: Option<String>,
    /// The stored secret (`capstan secrets set`) holding the sudo password:
    /// what a schedule or a run through `--server` uses.
    #[arg(long, value_name = "NAME")]
    become_password_secret: Option<String>,
    /// A secret variable: `NAME` takes its value from the environment
    /// variable NAME, `NAME=FILE` from a file (never from the command line).
    /// Usable as {{ NAME }}; masked in every stored or printed output.
    #[arg(long = "secret", value_name = "NAME[=FILE]")]
    secrets: Vec<String>,
    /// A secret variable from the secrets store (`capstan secrets set
    /// NAME`); through --server, the service's store. Masked like --secret.
    #[arg(long = "stored-secret", value_name = "NAME")]
    stored_secrets: Vec<String>,
    /// A file holding the vault password (its first line; an executable
    /// file is run and prints it). Repeatable.
    #[arg(long, value_name = "FILE", env = "ANSIBLE_VAULT_PASSWORD_FILE")]
    vault_password_file: Vec<PathBuf>,
    /// A vault id's password: `ID@FILE` (or just `FILE`). Repeatable.
    #[arg(long, value_name = "[ID@]FILE")]
    vault_id: Vec<String>,
    /// List each play's hosts, then stop.
    #[arg(long)]
    list_hosts: bool,
    /// More output, as ansible-playbook's: `-v` prints each task's result
    /// as JSON, `-vv` also how many plays the playbook holds.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    verbosity: u8,
    /// Print the recap and every task result as JSON on stdout.
    #[arg(long)]
    json: bool,
}

impl RunFlags {
    /// Whether it reads secrets from this process's environment or files
    /// (`--secret`, `--become-password-env`), which a schedule cannot.
    fn reads_local_secrets(&self) -> bool {
        !self.secrets.is_empty()
            || self.become_password_env.is_some()
            || !self.vault_password_file.is_empty()
            || !self.vault_id.is_empty()
    }

    /// The options these flags make for `playbook`, with `-e` and
    /// `--secret` read; what only a playbook run sets is left unset.
    pub fn options(&self, playbook: PathBuf) -> anyhow::Result<PlaybookOptions> {
        let mut extra_vars = Map::new();
        for spec in &self.extra_vars {
            extra_vars.extend(parse_extra_vars(spec)?);
        }
        let mut secret_vars = Vec::new();
        for spec in &self.secrets {
            let (name, value) = read_secret(spec)?;
            extra_vars.insert(name.clone(), Json::String(value));
            secret_vars.push(name);
        }
        Ok(PlaybookOptions {
            playbook,
            inventory: self.inventory.clone(),
            limit: self.limit.clone(),
            extra_vars,
            check: self.check,
            diff: self.diff,
            trust_new_hosts: self.trust_new_hosts,
            become_password_env: self.become_password_env.clone(),
            become_password_secret: self.become_password_secret.clone(),
            secret_vars,
            vault_password_files: self.vault_password_file.clone(),
            vault_ids: self.vault_id.clone(),
            ansible_cfg: true,
            ..PlaybookOptions::default()
        })
    }

    /// Whether to print the recap and tasks as JSON.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Runs `options` as these flags ask: lists the hosts and stops, or
    /// runs them with the stored secrets named, printing with `printer`.
    pub async fn run(
        &self,
        capstan: &Capstan,
        mut options: PlaybookOptions,
        printer: Printer,
    ) -> anyhow::Result<Exit> {
        if self.list_hosts {
            return print_outline(capstan, options, self.json, true, false);
        }
        capstan.add_stored_secrets(&mut options, &self.stored_secrets)?;
        run_options(capstan, options, printer).await
    }
}

/// Runs the subcommand.
pub async fn exec(capstan: &Capstan, command: PlaybookCommand) -> anyhow::Result<Exit> {
    match command {
        PlaybookCommand::Run(args) => run(capstan, args).await,
    }
}

async fn run(capstan: &Capstan, args: PlaybookRunArgs) -> anyhow::Result<Exit> {
    let (json, verbosity) = (args.run.json, args.run.verbosity);
    let options = args.options()?;
    if args.syntax_check || args.list_tasks {
        return print_outline(capstan, options, json, args.run.list_hosts, args.list_tasks);
    }
    let printer = Printer::new(json).verbosity(verbosity);
    if verbosity >= 2 && !args.run.list_hosts {
        let outline = capstan.outline_playbook(options.clone())?;
        printer.playbook_start(&outline);
    }
    args.run.run(capstan, options, printer).await
}

/// Prints the plays of `options` (their hosts, their tasks), or their
/// outline as JSON: nothing runs.
fn print_outline(
    capstan: &Capstan,
    options: PlaybookOptions,
    json: bool,
    hosts: bool,
    tasks: bool,
) -> anyhow::Result<Exit> {
    let outline = capstan.outline_playbook(options)?;
    if json {
        print_json(&outline)?;
    } else {
        print!("{}", outline_text(&outline, hosts, tasks));
    }
    Ok(Exit::Success)
}

impl PlaybookRunArgs {
    /// Whether to print the recap and tasks as JSON.
    pub fn json(&self) -> bool {
        self.run.json
    }

    /// How many `-v` were given.
    pub fn verbosity(&self) -> u8 {
        self.run.verbosity
    }

    /// Whether it reads secrets from this process's environment or files
    /// (`--secret`, `--become-password-env`), which a schedule cannot.
    pub fn reads_local_secrets(&self) -> bool {
        self.run.reads_local_secrets()
    }

    /// The option that makes it read the playbook and stop, if one is given.
    pub fn only_reads(&self) -> Option<&'static str> {
        [
            (self.syntax_check, "--syntax-check"),
            (self.run.list_hosts, "--list-hosts"),
            (self.list_tasks, "--list-tasks"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }

    /// The option only a run on this machine can take, if one is given:
    /// one that reads the playbook and stops, or `--start-at-task`. A run
    /// through `--server` or kept by a schedule refuses it.
    pub fn local_only(&self) -> Option<&'static str> {
        self.only_reads()
            .or(self.start_at_task.is_some().then_some("--start-at-task"))
            .or(self.force_handlers.then_some("--force-handlers"))
            .or(self.flush_cache.then_some("--flush-cache"))
            .or((self.run.verbosity >= 2).then_some("-vv"))
    }

    /// The secrets store's variables it names (`--stored-secret`).
    pub fn stored_secrets(&self) -> &[String] {
        &self.run.stored_secrets
    }

    /// The options these arguments make, with `-e` and `--secret` read.
    pub fn into_options(self) -> anyhow::Result<PlaybookOptions> {
        self.options()
    }

    /// [`PlaybookRunArgs::into_options`], leaving the arguments as they are.
    fn options(&self) -> anyhow::Result<PlaybookOptions> {
        if self.step {
            return Err(BadInput(
                "--step asks before each task, and Capstan runs without prompting: start part way \
                 with --start-at-task, pick tasks with --tags, or see changes first with --check"
                    .into(),
            )
            .into());
        }
        Ok(PlaybookOptions {
            tags: self.tags.clone(),
            skip_tags: self.skip_tags.clone(),
            start_at_task: self.start_at_task.clone(),
            force_handlers: self.force_handlers,
            flush_cache: self.flush_cache,
            ..self.run.options(self.playbook.clone())?
        })
    }
}

/// A playbook's plays as `ansible-playbook --list-hosts --list-tasks`
/// prints them (just `playbook: FILE` for `--syntax-check`).
fn outline_text(outline: &PlaybookOutline, hosts: bool, tasks: bool) -> String {
    use std::fmt::Write as _;
    let mut out = format!("\nplaybook: {}\n", outline.playbook);
    if !hosts && !tasks {
        return out;
    }
    let quoted = |items: &[String]| {
        items
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (n, play) in outline.plays.iter().enumerate() {
        let _ = write!(
            out,
            "\n  play #{} ({}): {}\tTAGS: [{}]\n",
            n + 1,
            play.pattern,
            play.name,
            play.tags.join(",")
        );
        if hosts {
            let _ = writeln!(
                out,
                "    pattern: [{}]",
                quoted(std::slice::from_ref(&play.pattern))
            );
            let _ = writeln!(out, "    hosts ({}):", play.hosts.len());
            for host in &play.hosts {
                let _ = writeln!(out, "      {host}");
            }
        }
        if tasks {
            let _ = writeln!(out, "    tasks:");
            for task in &play.tasks {
                let _ = writeln!(out, "      {}\tTAGS: [{}]", task.name, task.tags.join(", "));
            }
        }
    }
    out
}

/// Reads `--secret NAME` (from the environment) or `--secret NAME=FILE`.
fn read_secret(spec: &str) -> anyhow::Result<(String, String)> {
    let (name, file) = match spec.split_once('=') {
        Some((name, file)) => (name, Some(file)),
        None => (spec, None),
    };
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(BadInput(format!(
            "--secret {spec}: `{name}` is not a variable name (letters, digits, _)"
        ))
        .into());
    }
    let value = match file {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| BadInput(format!("--secret {name}: cannot read {file}: {e}")))?
            .trim_end_matches(['\n', '\r'])
            .to_string(),
        None => std::env::var(name).map_err(|_| {
            BadInput(format!(
                "--secret {name}: the environment variable {name} is not set \
                 (or give a file: --secret {name}=FILE)"
            ))
        })?,
    };
    Ok((name.to_string(), value))
}

/// Runs a playbook with `options`, printing as `ansible-playbook` does (or
/// the recap and tasks as JSON), and returns the exit code it means.
pub async fn run_options(
    capstan: &Capstan,
    options: PlaybookOptions,
    printer: Printer,
) -> anyhow::Result<Exit> {
    let printer = Arc::new(printer);
    let (sink, stream) = (printer.clone(), UpdateStream::default());
    let (control, _listening) = crate::interrupt::cancel_on_ctrl_c();
    let report = capstan
        .run_playbook_with(
            options,
            Arc::new(move |event| sink.update(&stream.of_playbook(event))),
            control,
        )
        .await?;
    let job = capstan.job(report.job_id)?;
    let tasks = capstan.store().task_outcomes(report.job_id)?;
    printer.finish_run(&job, &report.recap, &tasks)
}

/// `-e` in its three forms.
fn parse_extra_vars(spec: &str) -> anyhow::Result<Map<String, Json>> {
    if let Some(file) = spec.strip_prefix('@') {
        let text = yaml::read_file(std::path::Path::new(file), "vars file")
            .map_err(|e| BadInput(format!("-e @{file}: {e}")))?;
        let node = yaml::parse(file, &text, yaml::TopLevel::Mapping)
            .map_err(|e| BadInput(format!("-e @{file}: {e}")))?;
        let Json::Object(map) = node.to_json() else {
            return Err(BadInput(format!("-e @{file}: expected a mapping")).into());
        };
        return Ok(map);
    }
    if spec.trim_start().starts_with('{') {
        let value: Json = serde_json::from_str(spec)
            .map_err(|e| BadInput(format!("-e {spec}: not valid JSON: {e}")))?;
        let Json::Object(map) = value else {
            return Err(BadInput(format!("-e {spec}: expected a JSON object")).into());
        };
        return Ok(map);
    }
    let mut map = Map::new();
    // As Ansible splits it: quotes honoured, `{{ ... }}` kept whole.
    let words = capstan_engine::playbook::modules::split_words(spec)
        .map_err(|e| BadInput(format!("-e {spec}: {e}")))?;
    for (raw, word) in &words {
        let (key, value) = capstan_engine::playbook::modules::key_value(raw, word)
            .ok_or_else(|| BadInput(format!("-e: expected key=value, got `{word}`")))?;
        if key.is_empty() {
            return Err(BadInput(format!("-e: `{word}` has no variable name")).into());
        }
        map.insert(key.to_string(), Json::String(value.to_string()));
    }
    Ok(map)
}

/// Prints a playbook's updates as Ansible does, with a progress bar while
/// a task runs: the same for a local run and one followed through
/// `--server`.
pub struct Printer {
    json: bool,
    verbosity: u8,
    /// Print as Ansible's ad-hoc `ansible` does: one block per host, no
    /// banners, no recap.
    adhoc: bool,
    bar: Mutex<Option<ProgressBar>>,
    /// Where the running task is written.
    origin: Mutex<Option<Origin>>,
    /// Error blocks already printed: each is printed once, as Ansible's
    /// display does.
    errors_shown: Mutex<HashSet<String>>,
}

impl Printer {
    /// A printer; with `json`, lines for people go to stderr. A task's
    /// diff is printed whenever it has one: it has one only when `--diff`
    /// or its own `diff: true` asked.
    pub fn new(json: bool) -> Printer {
        Printer {
            json,
            verbosity: 0,
            adhoc: false,
            bar: Mutex::new(None),
            origin: Mutex::new(None),
            errors_shown: Mutex::new(HashSet::new()),
        }
    }

    /// With `-v`, each task's result is printed as JSON after its line.
    pub fn verbosity(mut self, verbosity: u8) -> Printer {
        self.verbosity = verbosity;
        self
    }

    /// Prints as Ansible's ad-hoc `ansible` does.
    pub fn adhoc(mut self) -> Printer {
        self.adhoc = true;
        self
    }

    /// `-vv`'s first lines: the playbook's name and how many plays it
    /// holds (those it imports counted), as ansible-playbook prints them.
    pub fn playbook_start(&self, outline: &PlaybookOutline) {
        let path = std::path::Path::new(&outline.playbook);
        let name = path.file_name().map_or(outline.playbook.clone(), |n| {
            n.to_string_lossy().into_owned()
        });
        self.say(&banner(&format!("PLAYBOOK: {name}")));
        self.say(&format!(
            "{} plays in {}",
            outline.plays.len(),
            outline.playbook
        ));
    }

    /// Prints a line for people: stdout normally, stderr under `--json`.
    fn say(&self, text: &str) {
        let bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let print = || {
            if self.json {
                eprintln!("{text}");
            } else {
                println!("{text}");
            }
        };
        match bar.as_ref() {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    fn start_bar(&self, name: &str, hosts: usize) {
        let bar = ProgressBar::new(hosts as u64);
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {msg} {pos}/{len} hosts {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(name.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Some(old) = self
            .bar
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(bar)
        {
            old.finish_and_clear();
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }

    /// Prints one update as `ansible-playbook` would.
    pub fn update(&self, update: &JobUpdate) {
        match update {
            JobUpdate::Started { job_id, .. } => {
                tracing::debug!(job_id, "playbook job started");
            }
            // The play's warnings were each said as the run's own log
            // line, as it gave them.
            JobUpdate::Play { hosts, .. } if self.adhoc => {
                if hosts.is_empty() {
                    self.say("[WARNING]: No hosts matched, nothing to do");
                }
            }
            JobUpdate::Play { name, hosts, .. } => {
                self.finish();
                self.say(&banner(&format!("PLAY [{name}]")));
                if hosts.is_empty() {
                    self.say("skipping: no hosts matched\n");
                }
            }
            JobUpdate::Task { .. } if self.adhoc => {}
            JobUpdate::Task {
                name,
                handler,
                hosts,
                origin,
                ..
            } => {
                self.finish();
                let kind = if *handler { "RUNNING HANDLER" } else { "TASK" };
                self.say(&banner(&format!("{kind} [{name}]")));
                let origin = origin.as_deref().and_then(Origin::parse);
                if self.verbosity >= 2
                    && let Some(origin) = &origin
                {
                    self.say(&origin.task_path());
                }
                *self.origin.lock().unwrap_or_else(|e| e.into_inner()) = origin;
                self.start_bar(name, *hosts);
            }
            // The run's own warnings (no target) are said as Ansible says
            // them.
            JobUpdate::Log {
                target,
                level: LogLevel::Warn,
                message,
                ..
            } if target.is_empty() => {
                for line in message.lines() {
                    self.say(&format!("[WARNING]: {line}"));
                }
            }
            // What the run says at -vv (`META:` lines), and its debug
            // lines at -vvvv (Ansible's ANSIBLE_DEBUG).
            JobUpdate::Log {
                target,
                level: level @ (LogLevel::Debug | LogLevel::Trace),
                message,
                ..
            } if target.is_empty() => {
                let wanted = if *level == LogLevel::Debug { 2 } else { 4 };
                if self.verbosity >= wanted {
                    self.say(message);
                }
            }
            // Plugins' log lines go to the job's log (`capstan jobs show`);
            // the run's output stays Ansible's.
            JobUpdate::Log { .. } | JobUpdate::TargetDone { .. } => {}
            JobUpdate::HostDone { outcome, .. } if self.adhoc => {
                self.say(&adhoc_block(outcome));
                if let Some(diff) = &outcome.diff {
                    self.say(diff.trim_end());
                }
            }
            JobUpdate::HostDone { outcome, .. } => {
                if outcome.status == ResultStatus::Failed {
                    self.show_error(outcome);
                }
                let mut line = host_line(outcome);
                if self.verbosity > 0
                    && let Some(result) = shown_result(outcome)
                {
                    line = format!("{line} => {result}");
                }
                self.say(&line);
                if let Some(diff) = &outcome.diff {
                    self.say(diff.trim_end());
                }
                if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    bar.inc(1);
                }
            }
            JobUpdate::Finished { error, .. } if self.adhoc => {
                if let Some(error) = error {
                    self.say(&format!("ERROR! {error}"));
                }
            }
            JobUpdate::Finished {
                job_id,
                recap,
                error,
                ..
            } => {
                self.finish();
                if let Some(error) = error {
                    self.say(&format!("\nERROR! {error}"));
                }
                self.say(&banner("PLAY RECAP"));
                let width = recap
                    .iter()
                    .map(|r| r.host.len())
                    .max()
                    .unwrap_or(0)
                    .max(20);
                for host in recap {
                    self.say(&recap_line(host, width));
                }
                self.say(&format!(
                    "\njob {job_id} (see `capstan jobs show {job_id}`)"
                ));
            }
        }
    }

    /// A failed result's `[ERROR]:` block with the task's source lines,
    /// unless the same block was printed already.
    fn show_error(&self, outcome: &TaskOutcome) {
        let origin = self
            .origin
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let block = failure::error_block(&outcome.module, &outcome.result, origin.as_ref());
        let fresh = self
            .errors_shown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(block.clone());
        if fresh {
            self.say(&block);
        }
    }

    /// After the run: the recap and tasks as JSON when asked, and the exit
    /// code the finished job means.
    pub fn finish_run(
        &self,
        job: &JobRecord,
        recap: &[Recap],
        tasks: &[TaskOutcome],
    ) -> anyhow::Result<Exit> {
        self.finish();
        if self.json {
            print_json(&serde_json::json!({
                "job_id": job.id,
                "recap": recap,
                "tasks": tasks,
            }))?;
        }
        let failed = job.error.is_some() || recap.iter().any(Recap::fails_run);
        Ok(if job.state == JobState::Cancelled {
            Exit::Cancelled
        } else if failed {
            Exit::Failed
        } else {
            Exit::Success
        })
    }
}

fn banner(title: &str) -> String {
    let stars = 72usize.saturating_sub(title.len() + 1).max(3);
    format!("\n{title} {}", "*".repeat(stars))
}

fn host_line(outcome: &TaskOutcome) -> String {
    let host = &outcome.host;
    let summary = outcome.summary.lines().next().unwrap_or("");
    match outcome.status {
        ResultStatus::Ok if outcome.module == "debug" => format!("ok: [{host}] => {summary}"),
        // A debug made `changed_when: true` still shows its message.
        ResultStatus::Changed if outcome.module == "debug" => {
            format!("changed: [{host}] => {summary}")
        }
        // Ansible's assert always shows its message.
        ResultStatus::Ok if outcome.module.rsplit('.').next() == Some("assert") => {
            match outcome.result.get("msg") {
                Some(msg) => format!("ok: [{host}] => {{\"changed\": false, \"msg\": {msg}}}"),
                None => format!("ok: [{host}]"),
            }
        }
        ResultStatus::Ok => format!("ok: [{host}]"),
        ResultStatus::Changed => format!("changed: [{host}]"),
        ResultStatus::Skipped => format!("skipping: [{host}]"),
        ResultStatus::Unreachable => format!("fatal: [{host}]: UNREACHABLE! => {summary}"),
        ResultStatus::Failed if outcome.ignored => {
            format!("fatal: [{host}]: FAILED! => {summary}\n...ignoring")
        }
        ResultStatus::Failed => format!("fatal: [{host}]: FAILED! => {summary}"),
    }
}

/// A host's result as Ansible's ad-hoc `ansible` prints it: `HOST |
/// STATUS => {result}`, or for a command its return code and output.
fn adhoc_block(outcome: &TaskOutcome) -> String {
    let host = &outcome.host;
    let status = match outcome.status {
        ResultStatus::Ok => "SUCCESS",
        ResultStatus::Changed => "CHANGED",
        ResultStatus::Skipped => "SKIPPED",
        ResultStatus::Unreachable => "UNREACHABLE!",
        ResultStatus::Failed => "FAILED!",
    };
    let command = matches!(
        outcome.module.rsplit('.').next(),
        Some("command" | "shell" | "raw" | "script")
    );
    let text = |key: &str| outcome.result.get(key).and_then(Json::as_str);
    if command
        && outcome.status != ResultStatus::Unreachable
        && let Some(rc) = outcome.result.get("rc")
    {
        let mut block = format!(
            "{host} | {status} | rc={rc} >>\n{}",
            text("stdout").unwrap_or("")
        );
        if let Some(stderr) = text("stderr").filter(|e| !e.is_empty()) {
            block = format!("{block}\n{stderr}");
        }
        return block;
    }
    let mut shown = Map::new();
    shown.insert(
        "changed".into(),
        Json::Bool(outcome.status == ResultStatus::Changed),
    );
    if let Json::Object(result) = &outcome.result {
        for (key, value) in result.iter().filter(|(k, _)| !k.starts_with("_ansible")) {
            shown.insert(key.clone(), value.clone());
        }
    }
    if outcome.status == ResultStatus::Failed && !shown.contains_key("msg") {
        shown.insert("msg".into(), Json::String(outcome.summary.clone()));
    }
    format!("{host} | {status} => {}", pretty_json(&Json::Object(shown)))
}

/// JSON laid out as Ansible prints a result: four spaces a level.
fn pretty_json(value: &Json) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    match serde::Serialize::serialize(value, &mut serializer) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => value.to_string(),
    }
}

/// A result as `-v` prints it after an ok or changed host's line: its
/// JSON on one line, without Ansible's internal `_ansible_` keys.
fn shown_result(outcome: &TaskOutcome) -> Option<String> {
    let shown = matches!(outcome.status, ResultStatus::Ok | ResultStatus::Changed)
        && outcome.module != "debug";
    let Json::Object(result) = &outcome.result else {
        return None;
    };
    let kept: Map<String, Json> = result
        .iter()
        .filter(|(k, _)| !k.starts_with("_ansible"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (shown && !kept.is_empty()).then(|| Json::Object(kept).to_string())
}

fn recap_line(recap: &Recap, width: usize) -> String {
    format!(
        "{:<width$} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={}",
        recap.host,
        recap.ok,
        recap.changed,
        recap.unreachable,
        recap.failed,
        recap.skipped,
        recap.rescued,
        recap.ignored
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_vars_forms() {
        let vars = parse_extra_vars("a=1 b=two").unwrap();
        assert_eq!(vars["a"], "1");
        assert_eq!(vars["b"], "two");
        let vars = parse_extra_vars(r#"{"n": 3}"#).unwrap();
        assert_eq!(vars["n"], 3);
        assert!(parse_extra_vars("oops").is_err());
        let vars = parse_extra_vars("a={{ b | default('x y') }} c='d e'").unwrap();
        assert_eq!(vars["a"], "{{ b | default('x y') }}");
        assert_eq!(vars["c"], "d e");
        assert!(parse_extra_vars("{nope").is_err());
    }
}
