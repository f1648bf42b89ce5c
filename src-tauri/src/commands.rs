//! The Tauri commands the UI calls (through `ui/src/api.rs`). Each maps
//! onto engine calls and returns what the page shows; errors are the
//! engine's message.

use std::collections::BTreeMap;

use capstan_engine::Capstan;
use capstan_engine::jobs::{JobState, ResultStatus};
use serde::Serialize;

/// What the Overview page shows.
#[derive(Debug, Serialize)]
pub struct Overview {
    environments: Vec<(String, usize)>,
    running_jobs: usize,
    recent_failures: Vec<(i64, String, String)>,
    recent_jobs: Vec<(i64, String, String, String)>,
    containers: Option<(usize, usize)>,
    services: Option<usize>,
    docker_error: Option<String>,
}

/// Hosts by environment, running and failed jobs, and this machine's
/// containers and services.
#[tauri::command]
pub async fn overview(capstan: tauri::State<'_, Capstan>) -> Result<Overview, String> {
    let hosts = capstan.hosts().map_err(|e| e.to_string())?;
    let mut environments: BTreeMap<String, usize> = BTreeMap::new();
    for host in &hosts {
        let env = host.environment.clone().unwrap_or_else(|| "none".into());
        *environments.entry(env).or_default() += 1;
    }
    let jobs = capstan.jobs(50).map_err(|e| e.to_string())?;
    let what = |j: &capstan_engine::jobs::JobRecord| format!("{} {}", j.plugin, j.action);
    let failed = |j: &capstan_engine::jobs::JobRecord| {
        matches!(
            j.overall(),
            Some(ResultStatus::Failed | ResultStatus::Unreachable)
        )
    };
    let (containers, services, docker_error) = match capstan.docker_engine("local").await {
        Ok(engine) => match engine.container_rows().await {
            Ok(rows) => {
                let running = rows.iter().filter(|r| r.state == "running").count();
                // Only a swarm manager has services to count.
                let manager = engine
                    .info()
                    .await
                    .is_ok_and(|info| info["Swarm"]["ControlAvailable"] == true);
                let services = match manager {
                    true => engine.service_rows().await.ok().map(|s| s.len()),
                    false => None,
                };
                (Some((running, rows.len())), services, None)
            }
            Err(e) => (None, None, Some(e.to_string())),
        },
        Err(e) => (None, None, Some(e.to_string())),
    };
    Ok(Overview {
        environments: environments.into_iter().collect(),
        running_jobs: jobs.iter().filter(|j| j.state == JobState::Running).count(),
        recent_failures: jobs
            .iter()
            .filter(|j| failed(j))
            .take(10)
            .map(|j| (j.id, what(j), j.targets.join(", ")))
            .collect(),
        recent_jobs: jobs
            .iter()
            .take(10)
            .map(|j| {
                let overall = j.overall().map_or("-", |s| s.name()).to_string();
                (j.id, what(j), j.state.name().to_string(), overall)
            })
            .collect(),
        containers,
        services,
        docker_error,
    })
}
