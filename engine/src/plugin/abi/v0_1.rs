//! Contract `capstan:plugin@0.1.0`: bindings, host imports and the
//! conversions to and from the engine's types.

use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};

use crate::capability::HostError;
use crate::jobs::{LogLevel, ResultStatus};
use crate::plugin::host::{CallContext, PluginOutcome};
use crate::plugin::manifest::{ActionInfo, Manifest};
use crate::plugin::state::RunState;
use crate::remote::{ExecRequest, FileInfo, FileKind};

wasmtime::component::bindgen!({
    path: "../plugin-sdk/wit/v0.1.0",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

use capstan::plugin::{kv, log, remote, types};
use exports::capstan::plugin::guest;

pub(super) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<RunState, HasSelf<RunState>>(linker, |state| state)
}

pub(super) async fn describe(
    plugin: &Plugin,
    store: &mut Store<RunState>,
) -> wasmtime::Result<Manifest> {
    let manifest = plugin
        .capstan_plugin_guest()
        .call_describe(&mut *store)
        .await?;
    Ok(Manifest {
        name: manifest.name,
        version: manifest.version,
        summary: manifest.summary,
        actions: manifest
            .actions
            .into_iter()
            .map(|a| ActionInfo {
                params_schema: serde_json::from_str(&a.params_schema)
                    .unwrap_or_else(|_| serde_json::json!({ "type": "object" })),
                name: a.name,
                summary: a.summary,
            })
            .collect(),
        capabilities: manifest.capabilities,
    })
}

pub(super) async fn run(
    plugin: &Plugin,
    store: &mut Store<RunState>,
    action: &str,
    params: &str,
    context: &CallContext,
) -> wasmtime::Result<PluginOutcome> {
    let context = guest::Context {
        target: context.target.clone(),
        targets: context.targets.clone(),
        check: context.check,
        diff: context.diff,
    };
    let outcome = plugin
        .capstan_plugin_guest()
        .call_run(&mut *store, action, params, &context)
        .await?;
    Ok(PluginOutcome {
        status: match outcome.status {
            types::Status::Ok => ResultStatus::Ok,
            types::Status::Changed => ResultStatus::Changed,
            types::Status::Failed => ResultStatus::Failed,
            types::Status::Skipped => ResultStatus::Skipped,
        },
        summary: outcome.summary,
        diff: outcome.diff,
        data: outcome.data,
    })
}

fn to_wit(error: HostError) -> types::HostError {
    match error {
        HostError::Denied(cap) => types::HostError::Denied(cap.name().to_string()),
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

    async fn stat(&mut self, target: String, path: String) -> HostResult<Option<remote::FileInfo>> {
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
