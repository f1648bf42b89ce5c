//! `docker.read` and `docker.write`: the Docker engines of the run's
//! targets, and only theirs. Reads (info, inspect, list, logs) need
//! `docker.read`; anything that changes an engine needs `docker.write`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::{Capability, HostError, SharedGrants};
use crate::target::Target;
use capstan_docker::{BuildRequest, ContainerOp, DockerError, Engine, NodeRole, ObjectKind};
use capstan_remote::{ExecRequest, RemoteError};

/// The largest build context or image tar the host moves for a plugin.
const MAX_ARCHIVE_BYTES: u64 = 1 << 30;

/// The docker capabilities of one call.
pub struct DockerCapability {
    grants: SharedGrants,
    targets: Arc<Vec<Target>>,
    output_limit: u64,
    /// Why an engine could not be reached, once one could not.
    unreachable: Option<String>,
}

impl DockerCapability {
    /// Access to the engines of `targets`, answers capped at `output_limit`.
    pub fn new(grants: SharedGrants, targets: Arc<Vec<Target>>, output_limit: u64) -> Self {
        DockerCapability {
            grants,
            targets,
            output_limit,
            unreachable: None,
        }
    }

    /// Why an engine of this call could not be reached, if one could not.
    pub fn unreachable(&self) -> Option<&str> {
        self.unreachable.as_deref()
    }

    fn target(&self, cap: Capability, name: &str) -> Result<&Target, HostError> {
        super::run_target(&self.grants, cap, &self.targets, name)
    }

    async fn engine(&mut self, cap: Capability, name: &str) -> Result<Engine, HostError> {
        let target = self.target(cap, name)?.clone();
        let result = target.docker().await;
        let engine = result.map_err(|e| self.fail(e))?;
        Ok(engine.with_answer_limit(self.output_limit))
    }

    fn fail(&mut self, e: DockerError) -> HostError {
        match e {
            DockerError::Unreachable(m) => {
                self.unreachable.get_or_insert_with(|| m.clone());
                HostError::Unavailable(m)
            }
            DockerError::Invalid(m) => HostError::Invalid(m),
            DockerError::TooLarge(m) => HostError::Limit(m),
            other => HostError::Failed(other.to_string()),
        }
    }

    fn capped(&self, text: String) -> Result<String, HostError> {
        if text.len() as u64 > self.output_limit {
            return Err(HostError::Limit(format!(
                "the engine's answer is {} bytes, over the {}-byte output limit",
                text.len(),
                self.output_limit
            )));
        }
        Ok(text)
    }

    /// The engine's `/info` document.
    pub async fn info(&mut self, target: &str) -> Result<String, HostError> {
        let engine = self.engine(Capability::DockerRead, target).await?;
        let result = engine.info().await;
        let value = result.map_err(|e| self.fail(e))?;
        self.capped(value.to_string())
    }

    /// One object, or `None` when it does not exist.
    pub async fn inspect(
        &mut self,
        target: &str,
        kind: ObjectKind,
        id: &str,
    ) -> Result<Option<String>, HostError> {
        let engine = self.engine(Capability::DockerRead, target).await?;
        let result = engine.inspect(kind, id).await;
        match result.map_err(|e| self.fail(e))? {
            Some(value) => self.capped(value.to_string()).map(Some),
            None => Ok(None),
        }
    }

    /// Objects of a kind, as a JSON array.
    pub async fn list(
        &mut self,
        target: &str,
        kind: ObjectKind,
        filters: &str,
    ) -> Result<String, HostError> {
        let filters: HashMap<String, Vec<String>> = if filters.trim().is_empty() {
            HashMap::new()
        } else {
            serde_json::from_str(filters).map_err(|e| {
                HostError::Invalid(format!(
                    "filters must be a JSON map of lists of strings: {e}"
                ))
            })?
        };
        let engine = self.engine(Capability::DockerRead, target).await?;
        let result = engine.list(kind, filters).await;
        let value = result.map_err(|e| self.fail(e))?;
        self.capped(value.to_string())
    }

    /// The last lines a container wrote.
    pub async fn logs(
        &mut self,
        target: &str,
        container: &str,
        tail: u32,
    ) -> Result<String, HostError> {
        let engine = self.engine(Capability::DockerRead, target).await?;
        let result = engine.logs(container, tail).await;
        let text = result.map_err(|e| self.fail(e))?;
        self.capped(text)
    }

    /// Creates an object from its spec.
    pub async fn create(
        &mut self,
        target: &str,
        kind: ObjectKind,
        name: &str,
        spec: &str,
    ) -> Result<String, HostError> {
        let spec = parse_spec(kind, spec)?;
        let engine = self.engine(Capability::DockerWrite, target).await?;
        let result = engine.create(kind, name, spec).await;
        result.map_err(|e| self.fail(e))
    }

