//! `capstan`: everything the desktop app does, from a terminal or a script.

mod commands;
mod exit;
mod interrupt;
mod output;
mod remote;
mod terminal;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use capstan_engine::plugin::{HostConfig, HostStart};
use capstan_engine::{BundledPlugin, Capstan, Home};

/// Capstan: servers, containers, pipelines and proxies, run by sandboxed plugins.
#[derive(Parser)]
#[command(name = "capstan", version, about, propagate_version = true)]
struct Cli {
    /// Data folder (database, installed plugins). Default: the platform's
    /// data folder, e.g. ~/.local/share/capstan. Compiled plugin code is
    /// kept apart, in CAPSTAN_CACHE or e.g. ~/.cache/capstan/compiled.
    #[arg(long, global = true, env = "CAPSTAN_HOME", value_name = "DIR")]
    home: Option<PathBuf>,

    /// Work through a `capstan serve` instead of on this machine:
    /// `https://host:port`, or `unix:///path/to/capstan.sock`. Runs,
    /// playbooks (their folder is uploaded) and the job history go
    /// through it, on its inventory, host keys and credentials.
    #[arg(long, global = true, env = "CAPSTAN_SERVER", value_name = "URL")]
    server: Option<String>,

    /// With --server: a file holding the API token (default: the
    /// CAPSTAN_TOKEN environment variable).
    #[arg(long, global = true, env = "CAPSTAN_TOKEN_FILE", value_name = "FILE")]
    token_file: Option<PathBuf>,

    /// With --server over https: a certificate (PEM) to trust besides the
    /// system's, such as a `capstan serve --self-signed` one.
    #[arg(long, global = true, env = "CAPSTAN_CA_CERT", value_name = "FILE")]
    ca_cert: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install, inspect, grant and remove plugins.
    #[command(subcommand)]
    Plugin(commands::plugin::PluginCommand),
    /// Manage the inventory of hosts and check Capstan can log in.
    #[command(subcommand)]
    Hosts(commands::hosts::HostsCommand),
    /// Run a plugin action on targets, as a recorded job.
    Run(commands::run::RunArgs),
    /// Run Ansible playbooks.
    #[command(subcommand)]
    Playbook(commands::playbook::PlaybookCommand),
    /// Run one module on the hosts a pattern names, as Ansible's ad-hoc
    /// `ansible` does (`capstan adhoc all -m ping`).
    Adhoc(commands::adhoc::AdhocArgs),
    /// Who installed, replaced, removed, granted or revoked which plugin, and when.
    Audit(commands::audit::AuditArgs),
    /// What the window's Overview shows: hosts by environment, running and
    /// failed jobs, this machine's containers and services.
    Overview(commands::plugin::JsonFlag),
    /// Look at job history; cancel a running job.
    #[command(subcommand)]
    Jobs(commands::jobs::JobsCommand),
    /// Run as a service: the HTTP API on a Unix socket in the data folder
    /// (and on TCP with --listen), until SIGTERM.
    Serve(commands::serve::ServeArgs),
    /// Jobs `capstan serve` runs at the times a cron expression names:
    /// add, list, show, pause, resume, remove.
    #[command(subcommand)]
    Schedules(commands::schedules::SchedulesCommand),
    /// The encrypted secrets store (values unattended runs need): set,
    /// list (names only), remove.
    #[command(subcommand)]
    Secrets(commands::secrets::SecretsCommand),
    /// Webhooks in: deliveries to `capstan serve` that start a job (add,
    /// list, remove).
    #[command(subcommand)]
    Webhooks(commands::webhooks::WebhooksCommand),
    /// Notifications of job ends: channels (Slack, signed webhooks), rules,
    /// and every delivery with its attempts; `capstan serve` sends them.
    #[command(subcommand)]
    Notifications(commands::notifications::NotificationsCommand),
    /// API tokens for `capstan serve`: create (the secret is shown once), list, revoke.
    #[command(subcommand)]
    Tokens(commands::tokens::TokensCommand),
    /// A host's Docker containers (and their logs).
    Containers(commands::docker::ContainersArgs),
    /// A swarm's services, with running and desired tasks (and each one's tasks).
    Services(commands::docker::ServicesArgs),
    /// A swarm's nodes.
    Nodes(commands::docker::SwarmListArgs),
    /// A host's Docker images.
    Images(commands::docker::SwarmListArgs),
    /// A host's Docker networks.
    Networks(commands::docker::SwarmListArgs),
    /// A host's Docker volumes.
    Volumes(commands::docker::SwarmListArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return exit::Exit::Internal.into();
        }
    };
    let result = runtime.block_on(async {
        if let Some(url) = &cli.server {
            return through_server(url, &cli.token_file, &cli.ca_cert, cli.command).await;
        }
        // A command that will call a plugin has its host built while the
        // store opens; the others never build it.
        let start = match cli.command {
            Command::Run(_) | Command::Playbook(_) | Command::Adhoc(_) | Command::Plugin(_) => {
                HostStart::Background
            }
            _ => HostStart::OnFirstUse,
        };
        let capstan = open(cli.home, start)?;
        match cli.command {
            Command::Plugin(cmd) => commands::plugin::exec(&capstan, cmd).await,
            Command::Hosts(cmd) => commands::hosts::exec(&capstan, cmd).await,
            Command::Run(args) => commands::run::exec(&capstan, args).await,
            Command::Playbook(cmd) => commands::playbook::exec(&capstan, cmd).await,
            Command::Adhoc(args) => commands::adhoc::exec(&capstan, args).await,
            Command::Jobs(cmd) => commands::jobs::exec(&capstan, cmd).await,
            Command::Overview(json) => commands::overview::exec(&capstan, json).await,
            Command::Audit(args) => commands::audit::exec(&capstan, args),
            Command::Tokens(cmd) => commands::tokens::exec(&capstan, cmd),
            Command::Schedules(cmd) => commands::schedules::exec(&capstan, cmd).await,
            Command::Secrets(cmd) => commands::secrets::exec(&capstan, cmd),
            Command::Webhooks(cmd) => commands::webhooks::exec(&capstan, cmd).await,
            Command::Notifications(cmd) => commands::notifications::exec(&capstan, cmd).await,
            Command::Serve(args) => commands::serve::exec(capstan, args).await,
            Command::Containers(args) => commands::docker::containers(&capstan, args).await,
            Command::Services(args) => commands::docker::services(&capstan, args).await,
            Command::Nodes(args) => commands::docker::nodes(&capstan, args).await,
            Command::Images(args) => commands::docker::images(&capstan, args).await,
            Command::Networks(args) => commands::docker::networks(&capstan, args).await,
            Command::Volumes(args) => commands::docker::volumes(&capstan, args).await,
        }
    });
    match result {
        Ok(code) => code.into(),
        Err(error) => {
            let code = exit::classify(&error);
            eprintln!("error: {error:#}");
            code.into()
        }
    }
}

