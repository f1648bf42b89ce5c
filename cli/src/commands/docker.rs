//! `capstan containers|services|nodes`: what a host's Docker engine runs,
//! as tables or JSON; container logs followed live; a container list kept
//! current from the engine's events (`--watch`).

use std::io::Write;

use clap::{Args, Subcommand};
use futures_util::StreamExt;

use capstan_engine::Capstan;
use capstan_engine::docker::{ContainerRow, LiveContainers};

use crate::commands::plugin::JsonFlag;
use crate::exit::Exit;
use crate::output::print_json;

/// Which engine to look at.
#[derive(Args)]
pub struct HostFlag {
    /// An inventory host, or `local` (this machine).
    #[arg(long, default_value = "local", value_name = "HOST")]
    host: String,
}

/// Arguments of `capstan containers`.
#[derive(Args)]
pub struct ContainersArgs {
    #[command(subcommand)]
    command: Option<ContainersCommand>,
    #[command(flatten)]
    host: HostFlag,
    #[command(flatten)]
    json: JsonFlag,
    /// Keep the list on screen, updated from the engine's events.
    #[arg(long)]
    watch: bool,
}

/// Container subcommands.
#[derive(Subcommand)]
pub enum ContainersCommand {
    /// A container's output.
    Logs {
        /// Name or id.
        container: String,
        /// Keep following it.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Lines from the end to start with.
        #[arg(long, default_value_t = 100)]
        tail: u32,
        #[command(flatten)]
        host: HostFlag,
    },
}

/// Arguments of `capstan services` and `capstan nodes`.
#[derive(Args)]
pub struct SwarmListArgs {
    #[command(flatten)]
    host: HostFlag,
    #[command(flatten)]
    json: JsonFlag,
}

/// Runs `capstan containers`.
pub async fn containers(capstan: &Capstan, args: ContainersArgs) -> anyhow::Result<Exit> {
    if let Some(ContainersCommand::Logs {
        container,
        follow,
        tail,
        host,
    }) = args.command
    {
        return logs(capstan, &host.host, &container, follow, tail).await;
    }
    let engine = capstan.docker_engine(&args.host.host).await?;
    if args.watch {
        LiveContainers::follow(engine, |view, change| {
            let mut out = std::io::stdout().lock();
            // Clear the screen and redraw: a terminal list, like `watch`.
            let _ = write!(out, "\x1b[2J\x1b[H");
            print_containers(&mut out, &view.rows());
            if !change.id.is_empty() {
                let _ = writeln!(out, "\nlast event: {} {}", change.action, change.id);
            }
            out.flush().is_ok()
        })
        .await?;
        return Ok(Exit::Success);
    }
    let rows = engine.container_rows().await?;
    if args.json.json {
        print_json(&rows)?;
    } else {
        print_containers(&mut std::io::stdout().lock(), &rows);
    }
    Ok(Exit::Success)
}

fn print_containers(out: &mut impl Write, rows: &[ContainerRow]) {
    if rows.is_empty() {
        let _ = writeln!(out, "no containers");
        return;
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "{:<width$}  {:<12}  {:<10}  {:<28}  {:<24}  PORTS",
        "NAME", "ID", "STATE", "STATUS", "IMAGE"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:<12}  {:<10}  {:<28}  {:<24}  {}",
            r.name, r.id, r.state, r.status, r.image, r.ports
        );
    }
}

async fn logs(
    capstan: &Capstan,
    host: &str,
    container: &str,
    follow: bool,
    tail: u32,
) -> anyhow::Result<Exit> {
    let engine = capstan.docker_engine(host).await?;
    if !follow {
        print!("{}", engine.logs(container, tail).await?);
        return Ok(Exit::Success);
    }
    let mut stream = std::pin::pin!(engine.follow_logs(container, tail));
    while let Some(chunk) = stream.next().await {
        let mut out = std::io::stdout().lock();
        out.write_all(chunk?.as_bytes())?;
        out.flush()?;
    }
    Ok(Exit::Success)
}

/// Runs `capstan services`.
pub async fn services(capstan: &Capstan, args: SwarmListArgs) -> anyhow::Result<Exit> {
    let engine = capstan.docker_engine(&args.host.host).await?;
    let rows = engine.service_rows().await?;
    if args.json.json {
        print_json(&rows)?;
        return Ok(Exit::Success);
    }
    if rows.is_empty() {
        println!("no services (is {} a swarm manager?)", args.host.host);
        return Ok(Exit::Success);
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:<12}  {:<10}  {:<8}  {:<28}  {:<18}  PORTS",
        "NAME", "ID", "MODE", "REPLICAS", "IMAGE", "UPDATE"
    );
    for r in rows {
        let replicas = format!("{}/{}", r.running, r.desired);
        println!(
            "{:<width$}  {:<12}  {:<10}  {:<8}  {:<28}  {:<18}  {}",
            r.name, r.id, r.mode, replicas, r.image, r.update, r.ports
        );
    }
    Ok(Exit::Success)
}

/// Runs `capstan nodes`.
pub async fn nodes(capstan: &Capstan, args: SwarmListArgs) -> anyhow::Result<Exit> {
    let engine = capstan.docker_engine(&args.host.host).await?;
    let rows = engine.node_rows().await?;
    if args.json.json {
        print_json(&rows)?;
        return Ok(Exit::Success);
    }
    if rows.is_empty() {
        println!("no nodes (is {} a swarm manager?)", args.host.host);
        return Ok(Exit::Success);
    }
    let width = rows
        .iter()
        .map(|r| r.hostname.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!(
        "{:<width$}  {:<12}  {:<8}  {:<12}  {:<8}  {:<10}  {:<10}  LABELS",
        "HOSTNAME", "ID", "ROLE", "AVAILABILITY", "STATE", "MANAGER", "ENGINE"
    );
    for r in rows {
        println!(
            "{:<width$}  {:<12}  {:<8}  {:<12}  {:<8}  {:<10}  {:<10}  {}",
            r.hostname,
            r.id,
            r.role,
            r.availability,
            r.state,
            r.manager_status,
            r.engine,
            r.labels.join(",")
        );
    }
    Ok(Exit::Success)
}
