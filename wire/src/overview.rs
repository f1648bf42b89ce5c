//! The Overview: hosts by environment, running and failed jobs, and this
//! machine's containers and services, in one answer.

use serde::{Deserialize, Serialize};

use crate::jobs::JobRow;

/// One environment's hosts, by what their last check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// How many containers a machine has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerCounts {
    /// Running now.
    pub running: usize,
    /// All of them, stopped ones included.
    pub total: usize,
}

/// What the Overview shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    /// Hosts per environment, in the order dev, preprod, prod, none.
    pub environments: Vec<EnvironmentHosts>,
    /// Jobs still running.
    pub running_jobs: usize,
    /// Recent jobs that failed, could not reach a host, or were
    /// interrupted.
    pub recent_failures: Vec<JobRow>,
    /// The newest jobs.
    pub recent_jobs: Vec<JobRow>,
    /// Containers on this machine, when it has an engine.
    pub containers: Option<ContainerCounts>,
    /// Swarm services this machine manages (none outside a swarm).
    pub services: Option<usize>,
    /// Why the local engine could not be read, if it could not.
    pub docker_error: Option<String>,
}
