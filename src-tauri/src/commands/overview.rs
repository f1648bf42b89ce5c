//! The Overview page: hosts by environment with their reachability, jobs
//! running and failing, and this machine's containers and services.

use std::collections::BTreeMap;
use std::sync::Arc;

use capstan_engine::Capstan;
use capstan_engine::docker::ObjectKind;
use capstan_engine::jobs::{JobState, ResultStatus};
use serde::Serialize;

use super::jobs::JobRow;
use crate::error::UiResult;

/// One environment's hosts, by what their last check found.
#[derive(Debug, Default, Serialize)]
pub struct EnvironmentHosts {
    /// `dev`, `preprod`, `prod`, or `none`.
    pub name: String,
    /// Hosts in it.
    pub hosts: usize,
    /// Reachable at their last check.
    pub reachable: usize,
    /// Unreachable at their last check.
    pub unreachable: usize,
}

/// What the Overview page shows.
#[derive(Debug, Serialize)]
pub struct Overview {
    /// Hosts per environment, in the order dev, preprod, prod, none.
    pub environments: Vec<EnvironmentHosts>,
    /// Jobs still running.
    pub running_jobs: usize,
    /// Recent jobs that failed or could not reach a host.
    pub recent_failures: Vec<JobRow>,
    /// The newest jobs.
    pub recent_jobs: Vec<JobRow>,
    /// Containers on this machine (running, all), when it has an engine.
    pub containers: Option<(usize, usize)>,
    /// Swarm services this machine manages (none outside a swarm).
    pub services: Option<usize>,
    /// Why the local engine could not be read, if it could not.
    pub docker_error: Option<String>,
}

/// Hosts by environment, running and failed jobs, and this machine's
/// containers and services.
#[tauri::command]
pub async fn overview(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Overview> {
    let checks = capstan.host_checks()?;
    let mut environments: BTreeMap<usize, EnvironmentHosts> = BTreeMap::new();
    for host in capstan.hosts()? {
        let name = host.environment.unwrap_or_else(|| "none".into());
        let order = ["dev", "preprod", "prod"]
            .iter()
            .position(|e| *e == name)
            .unwrap_or(3);
        let env = environments
            .entry(order)
            .or_insert_with(|| EnvironmentHosts {
                name,
                ..Default::default()
            });
        env.hosts += 1;
        match checks.iter().find(|c| c.name == host.name) {
            Some(c) if c.reachable => env.reachable += 1,
            Some(_) => env.unreachable += 1,
            None => {}
        }
    }
    let jobs = capstan.jobs(50)?;
    let failed = |j: &&capstan_engine::jobs::JobRecord| {
        matches!(
            j.overall(),
            Some(ResultStatus::Failed | ResultStatus::Unreachable)
        ) || j.state == JobState::Interrupted
    };
    let (containers, services, docker_error) = local_engine(&capstan).await;
    Ok(Overview {
        environments: environments.into_values().collect(),
        running_jobs: jobs.iter().filter(|j| j.state == JobState::Running).count(),
        recent_failures: jobs
            .iter()
            .filter(failed)
            .take(5)
            .map(JobRow::from)
            .collect(),
        recent_jobs: jobs.iter().take(10).map(JobRow::from).collect(),
        containers,
        services,
        docker_error,
    })
}

/// This machine's containers (running, all) and swarm services, or why
/// its engine could not be read.
async fn local_engine(
    capstan: &Capstan,
) -> (Option<(usize, usize)>, Option<usize>, Option<String>) {
    let engine = match capstan.docker_engine("local").await {
        Ok(engine) => engine,
        Err(e) => return (None, None, Some(e.to_string())),
    };
    let rows = match engine.container_rows().await {
        Ok(rows) => rows,
        Err(e) => return (None, None, Some(e.to_string())),
    };
    let running = rows.iter().filter(|r| r.state == "running").count();
    // Only a swarm manager has services to count; a count needs no rows
    // (which would list every task and node too).
    let manager = engine
        .info()
        .await
        .is_ok_and(|info| info["Swarm"]["ControlAvailable"] == true);
    let services = match manager {
        true => engine
            .list(ObjectKind::Service, Default::default())
            .await
            .ok()
            .map(|list| list.as_array().map_or(0, Vec::len)),
        false => None,
    };
    (Some((running, rows.len())), services, None)
}
