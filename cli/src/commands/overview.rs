//! `capstan overview`: what the window's Overview shows — hosts by
//! environment and their last check, running and failed jobs, and this
//! machine's containers and swarm services.

use capstan_engine::Capstan;
use capstan_wire::jobs::JobRow;

use crate::commands::plugin::JsonFlag;
use crate::exit::Exit;
use crate::output::{print_json, timestamp};

/// Prints the overview.
pub async fn exec(capstan: &Capstan, json: JsonFlag) -> anyhow::Result<Exit> {
    let overview = capstan.overview().await?;
    if json.json {
        print_json(&overview)?;
        return Ok(Exit::Success);
    }
    println!("hosts:");
    if overview.environments.is_empty() {
        println!("  none yet: `capstan hosts add` or `capstan hosts import`");
    }
    for env in &overview.environments {
        let unchecked = env.hosts - env.reachable - env.unreachable;
        println!(
            "  {:<8} {:>4} hosts  {:>4} reachable  {:>4} unreachable  {:>4} not checked",
            env.name, env.hosts, env.reachable, env.unreachable, unchecked
        );
    }
    println!("jobs running: {}", overview.running_jobs);
    match (&overview.containers, &overview.docker_error) {
        (Some(c), _) => println!("containers here: {} running of {}", c.running, c.total),
        (None, Some(why)) => println!("containers here: unknown ({why})"),
        (None, None) => {}
    }
    if let Some(services) = overview.services {
        println!("swarm services here: {services}");
    }
    print_rows("recent failures", &overview.recent_failures);
    print_rows("recent jobs", &overview.recent_jobs);
    Ok(Exit::Success)
}

fn print_rows(title: &str, rows: &[JobRow]) {
    if rows.is_empty() {
        return;
    }
    println!("{title}:");
    for row in rows {
        println!(
            "  {:>5}  {}  {:<11} {:<11} {}{}  {}",
            row.id,
            timestamp(row.started_at_ms),
            row.state.name(),
            row.overall.map_or("-", |s| s.name()),
            row.what,
            if row.check { " (check)" } else { "" },
            row.targets
        );
    }
}