/// Runs a command through a `capstan serve`.
async fn through_server(
    url: &str,
    token_file: &Option<PathBuf>,
    ca_cert: &Option<PathBuf>,
    command: Command,
) -> anyhow::Result<exit::Exit> {
    let server = remote::Server::new(url, token_file.as_deref(), ca_cert.as_deref())?;
    match command {
        Command::Run(args) => remote::run(&server, args).await,
        Command::Playbook(cmd) => remote::playbook(&server, cmd).await,
        Command::Jobs(cmd) => remote::jobs(&server, cmd).await,
        Command::Schedules(cmd) => remote::schedules(&server, cmd).await,
        Command::Secrets(cmd) => remote::secrets(&server, cmd).await,
        Command::Webhooks(cmd) => remote::webhooks(&server, cmd).await,
        Command::Notifications(cmd) => remote::notifications(&server, cmd).await,
        _ => Err(exit::BadInput(format!(
            "this command does not work through --server yet: run it on the service's machine \
             (through {url}: run, playbook run, jobs, schedules, secrets, webhooks, notifications)"
        ))
        .into()),
    }
}

fn open(home: Option<PathBuf>, start: HostStart) -> anyhow::Result<Capstan> {
    let home = match home {
        Some(dir) => Home::with_user_cache(dir)?,
        None => Home::from_env()?,
    };
    let bundled = capstan_bundled::PLUGINS.iter().map(|p| BundledPlugin {
        name: p.name,
        sha256: p.sha256,
        wasm: p.wasm,
    });
    let config = HostConfig {
        start,
        ..HostConfig::default()
    };
    Ok(Capstan::open_with(home, config)?.with_bundled(bundled))
}
