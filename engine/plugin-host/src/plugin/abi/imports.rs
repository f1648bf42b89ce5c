//! The host's side of what every contract version shares: the imports
//! `log`, `kv`, `remote` and `docker`, and the conversions of `guest`'s
//! manifest, context and outcome: one body, expanded inside each version's
//! module, where `types`, `log`, `kv`, `remote`, `docker` and `guest` name
//! that version's generated bindings. The WIT of these is the same in every
//! version (0.2's manifest only adds a field), so the same code fits each.

/// Implements the shared imports' `Host` traits for `RunState` against the
/// bindings in scope.
macro_rules! shared_imports {
    () => {
        use std::time::Instant;

        use crate::capability::HostError;
        use capstan_docker::{BuildRequest, ContainerOp, NodeRole, ObjectKind};
        use capstan_remote::{ExecRequest, FileInfo, FileKind};
        use capstan_wire::status::{LogLevel, ResultStatus};

        use crate::plugin::manifest::{ActionInfo, printable, read_schema};

        /// The engine's manifest from the plugin's. Plugin text reaches
        /// terminals and the window: nothing in it may act on them (a
        /// summary that rewrites the grant prompt).
        fn manifest_from_wit(manifest: guest::Manifest) -> wasmtime::Result<Manifest> {
            Ok(Manifest {
                name: manifest.name,
                version: printable(&manifest.version, false),
                summary: printable(&manifest.summary, false),
                actions: manifest
                    .actions
                    .into_iter()
                    .map(|a| {
                        Ok(ActionInfo {
                            params_schema: read_schema(&a.params_schema).map_err(|e| {
                                wasmtime::Error::msg(format!(
                                    "action `{}`: {e}",
                                    printable(&a.name, false)
                                ))
                            })?,
                            name: printable(&a.name, false),
                            summary: printable(&a.summary, false),
                        })
                    })
                    .collect::<wasmtime::Result<_>>()?,
                capabilities: manifest.capabilities,
                subscriptions: Vec::new(),
            })
        }

        /// The call's context as the plugin receives it.
        fn context_to_wit(context: &CallContext) -> guest::Context {
            guest::Context {
                target: context.target.clone(),
                targets: context.targets.clone(),
                check: context.check,
                diff: context.diff,
            }
        }

        /// The engine's outcome from the plugin's.
        fn outcome_from_wit(outcome: guest::Outcome) -> PluginOutcome {
            PluginOutcome {
                status: match outcome.status {
                    types::Status::Ok => ResultStatus::Ok,
                    types::Status::Changed => ResultStatus::Changed,
                    types::Status::Failed => ResultStatus::Failed,
                    types::Status::Skipped => ResultStatus::Skipped,
                },
                summary: printable(&outcome.summary, true),
                diff: outcome.diff.map(|d| printable(&d, true)),
                data: outcome.data,
            }
        }

        fn to_wit(error: HostError) -> types::HostError {
            match error {
                HostError::Denied(grant) => types::HostError::Denied(grant.to_string()),
                HostError::Invalid(m) => types::HostError::Invalid(m),
                HostError::Unavailable(m) => types::HostError::Unavailable(m),
                HostError::Limit(m) => types::HostError::Limit(m),
                HostError::Failed(m) => types::HostError::Failed(m),
            }
        }

        type HostResult<T> = wasmtime::Result<Result<T, types::HostError>>;

        impl types::Host for RunState {}

        impl log::Host for RunState {
            async fn emit(
                &mut self,
                level: log::Level,
                message: String,
                fields: Vec<(String, String)>,
            ) -> wasmtime::Result<()> {
                let level = match level {
                    log::Level::Trace => LogLevel::Trace,
                    log::Level::Debug => LogLevel::Debug,
                    log::Level::Info => LogLevel::Info,
                    log::Level::Warn => LogLevel::Warn,
                    log::Level::Error => LogLevel::Error,
                };
                self.log
                    .emit(level, message, fields)
                    .map_err(wasmtime::Error::new)
            }
        }

        impl kv::Host for RunState {
            async fn get(&mut self, key: String) -> HostResult<Option<Vec<u8>>> {
                let result = self.kv.get(&key);
                Ok(self.note(result).map_err(to_wit))
            }

            async fn set(&mut self, key: String, value: Vec<u8>) -> HostResult<()> {
                let result = self.kv.set(&key, &value);
                Ok(self.note(result).map_err(to_wit))
            }

            async fn delete(&mut self, key: String) -> HostResult<()> {
                let result = self.kv.delete(&key);
                Ok(self.note(result).map_err(to_wit))
            }

            async fn list_keys(&mut self, prefix: String) -> HostResult<Vec<String>> {
                let result = self.kv.list_keys(&prefix);
                Ok(self.note(result).map_err(to_wit))
            }
        }

        impl remote::Host for RunState {
            async fn exec(
                &mut self,
                target: String,
                command: remote::Command,
            ) -> HostResult<remote::ExecOutput> {
                let request = ExecRequest {
                    argv: command.argv,
                    stdin: command.stdin,
                    env: command.env,
                    cwd: command.cwd,
                };
                let started = Instant::now();
                let result = self.remote.exec(&target, request).await;
                self.clock.add_host_time(started.elapsed());
                Ok(self
                    .note(result)
                    .map_err(to_wit)
                    .map(|out| remote::ExecOutput {
                        exit_code: out.exit_code,
                        stdout: out.stdout,
                        stderr: out.stderr,
                    }))
            }

            async fn read_file(&mut self, target: String, path: String) -> HostResult<Vec<u8>> {
                let started = Instant::now();
                let result = self.remote.read_file(&target, &path).await;
                self.clock.add_host_time(started.elapsed());
                Ok(self.note(result).map_err(to_wit))
            }

            async fn write_file(
                &mut self,
                target: String,
                path: String,
                contents: Vec<u8>,
                mode: Option<u32>,
            ) -> HostResult<()> {
                let started = Instant::now();
                let result = self
                    .remote
                    .write_file(&target, &path, &contents, mode)
                    .await;
                self.clock.add_host_time(started.elapsed());
                Ok(self.note(result).map_err(to_wit))
            }

            async fn stat(
                &mut self,
                target: String,
                path: String,
            ) -> HostResult<Option<remote::FileInfo>> {
                let started = Instant::now();
                let result = self.remote.stat(&target, &path).await;
                self.clock.add_host_time(started.elapsed());
                Ok(self
                    .note(result)
                    .map_err(to_wit)
                    .map(|info| info.map(file_info_to_wit)))
            }
        }

        fn file_info_to_wit(info: FileInfo) -> remote::FileInfo {
            remote::FileInfo {
                kind: match info.kind {
                    FileKind::File => remote::FileKind::File,
                    FileKind::Directory => remote::FileKind::Directory,
                    FileKind::Symlink => remote::FileKind::Symlink,
                    FileKind::Other => remote::FileKind::Other,
                },
                size: info.size,
                mode: info.mode,
                uid: info.uid,
                gid: info.gid,
                link_target: info.link_target,
            }
        }

        /// Times a host call so it does not count as guest CPU time.
        macro_rules! timed {
            ($state:expr, $call:expr) => {{
                let started = Instant::now();
                let result = $call.await;
                $state.clock.add_host_time(started.elapsed());
                Ok($state.note(result).map_err(to_wit))
            }};
        }

        fn kind_from_wit(kind: docker::ObjectKind) -> ObjectKind {
            match kind {
                docker::ObjectKind::Container => ObjectKind::Container,
                docker::ObjectKind::Image => ObjectKind::Image,
                docker::ObjectKind::Network => ObjectKind::Network,
                docker::ObjectKind::Volume => ObjectKind::Volume,
                docker::ObjectKind::Service => ObjectKind::Service,
                docker::ObjectKind::Node => ObjectKind::Node,
                docker::ObjectKind::Task => ObjectKind::Task,
                docker::ObjectKind::Swarm => ObjectKind::Swarm,
            }
        }

        impl docker::Host for RunState {
            async fn info(&mut self, target: String) -> HostResult<String> {
                timed!(self, self.docker.info(&target))
            }

            async fn inspect(
                &mut self,
                target: String,
                kind: docker::ObjectKind,
                id: String,
            ) -> HostResult<Option<String>> {
                timed!(self, self.docker.inspect(&target, kind_from_wit(kind), &id))
            }

            async fn list(
                &mut self,
                target: String,
                kind: docker::ObjectKind,
                filters: String,
            ) -> HostResult<String> {
                timed!(
                    self,
                    self.docker.list(&target, kind_from_wit(kind), &filters)
                )
            }

            async fn logs(
                &mut self,
                target: String,
                container: String,
                tail: u32,
            ) -> HostResult<String> {
                timed!(self, self.docker.logs(&target, &container, tail))
            }

            async fn create(
                &mut self,
                target: String,
                kind: docker::ObjectKind,
                name: String,
                spec: String,
            ) -> HostResult<String> {
                timed!(
                    self,
                    self.docker
                        .create(&target, kind_from_wit(kind), &name, &spec)
                )
            }

            async fn update(
                &mut self,
                target: String,
                kind: docker::ObjectKind,
                id: String,
                version: u64,
                spec: String,
            ) -> HostResult<()> {
                timed!(
                    self,
                    self.docker
                        .update(&target, kind_from_wit(kind), &id, version, &spec)
                )
            }

            async fn remove(
                &mut self,
                target: String,
                kind: docker::ObjectKind,
                id: String,
                force: bool,
            ) -> HostResult<()> {
                timed!(
                    self,
                    self.docker.remove(&target, kind_from_wit(kind), &id, force)
                )
            }

            async fn container(
                &mut self,
                target: String,
                id: String,
                op: docker::ContainerOp,
                timeout: Option<u32>,
            ) -> HostResult<()> {
                let op = match op {
                    docker::ContainerOp::Start => ContainerOp::Start,
                    docker::ContainerOp::Stop => ContainerOp::Stop,
                    docker::ContainerOp::Restart => ContainerOp::Restart,
                    docker::ContainerOp::Kill => ContainerOp::Kill,
                    docker::ContainerOp::Pause => ContainerOp::Pause,
                    docker::ContainerOp::Unpause => ContainerOp::Unpause,
                };
                timed!(self, self.docker.container(&target, &id, op, timeout))
            }

            async fn build_image(
                &mut self,
                target: String,
                build: docker::Build,
            ) -> HostResult<String> {
                let request = BuildRequest {
                    dockerfile: build.dockerfile,
                    tags: build.tags,
                    build_args: build.build_args,
                };
                timed!(
                    self,
                    self.docker.build_image(&target, &build.context, request)
                )
            }

            async fn load_image(
                &mut self,
                target: String,
                path: String,
            ) -> HostResult<Vec<String>> {
                timed!(self, self.docker.load_image(&target, &path))
            }

            async fn swarm_init(
                &mut self,
                target: String,
                advertise_addr: Option<String>,
            ) -> HostResult<String> {
                timed!(self, self.docker.swarm_init(&target, advertise_addr))
            }

            async fn swarm_join(
                &mut self,
                target: String,
                manager: String,
                role: docker::NodeRole,
                advertise_addr: Option<String>,
            ) -> HostResult<()> {
                let role = match role {
                    docker::NodeRole::Manager => NodeRole::Manager,
                    docker::NodeRole::Worker => NodeRole::Worker,
                };
                timed!(
                    self,
                    self.docker
                        .swarm_join(&target, &manager, role, advertise_addr)
                )
            }

            async fn swarm_leave(&mut self, target: String, force: bool) -> HostResult<()> {
                timed!(self, self.docker.swarm_leave(&target, force))
            }
        }
    };
}
