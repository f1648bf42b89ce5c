//! `capstan containers|services|nodes`: what a host's Docker engine runs,
//! as tables or JSON; container logs followed live; a container list kept
//! current from the engine's events (`--watch`).

use std::io::Write;

use clap::{Args, Subcommand};
use futures_util::StreamExt;

use capstan_engine::Capstan;
use capstan_engine::docker::{ContainerRow, LiveEngine};

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

/// Arguments of `capstan services`.
#[derive(Args)]
pub struct ServicesArgs {
    #[command(subcommand)]
    command: Option<ServicesCommand>,
    #[command(flatten)]
    list: SwarmListArgs,
}

/// Service subcommands.
#[derive(Subcommand)]
pub enum ServicesCommand {
    /// A service's tasks: where each replica runs, its state, why it failed.
    Ps {
        /// The service's name or id.
        service: String,
        #[command(flatten)]
        host: HostFlag,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// Arguments of the plain lists (`nodes`, `images`, `networks`, `volumes`).
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
        LiveEngine::follow(engine, |view, change| {
            let mut out = std::io::stdout().lock();
            // Clear the screen and redraw: a terminal list, like `watch`.
            let _ = write!(out, "\x1b[2J\x1b[H");
            print_containers(&mut out, &view.containers());
            if !change.id.is_empty() {
                let _ = writeln!(
                    out,
                    "\nlast event: {} {} {}",
                    change.kind, change.action, change.id
                );
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
    let lines = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.id.clone(),
                r.state.to_string(),
                r.status.clone(),
                r.image.clone(),
                r.ports.clone(),
            ]
        })
        .collect();
    write_table(
        out,
        &["NAME", "ID", "STATE", "STATUS", "IMAGE", "PORTS"],
        lines,
    );
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
pub async fn services(capstan: &Capstan, args: ServicesArgs) -> anyhow::Result<Exit> {
    if let Some(ServicesCommand::Ps {
        service,
        host,
        json,
    }) = args.command
    {
        let engine = capstan.docker_engine(&host.host).await?;
        let rows = engine.task_rows(&service).await?;
        if json.json {
            print_json(&rows)?;
            return Ok(Exit::Success);
        }
        let header = ["ID", "SLOT", "NODE", "DESIRED", "STATE", "IMAGE", "ERROR"];
        let lines = rows
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.slot.to_string(),
                    r.node.clone(),
                    r.desired.to_string(),
                    r.state.to_string(),
                    r.image.clone(),
                    r.error.clone(),
                ]
            })
            .collect();
        print_table(&header, lines);
        return Ok(Exit::Success);
    }
    let args = args.list;
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
    let lines = rows
        .iter()
        .map(|r| {
            let replicas = format!("{}/{}", r.running, r.desired);
            vec![
                r.name.clone(),
                r.id.clone(),
                r.mode.to_string(),
                replicas,
                r.image.clone(),
                r.update.map(|u| u.to_string()).unwrap_or_default(),
                r.ports.clone(),
            ]
        })
        .collect();
    print_table(
        &["NAME", "ID", "MODE", "REPLICAS", "IMAGE", "UPDATE", "PORTS"],
        lines,
    );
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
    let lines = rows
        .iter()
        .map(|r| {
            vec![
                r.hostname.clone(),
                r.id.clone(),
                r.role.to_string(),
                r.availability.to_string(),
                r.state.to_string(),
                r.manager_status.clone(),
                r.engine.clone(),
                r.labels.join(","),
            ]
        })
        .collect();
    print_table(
        &[
            "HOSTNAME",
            "ID",
            "ROLE",
            "AVAILABILITY",
            "STATE",
            "MANAGER",
            "ENGINE",
            "LABELS",
        ],
        lines,
    );
    Ok(Exit::Success)
}

/// Prints `rows` as JSON or as a table of `header` and `cells` per row.
fn show<T: serde::Serialize>(
    rows: &[T],
    json: &JsonFlag,
    header: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<Exit> {
    if json.json {
        print_json(&rows)?;
    } else {
        print_table(header, rows.iter().map(cells).collect());
    }
    Ok(Exit::Success)
}

/// Runs `capstan images`.
pub async fn images(capstan: &Capstan, args: SwarmListArgs) -> anyhow::Result<Exit> {
    let rows = capstan
        .docker_engine(&args.host.host)
        .await?
        .image_rows()
        .await?;
    show(&rows, &args.json, &["ID", "SIZE", "TAGS"], |r| {
        let tags = if r.tags.is_empty() {
            "<none>".to_string()
        } else {
            r.tags.join(", ")
        };
        vec![r.id.clone(), format!("{:.1} MB", r.size as f64 / 1e6), tags]
    })
}

/// Runs `capstan networks`.
pub async fn networks(capstan: &Capstan, args: SwarmListArgs) -> anyhow::Result<Exit> {
    let rows = capstan
        .docker_engine(&args.host.host)
        .await?
        .network_rows()
        .await?;
    show(
        &rows,
        &args.json,
        &["NAME", "ID", "DRIVER", "SCOPE", "STACK"],
        |r| {
            let stack = r.stack.clone().unwrap_or_default();
            vec![
                r.name.clone(),
                r.id.clone(),
                r.driver.clone(),
                r.scope.clone(),
                stack,
            ]
        },
    )
}

/// Runs `capstan volumes`.
pub async fn volumes(capstan: &Capstan, args: SwarmListArgs) -> anyhow::Result<Exit> {
    let rows = capstan
        .docker_engine(&args.host.host)
        .await?
        .volume_rows()
        .await?;
    show(
        &rows,
        &args.json,
        &["NAME", "DRIVER", "STACK", "MOUNTPOINT"],
        |r| {
            let stack = r.stack.clone().unwrap_or_default();
            vec![
                r.name.clone(),
                r.driver.clone(),
                stack,
                r.mountpoint.clone(),
            ]
        },
    )
}

/// Prints rows under a header, each column as wide as its widest cell.
fn print_table(header: &[&str], rows: Vec<Vec<String>>) {
    write_table(&mut std::io::stdout().lock(), header, rows);
}

fn write_table(out: &mut impl Write, header: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        let _ = writeln!(out, "none");
        return;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}
