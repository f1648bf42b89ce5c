//! What the faces show, assembled once in the engine: the Overview, hosts
//! with their last check, plugins with what they hold, a component file
//! described for the grant dialog. The CLI, the window and the API pass
//! these on; none of them aggregates on its own.

use std::collections::BTreeMap;

use capstan_wire::docker::ContainerState;
use capstan_wire::hosts::HostView;
use capstan_wire::jobs::JobRow;
use capstan_wire::overview::{ContainerCounts, EnvironmentHosts, Overview};
use capstan_wire::plugins::{ActionSummary, CapabilityView, Inspection, PluginView};

use super::{Capstan, Inspected};
use crate::Result;
use crate::jobs::{JobState, ResultStatus};
use capstan_docker::ObjectKind;
use capstan_plugin_host::capability::{Capability, GrantSet};
use capstan_plugin_host::plugin::Manifest;
use capstan_store::PluginRecord;

/// How many of the newest jobs the Overview looks through.
const OVERVIEW_JOBS: usize = 50;

impl Capstan {
    /// Hosts by environment, running and failed jobs, and this machine's
    /// containers and services.
    pub async fn overview(&self) -> Result<Overview> {
        let checks = self.host_checks()?;
        let mut environments: BTreeMap<usize, EnvironmentHosts> = BTreeMap::new();
        for host in self.hosts()? {
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
        let jobs = self.jobs(OVERVIEW_JOBS)?;
        let failed = |j: &&crate::jobs::JobRecord| {
            j.overall().is_some_and(ResultStatus::is_failure) || j.state == JobState::Interrupted
        };
        let (containers, services, docker_error) = match self.local_engine_counts().await {
            Ok((containers, services)) => (Some(containers), services, None),
            Err(why) => (None, None, Some(why)),
        };
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

    /// This machine's containers and, on a swarm manager, its services'
    /// count; or why its engine could not be read.
    async fn local_engine_counts(
        &self,
    ) -> std::result::Result<(ContainerCounts, Option<usize>), String> {
        let engine = self
            .docker_engine("local")
            .await
            .map_err(|e| e.to_string())?;
        let rows = engine.container_rows().await.map_err(|e| e.to_string())?;
        let counts = ContainerCounts {
            running: rows
                .iter()
                .filter(|r| r.state == ContainerState::Running)
                .count(),
            total: rows.len(),
        };
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
        Ok((counts, services))
    }

    /// Every host with its latest connection check.
    pub fn host_views(&self) -> Result<Vec<HostView>> {
        let mut checks = self.host_checks()?;
        Ok(self
            .hosts()?
            .into_iter()
            .map(|host| {
                let check = checks
                    .iter()
                    .position(|c| c.name == host.name)
                    .map(|i| checks.swap_remove(i));
                HostView { host, check }
            })
            .collect())
    }

    /// Every plugin: installed ones and bundled ones not installed yet,
    /// naturally sorted by name.
    pub async fn plugin_views(&self) -> Result<Vec<PluginView>> {
        let mut views: Vec<PluginView> = self
            .plugins()?
            .into_iter()
            .map(Capstan::installed_view)
            .collect();
        for bundled in self.bundled_not_installed()? {
            let inspected = self
                .inspect(
                    bundled.wasm.to_vec(),
                    &format!("bundled plugin {}", bundled.name),
                )
                .await?;
            // Installing it grants what it asks for.
            let held = GrantSet::new(inspected.requested.iter().copied());
            views.push(view(
                inspected.manifest.clone(),
                &inspected.requested,
                &held,
                true,
                false,
            ));
        }
        capstan_wire::natural::sort_naturally(&mut views, |v| &v.name);
        Ok(views)
    }

    /// One installed plugin as the list shows it.
    pub async fn plugin_view(&self, name: &str) -> Result<PluginView> {
        Ok(Capstan::installed_view(self.plugin(name).await?))
    }

    /// A component file described for the grant dialog: what it is, what
    /// it asks for, and what installing it would replace.
    pub fn inspection(&self, inspected: &Inspected) -> Result<Inspection> {
        Ok(Inspection {
            name: inspected.manifest.name.clone(),
            version: inspected.manifest.version.clone(),
            summary: inspected.manifest.summary.clone(),
            actions: inspected
                .manifest
                .actions
                .iter()
                .map(|a| ActionSummary {
                    name: a.name.clone(),
                    summary: a.summary.clone(),
                })
                .collect(),
            capabilities: capability_views(&inspected.requested, &GrantSet::default()),
            sha256: inspected.sha256.clone(),
            replaces: self.replaces(&inspected.manifest.name)?,
        })
    }
}

impl Capstan {
    /// An installed plugin's record (as `install` returns it) as every
    /// face shows it.
    pub fn installed_view(record: PluginRecord) -> PluginView {
        let asked: Vec<Capability> = record
            .manifest
            .capabilities
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect();
        view(
            record.manifest,
            &asked,
            &record.grants,
            record.bundled,
            true,
        )
    }
}

/// A plugin as the list shows it: what its manifest says, and which of the
/// capabilities it asked for it holds.
fn view(
    manifest: Manifest,
    asked: &[Capability],
    held: &GrantSet,
    bundled: bool,
    installed: bool,
) -> PluginView {
    PluginView {
        name: manifest.name,
        version: manifest.version,
        summary: manifest.summary,
        bundled,
        installed,
        actions: manifest.actions,
        capabilities: capability_views(asked, held),
        http_hosts: held.http_hosts().map(|h| h.to_string()).collect(),
        subscriptions: manifest.subscriptions,
    }
}

fn capability_views(asked: &[Capability], held: &GrantSet) -> Vec<CapabilityView> {
    asked
        .iter()
        .map(|&c| CapabilityView::new(c, held.contains(c)))
        .collect()
}
