//! One connected Docker engine and the operations the rest of Capstan uses,
//! with objects exchanged as the Engine API's JSON documents.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters as q;
use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::DockerError;
use super::raw::{Socket, encode};

/// A request body sent as it is read (an image tar, a build context): the
/// same type as `remote::stream::ByteStream`, named here so Docker needs
/// nothing from the transports.
pub type ByteStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static>,
>;

/// The kinds of objects an engine holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A container.
    Container,
    /// An image.
    Image,
    /// A network.
    Network,
    /// A volume.
    Volume,
    /// A swarm service.
    Service,
    /// A swarm node.
    Node,
    /// A swarm task (one replica of a service).
    Task,
    /// The swarm itself.
    Swarm,
}

impl ObjectKind {
    /// The kind's name as users read it.
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Container => "container",
            ObjectKind::Image => "image",
            ObjectKind::Network => "network",
            ObjectKind::Volume => "volume",
            ObjectKind::Service => "service",
            ObjectKind::Node => "node",
            ObjectKind::Task => "task",
            ObjectKind::Swarm => "swarm",
        }
    }
}

/// What to do to an existing container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerOp {
    /// Start it.
    Start,
    /// Stop it (SIGTERM, then SIGKILL after the grace period).
    Stop,
    /// Stop then start it.
    Restart,
    /// Send SIGKILL.
    Kill,
    /// Freeze its processes.
    Pause,
    /// Thaw them.
    Unpause,
}

/// The role a node joins a swarm with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRole {
    /// Takes part in the Raft quorum and accepts management calls.
    Manager,
    /// Runs tasks only.
    Worker,
}

/// How to build an image (its context comes as a stream beside it).
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// Dockerfile path inside the context.
    pub dockerfile: Option<String>,
    /// Names to tag the image with.
    pub tags: Vec<String>,
    /// `ARG` values.
    pub build_args: Vec<(String, String)>,
}

/// A connected engine, named for its error messages.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    socket: Socket,
    endpoint: String,
    /// Bytes of one answer (a JSON document, a container's log) read at most.
    answer_limit: u64,
}

/// How much of one answer an engine is read for, unless told otherwise.
pub const DEFAULT_ANSWER_LIMIT: u64 = 64 << 20;

impl Engine {
    /// Wraps a connected client; `endpoint` names it in errors.
    pub(super) fn new(docker: Docker, socket: Socket, endpoint: impl Into<String>) -> Self {
        Engine {
            docker,
            socket,
            endpoint: endpoint.into(),
            answer_limit: DEFAULT_ANSWER_LIMIT,
        }
    }

    /// The same engine, reading at most `bytes` of any one answer.
    pub fn with_answer_limit(mut self, bytes: u64) -> Engine {
        self.answer_limit = bytes;
        self
    }

    /// GETs an Engine API path (version prefix added) as raw JSON.
    async fn get(&self, path: &str) -> Result<Option<Value>, DockerError> {
        let version = self.docker.client_version();
        let full = format!(
            "/v{}.{}{path}",
            version.major_version, version.minor_version
        );
        self.socket
            .get_json(&self.endpoint, &full, self.answer_limit)
            .await
    }

