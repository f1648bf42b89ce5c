//! The engine's objects as rows, read on demand.

use std::collections::HashMap;

use futures_util::StreamExt;

use super::rows::{
    ContainerRow, ImageRow, NetworkRow, NodeRow, ServiceRow, TaskRow, VolumeRow, container_rows,
    image_rows, network_rows, node_rows, service_rows, task_rows, volume_rows,
};
use crate::{DockerError, Engine, ObjectKind};
use capstan_wire::docker::DockerSnapshot;

impl Engine {
    /// The containers (all states) as rows.
    pub async fn container_rows(&self) -> Result<Vec<ContainerRow>, DockerError> {
        Ok(container_rows(
            &self.list(ObjectKind::Container, HashMap::new()).await?,
        ))
    }

    /// The swarm's services as rows (an engine outside a swarm has none).
    pub async fn service_rows(&self) -> Result<Vec<ServiceRow>, DockerError> {
        Ok(self.swarm_rows().await?.0)
    }

    /// The swarm's nodes as rows (an engine outside a swarm has none).
    pub async fn node_rows(&self) -> Result<Vec<NodeRow>, DockerError> {
        if !self.is_swarm_manager().await? {
            return Ok(Vec::new());
        }
        Ok(node_rows(
            &self.list(ObjectKind::Node, HashMap::new()).await?,
        ))
    }

    /// The images as rows.
    pub async fn image_rows(&self) -> Result<Vec<ImageRow>, DockerError> {
        Ok(image_rows(
            &self.list(ObjectKind::Image, HashMap::new()).await?,
        ))
    }

    /// The networks as rows.
    pub async fn network_rows(&self) -> Result<Vec<NetworkRow>, DockerError> {
        Ok(network_rows(
            &self.list(ObjectKind::Network, HashMap::new()).await?,
        ))
    }

    /// The volumes as rows.
    pub async fn volume_rows(&self) -> Result<Vec<VolumeRow>, DockerError> {
        Ok(volume_rows(
            &self.list(ObjectKind::Volume, HashMap::new()).await?,
        ))
    }

    /// Every kind of object as rows, read together; `host` names the
    /// engine in the answer.
    pub async fn snapshot(&self, host: &str) -> Result<DockerSnapshot, DockerError> {
        let (containers, (services, nodes), images, networks, volumes) = futures_util::try_join!(
            self.container_rows(),
            self.swarm_rows(),
            self.image_rows(),
            self.network_rows(),
            self.volume_rows(),
        )?;
        Ok(DockerSnapshot {
            host: host.to_string(),
            containers,
            services,
            nodes,
            images,
            networks,
            volumes,
        })
    }

    /// The swarm's services and nodes as rows, the engine's info and its
    /// nodes read once for both (none outside a swarm manager).
    async fn swarm_rows(&self) -> Result<(Vec<ServiceRow>, Vec<NodeRow>), DockerError> {
        if !self.is_swarm_manager().await? {
            return Ok((Vec::new(), Vec::new()));
        }
        let none = HashMap::new;
        let (services, tasks, nodes) = futures_util::try_join!(
            self.list(ObjectKind::Service, none()),
            self.list(ObjectKind::Task, none()),
            self.list(ObjectKind::Node, none()),
        )?;
        let count = nodes.as_array().map_or(0, Vec::len);
        Ok((service_rows(&services, &tasks, count), node_rows(&nodes)))
    }

    /// A service's tasks (current and past) as rows.
    pub async fn task_rows(&self, service: &str) -> Result<Vec<TaskRow>, DockerError> {
        if !self.is_swarm_manager().await? {
            return Err(DockerError::Invalid(format!(
                "the engine at {} is not a swarm manager: it has no services",
                self.endpoint()
            )));
        }
        let Some(found) = self.inspect(ObjectKind::Service, service).await? else {
            return Err(DockerError::NotFound(format!(
                "no service {service} (`capstan services` lists them)"
            )));
        };
        let id = found["ID"].as_str().unwrap_or(service).to_string();
        let filters = HashMap::from([("service".to_string(), vec![id])]);
        let tasks = self.list(ObjectKind::Task, filters).await?;
        let nodes = self.list(ObjectKind::Node, HashMap::new()).await?;
        let names = nodes
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                (
                    n["ID"].as_str().unwrap_or("").to_string(),
                    n["Description"]["Hostname"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect();
        Ok(task_rows(&tasks, &names))
    }

    async fn is_swarm_manager(&self) -> Result<bool, DockerError> {
        let info = self.info().await?;
        Ok(info["Swarm"]["ControlAvailable"] == true)
    }

    /// Follows a container's output: each chunk as it is written, from the
    /// last `tail` lines on, until the container stops.
    pub fn follow_logs(
        &self,
        container: &str,
        tail: u32,
    ) -> impl futures_util::Stream<Item = Result<String, DockerError>> + '_ {
        let options = bollard::query_parameters::LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        self.client()
            .logs(container, Some(options))
            .map(move |chunk| {
                chunk
                    .map(|c| String::from_utf8_lossy(&c.into_bytes()).into_owned())
                    .map_err(|e| DockerError::from_bollard(self.endpoint(), e))
            })
    }
}