    /// Replaces a service's, node's or swarm's spec.
    pub async fn update(
        &mut self,
        target: &str,
        kind: ObjectKind,
        id: &str,
        version: u64,
        spec: &str,
    ) -> Result<(), HostError> {
        let spec = parse_spec(kind, spec)?;
        let engine = self.engine(Capability::DockerWrite, target).await?;
        let result = engine.update(kind, id, version, spec).await;
        result.map_err(|e| self.fail(e))
    }

    /// Removes an object.
    pub async fn remove(
        &mut self,
        target: &str,
        kind: ObjectKind,
        id: &str,
        force: bool,
    ) -> Result<(), HostError> {
        let engine = self.engine(Capability::DockerWrite, target).await?;
        let result = engine.remove(kind, id, force).await;
        result.map_err(|e| self.fail(e))
    }

    /// Starts, stops... a container.
    pub async fn container(
        &mut self,
        target: &str,
        id: &str,
        op: ContainerOp,
        timeout: Option<u32>,
    ) -> Result<(), HostError> {
        let engine = self.engine(Capability::DockerWrite, target).await?;
        let result = engine.container(id, op, timeout).await;
        result.map_err(|e| self.fail(e))
    }

    /// Builds an image from a folder on the target.
    pub async fn build_image(
        &mut self,
        target_name: &str,
        context: &str,
        build: BuildRequest,
    ) -> Result<String, HostError> {
        check_absolute(context)?;
        let engine = self.engine(Capability::DockerWrite, target_name).await?;
        let target = self.target(Capability::DockerWrite, target_name)?.clone();
        // The context is packed where it lives, as `docker build` does, and
        // sent to the engine as tar writes it.
        let request = ExecRequest {
            argv: vec![
                "tar".into(),
                "-C".into(),
                context.into(),
                "-cf".into(),
                "-".into(),
                ".".into(),
            ],
            ..Default::default()
        };
        let packed = target.stream_stdout(&request, MAX_ARCHIVE_BYTES).await;
        let (tar, broke) = packed.map_err(|e| self.remote_fail(e))?;
        let result = engine.build_image(build, tar).await;
        match broke.take() {
            Some(RemoteError::Failed(why)) => Err(HostError::Invalid(format!(
                "the build context {context} could not be packed: {why}"
            ))),
            Some(e) => Err(self.remote_fail(e)),
            None => result.map_err(|e| self.fail(e)),
        }
    }

    /// Loads images from a tar file on the target.
    pub async fn load_image(
        &mut self,
        target_name: &str,
        path: &str,
    ) -> Result<Vec<String>, HostError> {
        check_absolute(path)?;
        let engine = self.engine(Capability::DockerWrite, target_name).await?;
        let target = self.target(Capability::DockerWrite, target_name)?.clone();
        let read = target.stream_file(path, MAX_ARCHIVE_BYTES).await;
        let (tar, broke) = read.map_err(|e| self.remote_fail(e))?;
        let result = engine.load_image(tar).await;
        match broke.take() {
            Some(e) => Err(self.remote_fail(e)),
            None => result.map_err(|e| self.fail(e)),
        }
    }

    /// Starts a swarm on the target's engine.
    pub async fn swarm_init(
        &mut self,
        target: &str,
        advertise_addr: Option<String>,
    ) -> Result<String, HostError> {
        let engine = self.engine(Capability::DockerWrite, target).await?;
        let result = engine.swarm_init(advertise_addr).await;
        result.map_err(|e| self.fail(e))
    }

    /// Joins the target's engine to `manager`'s swarm.
    pub async fn swarm_join(
        &mut self,
        target: &str,
        manager: &str,
        role: NodeRole,
        advertise_addr: Option<String>,
    ) -> Result<(), HostError> {
        let engine = self.engine(Capability::DockerWrite, target).await?;
        let manager = self.engine(Capability::DockerWrite, manager).await?;
        let result = engine.swarm_join(&manager, role, advertise_addr).await;
        result.map_err(|e| self.fail(e))
    }

    /// Leaves the swarm.
    pub async fn swarm_leave(&mut self, target: &str, force: bool) -> Result<(), HostError> {
        let engine = self.engine(Capability::DockerWrite, target).await?;
        let result = engine.swarm_leave(force).await;
        result.map_err(|e| self.fail(e))
    }

    fn remote_fail(&mut self, e: RemoteError) -> HostError {
        match e {
            RemoteError::Unreachable(m) => {
                self.unreachable.get_or_insert_with(|| m.clone());
                HostError::Unavailable(m)
            }
            RemoteError::Unavailable(m) => HostError::Invalid(m),
            RemoteError::TooLarge(m) => HostError::Limit(m),
            RemoteError::Failed(m) => HostError::Failed(m),
        }
    }
}

fn parse_spec(kind: ObjectKind, spec: &str) -> Result<Value, HostError> {
    serde_json::from_str(spec)
        .map_err(|e| HostError::Invalid(format!("the {} spec is not JSON: {e}", kind.name())))
}

fn check_absolute(path: &str) -> Result<(), HostError> {
    if !path.starts_with('/') || path.contains('\0') {
        return Err(HostError::Invalid(format!(
            "`{}` is not an absolute path",
            path.escape_debug()
        )));
    }
    Ok(())
}