    /// The bollard client, for streams (events, logs) the views follow.
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// Where this engine is, as errors name it.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn err(&self, e: bollard::errors::Error) -> DockerError {
        DockerError::from_bollard(&self.endpoint, e)
    }

    /// The engine's `/info` document.
    pub async fn info(&self) -> Result<Value, DockerError> {
        self.get("/info")
            .await?
            .ok_or_else(|| DockerError::Engine(format!("{} has no /info", self.endpoint)))
    }

    /// One object by name or id, as the engine documents it; `None` when
    /// it does not exist.
    pub async fn inspect(&self, kind: ObjectKind, id: &str) -> Result<Option<Value>, DockerError> {
        check_id(kind, id)?;
        let path = match kind {
            ObjectKind::Container => format!("/containers/{id}/json"),
            ObjectKind::Image => format!("/images/{id}/json"),
            ObjectKind::Network => format!("/networks/{id}"),
            ObjectKind::Volume => format!("/volumes/{id}"),
            ObjectKind::Service => format!("/services/{id}"),
            ObjectKind::Node => format!("/nodes/{id}"),
            ObjectKind::Task => format!("/tasks/{id}"),
            ObjectKind::Swarm => "/swarm".to_string(),
        };
        match self.get(&path).await {
            // The join tokens are secrets the host keeps: `swarm_join` uses
            // them without handing them to anyone.
            Ok(Some(mut value)) if kind == ObjectKind::Swarm => {
                if let Some(map) = value.as_object_mut() {
                    map.remove("JoinTokens");
                }
                Ok(Some(value))
            }
            // An engine outside any swarm answers 503 "not a swarm manager".
            Err(DockerError::Engine(m)) if kind == ObjectKind::Swarm && m.contains("503") => {
                Ok(None)
            }
            other => other,
        }
    }

    /// Objects of `kind` as a JSON array, narrowed by the engine's filters.
    pub async fn list(
        &self,
        kind: ObjectKind,
        filters: HashMap<String, Vec<String>>,
    ) -> Result<Value, DockerError> {
        let base = match kind {
            ObjectKind::Container => "/containers/json?all=1&",
            ObjectKind::Image => "/images/json?",
            ObjectKind::Network => "/networks?",
            ObjectKind::Volume => "/volumes?",
            ObjectKind::Service => "/services?",
            ObjectKind::Node => "/nodes?",
            ObjectKind::Task => "/tasks?",
            ObjectKind::Swarm => {
                return Err(DockerError::Invalid(
                    "a swarm is inspected, not listed".into(),
                ));
            }
        };
        let filters = serde_json::to_string(&filters).unwrap_or_default();
        let path = format!("{base}filters={}", encode(&filters));
        let value = self.get(&path).await?.unwrap_or(Value::Array(Vec::new()));
        Ok(match kind {
            ObjectKind::Volume => value["Volumes"].clone(),
            _ => value,
        })
        .map(|v| {
            if v.is_null() {
                Value::Array(Vec::new())
            } else {
                v
            }
        })
    }

    /// The last `tail` lines a container wrote (stdout and stderr).
    pub async fn logs(&self, container: &str, tail: u32) -> Result<String, DockerError> {
        check_id(ObjectKind::Container, container)?;
        let mut stream = self.docker.logs(
            container,
            Some(q::LogsOptions {
                stdout: true,
                stderr: true,
                tail: tail.to_string(),
                ..Default::default()
            }),
        );
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.err(e))?;
            text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            if text.len() as u64 > self.answer_limit {
                return Err(DockerError::TooLarge(format!(
                    "the log of {container} on {} passed {} bytes; reading stopped there",
                    self.endpoint, self.answer_limit
                )));
            }
        }
        Ok(text)
    }

    /// Creates a container, network, volume or service from its API spec;
    /// returns its id.
    pub async fn create(
        &self,
        kind: ObjectKind,
        name: &str,
        spec: Value,
    ) -> Result<String, DockerError> {
        let d = &self.docker;
        match kind {
            ObjectKind::Container => {
                check_id(kind, name)?;
                let body = from_spec(kind, spec)?;
                let options = q::CreateContainerOptions {
                    name: (!name.is_empty()).then(|| name.to_string()),
                    ..Default::default()
                };
                let created = d
                    .create_container(Some(options), body)
                    .await
                    .map_err(|e| self.err(e))?;
                Ok(created.id)
            }
            ObjectKind::Network => {
                let created = d
                    .create_network(from_spec(kind, spec)?)
                    .await
                    .map_err(|e| self.err(e))?;
                Ok(created.id)
            }
            ObjectKind::Volume => {
                let spec: bollard::models::VolumeCreateRequest = from_spec(kind, spec)?;
                let created = d.create_volume(spec).await.map_err(|e| self.err(e))?;
                Ok(created.name)
            }
            ObjectKind::Service => {
                let created = d
                    .create_service(from_spec(kind, spec)?, None)
                    .await
                    .map_err(|e| self.err(e))?;
                Ok(created.id.unwrap_or_default())
            }
            other => Err(DockerError::Invalid(format!(
                "a {} is not created from a spec",
                other.name()
            ))),
        }
    }

    /// Replaces the spec of a service, node or swarm at `version`.
    pub async fn update(
        &self,
        kind: ObjectKind,
        id: &str,
        version: u64,
        spec: Value,
    ) -> Result<(), DockerError> {
        let d = &self.docker;
        match kind {
            ObjectKind::Service => {
                check_id(kind, id)?;
                let options = q::UpdateServiceOptions {
                    version: version_i32(version)?,
                    ..Default::default()
                };
                d.update_service(id, from_spec(kind, spec)?, options, None)
                    .await
                    .map(|_| ())
            }
            ObjectKind::Node => {
                check_id(kind, id)?;
                let options = q::UpdateNodeOptions {
                    version: version as i64,
                };
                d.update_node(id, from_spec(kind, spec)?, options).await
            }
            ObjectKind::Swarm => {
                let options = q::UpdateSwarmOptions {
                    version: version as i64,
                    ..Default::default()
                };
                d.update_swarm(from_spec(kind, spec)?, options).await
            }
            other => {
                return Err(DockerError::Invalid(format!(
                    "a {} is not updated in place: remove and create it",
                    other.name()
                )));
            }
        }
        .map_err(|e| self.err(e))
    }

    /// Removes an object; a missing one is not an error.
    pub async fn remove(&self, kind: ObjectKind, id: &str, force: bool) -> Result<(), DockerError> {
        check_id(kind, id)?;
        let d = &self.docker;
        let result = match kind {
            ObjectKind::Container => {
                d.remove_container(
                    id,
                    Some(q::RemoveContainerOptions {
                        force,
                        v: false,
                        link: false,
                    }),
                )
                .await
            }
            ObjectKind::Image => d
                .remove_image(
                    id,
                    Some(q::RemoveImageOptions {
                        force,
                        ..Default::default()
                    }),
                    None,
                )
                .await
                .map(|_| ()),
            ObjectKind::Network => self.remove_network(id).await,
            ObjectKind::Volume => {
                d.remove_volume(id, Some(q::RemoveVolumeOptions { force }))
                    .await
            }
            ObjectKind::Service => d.delete_service(id).await,
            ObjectKind::Node => {
                d.delete_node(id, Some(q::DeleteNodeOptions { force }))
                    .await
            }
            ObjectKind::Task | ObjectKind::Swarm => {
                return Err(DockerError::Invalid(format!(
                    "a {} is not removed this way",
                    kind.name()
                )));
            }
        };
        match result.map_err(|e| self.err(e)) {
            Err(DockerError::NotFound(_)) => Ok(()),
            other => other,
        }
    }

    /// Removes a network, waiting (up to 30 s) for the tasks of a service
    /// just removed to let go of it, as they do a few seconds after.
    async fn remove_network(&self, id: &str) -> Result<(), bollard::errors::Error> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match self.docker.remove_network(id).await {
                Err(bollard::errors::Error::DockerResponseServerError { message, .. })
                    if message.contains("active endpoints")
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                other => return other,
            }
        }
    }

    /// Starts, stops, restarts, kills, pauses or unpauses a container.
    pub async fn container(
        &self,
        id: &str,
        op: ContainerOp,
        timeout: Option<u32>,
    ) -> Result<(), DockerError> {
        check_id(ObjectKind::Container, id)?;
        let d = &self.docker;
        let t = timeout.map(|t| t.min(3600) as i32);
        match op {
            ContainerOp::Start => {
                d.start_container(id, None::<q::StartContainerOptions>)
                    .await
            }
            ContainerOp::Stop => {
                d.stop_container(id, Some(q::StopContainerOptions { t, signal: None }))
                    .await
            }
            ContainerOp::Restart => {
                d.restart_container(id, Some(q::RestartContainerOptions { t, signal: None }))
                    .await
            }
            ContainerOp::Kill => d.kill_container(id, None::<q::KillContainerOptions>).await,
            ContainerOp::Pause => d.pause_container(id).await,
            ContainerOp::Unpause => d.unpause_container(id).await,
        }
        .map_err(|e| self.err(e))
    }

    /// Builds an image; returns its id. The build's own error (a failing
    /// `RUN`, a missing file) is returned with the output before it.
    /// `context` is the context as an uncompressed tar, sent as it is read.
    pub async fn build_image(
        &self,
        build: BuildRequest,
        context: ByteStream,
    ) -> Result<String, DockerError> {
        let options = q::BuildImageOptions {
            dockerfile: build
                .dockerfile
                .clone()
                .unwrap_or_else(|| "Dockerfile".into()),
            t: build.tags.first().cloned(),
            buildargs: Some(build.build_args.iter().cloned().collect()),
            rm: true,
            forcerm: true,
            ..Default::default()
        };
        let body = bollard::body_try_stream(context);
        let mut stream = self.docker.build_image(options, None, Some(body));
        let mut output = String::new();
        let mut id = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| self.err(e))?;
            if let Some(line) = info.stream {
                keep_tail(&mut output, &line);
            }
            if let Some(detail) = info.error_detail {
                let tail: String = tail_lines(&output, 10);
                return Err(DockerError::Invalid(format!(
                    "the image build failed: {}\n{tail}",
                    detail.message.unwrap_or_default().trim()
                )));
            }
            if let Some(aux) = info.aux.and_then(|a| a.id) {
                id = Some(aux);
            }
        }
        let id = match id {
            Some(id) => id,
            None => output
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("Successfully built "))
                .map(|s| s.trim().to_string())
                .ok_or_else(|| {
                    DockerError::Engine(format!(
                        "the build finished without an image id:\n{}",
                        tail_lines(&output, 10)
                    ))
                })?,
        };
        for tag in build.tags.iter().skip(1) {
            let (repo, tag) = split_tag(tag);
            self.docker
                .tag_image(
                    &id,
                    Some(q::TagImageOptions {
                        repo: Some(repo.to_string()),
                        tag: Some(tag.to_string()),
                    }),
                )
                .await
                .map_err(|e| self.err(e))?;
        }
        Ok(id)
    }

    /// Loads images from a `docker save` tar; returns what was loaded.
    pub async fn load_image(&self, tar: ByteStream) -> Result<Vec<String>, DockerError> {
        let mut stream = self.docker.import_image(
            q::ImportImageOptions {
                quiet: true,
                ..Default::default()
            },
            bollard::body_try_stream(tar),
            None,
        );
        let mut loaded = Vec::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| self.err(e))?;
            if let Some(detail) = info.error_detail {
                return Err(DockerError::Invalid(format!(
                    "the image tar could not be loaded: {}",
                    detail.message.unwrap_or_default().trim()
                )));
            }
            for line in [info.stream, info.status].into_iter().flatten() {
                for prefix in ["Loaded image: ", "Loaded image ID: "] {
                    if let Some(name) = line.trim().strip_prefix(prefix)
                        && loaded.len() < MAX_LOADED_NAMES
                    {
                        loaded.push(name.to_string());
                    }
                }
            }
        }
        if loaded.is_empty() {
            return Err(DockerError::Invalid(
                "the tar held no image (is it the output of `docker save`?)".into(),
            ));
        }
        Ok(loaded)
    }

    /// Starts a new swarm with this engine as its first manager.
    pub async fn swarm_init(&self, advertise_addr: Option<String>) -> Result<String, DockerError> {
        let request = bollard::models::SwarmInitRequest {
            listen_addr: Some("0.0.0.0:2377".into()),
            advertise_addr,
            ..Default::default()
        };
        self.docker
            .init_swarm(request)
            .await
            .map_err(|e| self.err(e))
    }

    /// Joins this engine to the swarm `manager` manages, with a token the
    /// manager hands over here and that goes nowhere else.
    pub async fn swarm_join(
        &self,
        manager: &Engine,
        role: NodeRole,
        advertise_addr: Option<String>,
    ) -> Result<(), DockerError> {
        let swarm = manager
            .docker
            .inspect_swarm()
            .await
            .map_err(|e| manager.err(e))?;
        let tokens = swarm.join_tokens.unwrap_or_default();
        let token = match role {
            NodeRole::Manager => tokens.manager,
            NodeRole::Worker => tokens.worker,
        }
        .ok_or_else(|| {
            DockerError::Engine(format!(
                "{} gave no join token: is it a swarm manager?",
                manager.endpoint
            ))
        })?;
        let info = manager.docker.info().await.map_err(|e| manager.err(e))?;
        let remote_addrs: Vec<String> = info
            .swarm
            .and_then(|s| s.remote_managers)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.addr)
            .collect();
        if remote_addrs.is_empty() {
            return Err(DockerError::Engine(format!(
                "{} lists no manager address to join",
                manager.endpoint
            )));
        }
        let request = bollard::models::SwarmJoinRequest {
            listen_addr: Some("0.0.0.0:2377".into()),
            advertise_addr,
            remote_addrs: Some(remote_addrs),
            join_token: Some(token),
            ..Default::default()
        };
        self.docker.join_swarm(request).await.map_err(|e| {
            // The engine's message may quote the request; never the token.
            match self.err(e) {
                DockerError::Engine(m) => DockerError::Engine(redact_tokens(&m)),
                other => other,
            }
        })
    }

    /// Leaves the swarm this engine is part of.
    pub async fn swarm_leave(&self, force: bool) -> Result<(), DockerError> {
        self.docker
            .leave_swarm(Some(q::LeaveSwarmOptions { force }))
            .await
            .map_err(|e| self.err(e))
    }
}

/// Hides anything shaped like a swarm join token (`SWMTKN-...`).
pub fn redact_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("SWMTKN-") {
        out.push_str(&rest[..at]);
        out.push_str("SWMTKN-<redacted>");
        let after = &rest[at..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn split_tag(name: &str) -> (&str, &str) {
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (name, "latest"),
    }
}

/// How much of a build's output is kept to explain a failure.
const BUILD_OUTPUT_KEPT: usize = 64 << 10;
/// How many loaded image names one `load_image` reports.
const MAX_LOADED_NAMES: usize = 1_000;

/// Appends `line` to `output`, keeping only its last
/// [`BUILD_OUTPUT_KEPT`] bytes (at a character boundary).
fn keep_tail(output: &mut String, line: &str) {
    output.push_str(line);
    if output.len() > BUILD_OUTPUT_KEPT {
        let mut cut = output.len() - BUILD_OUTPUT_KEPT / 2;
        while !output.is_char_boundary(cut) {
            cut += 1;
        }
        output.drain(..cut);
    }
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn version_i32(version: u64) -> Result<i32, DockerError> {
    i32::try_from(version)
        .map_err(|_| DockerError::Invalid(format!("version {version} is out of range")))
}

/// Refuses ids that would change the request's path.
fn check_id(kind: ObjectKind, id: &str) -> Result<(), DockerError> {
    let bad = id.is_empty() && kind != ObjectKind::Swarm && kind != ObjectKind::Container
        || id.len() > 512
        || id.chars().any(|c| {
            c == '/' && kind != ObjectKind::Image
                || c == '?'
                || c == '#'
                || c.is_control()
                || c == ' '
                || c == '%'
        });
    if bad {
        return Err(DockerError::Invalid(format!(
            "`{}` is not a valid {} name or id",
            id.escape_debug(),
            kind.name()
        )));
    }
    Ok(())
}

/// Reads a spec into bollard's model, refusing fields the model does not
/// know: serde would drop them silently, and the engine would never see
/// what the caller meant (a misspelt `Healthcheck` is a lost health check).
fn from_spec<T: DeserializeOwned + Serialize>(
    kind: ObjectKind,
    mut spec: Value,
) -> Result<T, DockerError> {
    engine_spelling_to_model(kind, &mut spec);
    let typed: T = serde_json::from_value(spec.clone())
        .map_err(|e| DockerError::Invalid(format!("the {} spec is not valid: {e}", kind.name())))?;
    let kept = serde_json::to_value(&typed).unwrap_or(Value::Null);
    let mut lost = Vec::new();
    dropped_fields(&spec, &kept, "", &mut lost);
    if !lost.is_empty() {
        return Err(DockerError::Invalid(format!(
            "the {} spec has fields the Engine API does not know: {}",
            kind.name(),
            lost.join(", ")
        )));
    }
    Ok(typed)
}

/// The engine answers a service's health check as `Healthcheck` and the
/// model (after the API's documentation) reads `HealthCheck`: a spec read
/// back from the engine is accepted as it is.
fn engine_spelling_to_model(kind: ObjectKind, spec: &mut Value) {
    if kind != ObjectKind::Service {
        return;
    }
    if let Some(container) = spec
        .pointer_mut("/TaskTemplate/ContainerSpec")
        .and_then(Value::as_object_mut)
        && let Some(health) = container.remove("Healthcheck")
    {
        container.insert("HealthCheck".into(), health);
    }
}

fn dropped_fields(given: &Value, kept: &Value, path: &str, lost: &mut Vec<String>) {
    match (given, kept) {
        (Value::Object(given), Value::Object(kept)) => {
            for (key, value) in given {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match kept.get(key) {
                    None if !value.is_null() => lost.push(here),
                    None => {}
                    Some(k) => dropped_fields(value, k, &here, lost),
                }
            }
        }
        (Value::Array(given), Value::Array(kept)) => {
            for (i, (g, k)) in given.iter().zip(kept).enumerate() {
                dropped_fields(g, k, &format!("{path}[{i}]"), lost);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_wherever_they_appear() {
        let text = "join failed for SWMTKN-1-abc123-def456 at 10.0.0.1";
        assert_eq!(
            redact_tokens(text),
            "join failed for SWMTKN-<redacted> at 10.0.0.1"
        );
    }

    #[test]
    fn ids_that_would_escape_the_path_are_refused() {
        assert!(check_id(ObjectKind::Container, "web-1").is_ok());
        assert!(check_id(ObjectKind::Image, "library/web:1").is_ok());
        for bad in ["../x", "a?b", "a b", "x#y", "a%2f"] {
            assert!(check_id(ObjectKind::Container, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_spec_fields_are_refused_by_name() {
        let spec = serde_json::json!({
            "Name": "web",
            "TaskTemplate": { "ContainerSpec": { "Image": "web:1", "Helthcheck": { "Test": ["NONE"] } } }
        });
        let err = from_spec::<bollard::models::ServiceSpec>(ObjectKind::Service, spec).unwrap_err();
        assert!(
            err.to_string()
                .contains("TaskTemplate.ContainerSpec.Helthcheck"),
            "{err}"
        );
    }

    #[test]
    fn tags_split_on_the_last_colon_outside_the_registry() {
        assert_eq!(split_tag("web:2"), ("web", "2"));
        assert_eq!(split_tag("reg:5000/web"), ("reg:5000/web", "latest"));
    }
}
