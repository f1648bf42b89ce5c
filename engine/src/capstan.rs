//! [`Capstan`]: the engine as the CLI and the desktop app see it.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::home::Home;
use crate::inventory::Host;
use crate::inventory::HostRules;
use crate::jobs::{self, EventSink, Job, JobRecord, JobRequest, LogLine, RunReport, RunRequest};
use crate::secrets::Secrets;
use crate::{Error, Result};
use capstan_plugin_host::capability::{Capability, Grant, GrantSet, SharedGrants};
use capstan_plugin_host::plugin::{
    ArtifactCache, CallSetup, ContractVersion, HostConfig, LimitOverrides, Limits, LoadedPlugin,
    Manifest, ManifestRules, PluginHost, validate_params,
};
use capstan_plugin_host::target::Target;
use capstan_remote::{Become, HostKeyPolicy, SshSettings};
use capstan_store::{PluginRecord, Store};
use capstan_wire::Actor;
use capstan_wire::clock::now_ms;
use recorder::Recorder;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

mod control;
mod deliver;
mod hosts;
mod job_queries;

pub use control::{CANCEL_POLL, JobControl};
pub use deliver::EventDelivery;

pub use job_queries::{JobDetail, JobFilter, Rerun};
mod kv_backend;
mod lazy_host;
mod notifications;
mod playbook_run;
mod prepare;
mod recorder;
mod schedules;
mod stored_secrets;
mod tokens;
mod views;
mod webhooks;

pub use notifications::WINDOW_FRESH_MS;
pub use schedules::{Due, NEXT_SHOWN};
pub use stored_secrets::MAX_SECRET_BYTES;
pub use tokens::{CreatedToken, TOKEN_PREFIX, TokenRefused};
pub use webhooks::{Accepted, Delivery, DeliveryRefused, TIMESTAMP_WINDOW_MS};

pub use prepare::{PrepareOutcome, Prepared};

/// A plugin shipped inside the binary, installed on first use.
#[derive(Debug, Clone, Copy)]
pub struct BundledPlugin {
    /// Its manifest name.
    pub name: &'static str,
    /// SHA-256 of `wasm` as lower-case hex, computed when it was built.
    pub sha256: &'static str,
    /// Its component bytes.
    pub wasm: &'static [u8],
}

/// A component read and described, not yet installed.
#[derive(Debug, Clone)]
pub struct Inspected {
    /// What it says about itself.
    pub manifest: Manifest,
    /// The capabilities it asks for.
    pub requested: Vec<Capability>,
    /// The contract version it was built for.
    pub version: ContractVersion,
    /// SHA-256 of the file.
    pub sha256: String,
    wasm: Vec<u8>,
}

/// The engine: store, plugin host and job runner behind one handle.
pub struct Capstan {
    home: Home,
    store: Store,
    host: lazy_host::LazyHost,
    bundled: Vec<BundledPlugin>,
    /// Grants as running jobs see them, so a revoke applies mid-run.
    live_grants: Mutex<HashMap<String, SharedGrants>>,
}

impl Capstan {
    /// Opens the engine on `home` with the default host settings.
    pub fn open(home: Home) -> Result<Self> {
        Self::open_with(home, HostConfig::default())
    }

    /// Opens the engine on `home` with explicit host settings.
    pub fn open_with(home: Home, config: HostConfig) -> Result<Self> {
        // Started first: with `HostStart::Background` it is built while
        // the store opens.
        let host = lazy_host::LazyHost::new(config, ArtifactCache::new(home.cache_dir()));
        let store = Store::open(&home.database())?;
        for file in home.restrict_files() {
            tracing::warn!(file = %file.display(), "other users could read this file: made it 0600");
        }
        Ok(Capstan {
            home,
            store,
            host,
            bundled: Vec::new(),
            live_grants: Mutex::new(HashMap::new()),
        })
    }

    /// Makes these plugins installable on first use.
    pub fn with_bundled(mut self, bundled: impl IntoIterator<Item = BundledPlugin>) -> Self {
        self.bundled = bundled.into_iter().collect();
        self
    }

    /// The data folder.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The plugin host, built the first time it is asked for (or waited
    /// for, when it was started in the background).
    pub fn host(&self) -> Result<&Arc<PluginHost>> {
        self.host.get()
    }

    /// Reads and describes a component file without installing it.
    pub async fn inspect_file(&self, path: &Path) -> Result<Inspected> {
        let wasm = std::fs::read(path).map_err(|e| {
            Error::BadInput(format!("cannot read plugin file {}: {e}", path.display()))
        })?;
        self.inspect(wasm, &path.display().to_string()).await
    }

    /// Describes a component without installing it. `label` names it in errors.
    pub async fn inspect(&self, wasm: Vec<u8>, label: &str) -> Result<Inspected> {
        let host = self.host()?;
        let loaded = host.load(&wasm, label)?;
        let manifest = host.describe(&loaded, label).await?;
        let requested = manifest
            .capabilities
            .iter()
            .map(|c| c.parse::<Capability>())
            .collect::<std::result::Result<BTreeSet<_>, _>>()
            .map_err(|reason| Error::NotAPlugin {
                path: label.to_string(),
                reason: format!("it asks for a capability this Capstan does not have: {reason}"),
            })?;
        Ok(Inspected {
            manifest,
            requested: requested.into_iter().collect(),
            version: loaded.version,
            sha256: loaded.sha256.clone(),
            wasm,
        })
    }

    /// Installs an inspected plugin with `grants`, which must be among what
    /// it asked for. A plugin of the same name, installed or bundled, is
    /// never replaced silently: that is [`Capstan::install_over`], asked for.
    pub fn install(&self, inspected: &Inspected, grants: GrantSet) -> Result<PluginRecord> {
        self.install_as(inspected, grants, &self.actor())
    }

    /// [`Capstan::install`], recorded in the audit log as done by `by`.
    pub fn install_as(
        &self,
        inspected: &Inspected,
        grants: GrantSet,
        by: &Actor,
    ) -> Result<PluginRecord> {
        let name = &inspected.manifest.name;
        if let Some(replaced) = self.replaces(name)? {
            return Err(Error::BadInput(format!(
                "a plugin called `{name}` is {replaced}: installing this one would replace it, \
                 which must be asked for (and whether to keep the old one's stored data)"
            )));
        }
        self.put_plugin(inspected, grants, false, ("install", ""), by)
    }

    /// What installing a plugin called `name` would replace, in words
    /// (`installed already (x 1.0)`, `bundled with Capstan`), if anything.
    pub fn replaces(&self, name: &str) -> Result<Option<String>> {
        if let Some(installed) = self.store.plugin(name)? {
            return Ok(Some(format!(
                "installed already ({} {}{})",
                installed.manifest.name,
                installed.manifest.version,
                if installed.bundled { ", bundled" } else { "" }
            )));
        }
        Ok(self
            .bundled
            .iter()
            .any(|b| b.name == name)
            .then(|| "bundled with Capstan".to_string()))
    }

    /// Replaces the installed plugin of the same name (keeping its limit
    /// overrides). Its `kv` data is deleted unless `keep_data`: a new
    /// plugin under an old name never reads what the old one stored.
    pub fn install_over(
        &self,
        inspected: &Inspected,
        grants: GrantSet,
        keep_data: bool,
    ) -> Result<PluginRecord> {
        self.install_over_as(inspected, grants, keep_data, &self.actor())
    }

    /// [`Capstan::install_over`], recorded in the audit log as done by `by`.
    pub fn install_over_as(
        &self,
        inspected: &Inspected,
        grants: GrantSet,
        keep_data: bool,
        by: &Actor,
    ) -> Result<PluginRecord> {
        let data = if keep_data {
            "the old plugin's stored data was kept"
        } else {
            "the old plugin's stored data was deleted"
        };
        let record = self.put_plugin(inspected, grants, false, ("replace", data), by)?;
        if !keep_data {
            self.store.kv_clear(&inspected.manifest.name)?;
        }
        Ok(record)
    }

    /// Writes the component and the record, replacing one of that name,
    /// and records `(action, note)` in the audit log.
    fn put_plugin(
        &self,
        inspected: &Inspected,
        grants: GrantSet,
        bundled: bool,
        (action, note): (&str, &str),
        by: &Actor,
    ) -> Result<PluginRecord> {
        let name = &inspected.manifest.name;
        if let Some(extra) = grants.iter().find(|c| !inspected.requested.contains(c)) {
            return Err(Error::BadInput(format!(
                "plugin `{name}` did not ask for `{extra}`; it asks for: {}",
                names(&inspected.requested)
            )));
        }
        let path = self
            .home
            .plugins_dir()
            .join(format!("{name}-{}.wasm", &inspected.sha256[..16]));
        capstan_remote::private_file::write_private(&path, &inspected.wasm)
            .map_err(|e| Error::io("write", &path, e))?;
        let previous = self.store.plugin(name)?;
        let record = PluginRecord {
            manifest: inspected.manifest.clone(),
            api_version: inspected.version.as_str().to_string(),
            wasm_sha256: inspected.sha256.clone(),
            wasm_path: path,
            grants,
            limits: previous.as_ref().map(|p| p.limits).unwrap_or_default(),
            bundled,
            installed_at: now_ms(),
        };
        self.store.save_plugin(&record)?;
        if let Some(old) = previous
            && old.wasm_path != record.wasm_path
        {
            let _ = std::fs::remove_file(old.wasm_path);
        }
        self.refresh_live_grants(name, &record.grants);
        self.record_audit(
            by,
            action,
            name,
            &format!(
                "version {}, sha256 {}, granted {}{}{note}",
                record.manifest.version,
                &record.wasm_sha256[..16],
                names(&record.grants.iter().collect::<Vec<_>>()),
                if note.is_empty() { "" } else { "; " },
            ),
        )?;
        Ok(record)
    }

    /// Appends to the audit log an entry about plugin `plugin`, made by `by`.
    fn record_audit(&self, by: &Actor, action: &str, plugin: &str, detail: &str) -> Result<()> {
        self.audit_as(by, action, &format!("plugin:{plugin}"), detail)
    }

    /// The newest `limit` entries of the audit log, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<capstan_store::AuditEntry>> {
        Ok(self.store.audit_log(limit)?)
    }

    /// Every installed plugin.
    pub fn plugins(&self) -> Result<Vec<PluginRecord>> {
        Ok(self.store.plugins()?)
    }

    /// The bundled plugins that are not installed yet.
    pub fn bundled_not_installed(&self) -> Result<Vec<BundledPlugin>> {
        let installed: BTreeSet<String> = self
            .store
            .plugins()?
            .into_iter()
            .map(|p| p.manifest.name)
            .collect();
        Ok(self
            .bundled
            .iter()
            .copied()
            .filter(|b| !installed.contains(b.name))
            .collect())
    }

    /// The installed plugin `name`. A bundled plugin is installed on first
    /// use with the grants its manifest asks for, and upgraded in place
    /// (keeping the user's grants, granting what the new build newly asks
    /// for) when this binary ships a newer build.
    pub async fn plugin(&self, name: &str) -> Result<PluginRecord> {
        let record = self.store.plugin(name)?;
        let Some(shipped) = self.bundled.iter().find(|b| b.name == name) else {
            return record.ok_or_else(|| Error::UnknownPlugin(name.to_string()));
        };
        match record {
            Some(record) if !record.bundled || record.wasm_sha256 == shipped.sha256 => Ok(record),
            previous => {
                let inspected = self
                    .inspect(shipped.wasm.to_vec(), &format!("bundled plugin {name}"))
                    .await?;
                // A first-party build asking for something new gets it, as
                // on a first install; what the user revoked stays revoked.
                let grants = match &previous {
                    Some(p) => GrantSet::new(inspected.requested.iter().copied().filter(|c| {
                        p.grants.contains(*c)
                            || !p
                                .manifest
                                .capabilities
                                .iter()
                                .any(|asked| asked == c.name())
                    })),
                    None => GrantSet::new(inspected.requested.iter().copied()),
                };
                tracing::info!(plugin = name, "installing the bundled plugin");
                let action = if previous.is_some() {
                    "upgrade"
                } else {
                    "install"
                };
                self.put_plugin(&inspected, grants, true, (action, "bundled"), &self.actor())
            }
        }
    }

    /// Uninstalls a plugin and deletes its data.
    pub fn remove(&self, name: &str) -> Result<()> {
        self.remove_as(name, &self.actor())
    }

    /// [`Capstan::remove`], recorded in the audit log as done by `by`.
    pub fn remove_as(&self, name: &str, by: &Actor) -> Result<()> {
        let record = self
            .store
            .plugin(name)?
            .ok_or_else(|| Error::UnknownPlugin(name.to_string()))?;
        self.store.remove_plugin(name)?;
        let _ = std::fs::remove_file(&record.wasm_path);
        self.refresh_live_grants(name, &GrantSet::default());
        self.record_audit(
            by,
            "remove",
            name,
            &format!("version {} and its stored data", record.manifest.version),
        )
    }

    /// Grants a capability the plugin asked for, or an HTTP host to a
    /// plugin that asked for `http`.
    pub async fn grant(&self, name: &str, grant: impl Into<Grant>) -> Result<GrantSet> {
        self.grant_as(name, grant.into(), &self.actor()).await
    }

    /// [`Capstan::grant`], recorded in the audit log as done by `by`.
    pub async fn grant_as(&self, name: &str, grant: Grant, by: &Actor) -> Result<GrantSet> {
        let record = self.plugin(name).await?;
        let needs = match &grant {
            Grant::Capability(cap) => *cap,
            Grant::Http(_) => Capability::Http,
        };
        if !record
            .manifest
            .capabilities
            .iter()
            .any(|c| c == needs.name())
        {
            return Err(Error::BadInput(format!(
                "plugin `{name}` did not ask for `{needs}`; it asks for: {}",
                record.manifest.capabilities.join(", ")
            )));
        }
        let mut grants = record.grants.clone();
        grants.add(grant.clone());
        self.store.set_grants(name, &grants)?;
        self.refresh_live_grants(name, &grants);
        self.record_audit(by, "grant", name, &grant.to_string())?;
        Ok(grants)
    }

    /// Revokes a grant (`http` takes every HTTP host with it); running jobs
    /// of this engine lose it at once.
    pub async fn revoke(&self, name: &str, grant: impl Into<Grant>) -> Result<GrantSet> {
        self.revoke_as(name, grant.into(), &self.actor()).await
    }

    /// [`Capstan::revoke`], recorded in the audit log as done by `by`.
    pub async fn revoke_as(&self, name: &str, grant: Grant, by: &Actor) -> Result<GrantSet> {
        let record = self.plugin(name).await?;
        let mut grants = record.grants.clone();
        grants.remove(&grant);
        self.store.set_grants(name, &grants)?;
        self.refresh_live_grants(name, &grants);
        self.record_audit(by, "revoke", name, &grant.to_string())?;
        Ok(grants)
    }

    /// How much a plugin keeps in its `kv` store.
    pub fn kv_usage(&self, name: &str) -> Result<capstan_store::KvUsage> {
        Ok(self.store.kv_usage(name)?)
    }

    /// Sets a plugin's own limits.
    pub async fn set_limits(&self, name: &str, limits: LimitOverrides) -> Result<()> {
        self.plugin(name).await?;
        self.store.set_limits(name, &limits)?;
        self.record_audit(
            &self.actor(),
            "limits",
            name,
            &serde_json::to_string(&limits).unwrap_or_default(),
        )
    }

    /// Runs an action over targets as a recorded job, streaming events.
    /// Input errors (unknown plugin, action or target, params that do not
    /// fit the schema) are returned before any job is recorded.
    pub async fn run(&self, request: RunRequest, events: EventSink) -> Result<RunReport> {
        self.run_with(request, events, JobControl::default()).await
    }

    /// [`Capstan::run`] launched by `control.launched_by`, and stopped
    /// when `control.cancel` is cancelled or a cancel request for the job
    /// is recorded: targets still running are dropped at their next await
    /// (their remote commands signalled) and recorded as failed
    /// ("cancelled before it finished"); the job is recorded `cancelled`.
    pub async fn run_with(
        &self,
        request: RunRequest,
        events: EventSink,
        control: JobControl,
    ) -> Result<RunReport> {
        let host = self.host()?.clone();
        let launched_by = control.launched_by.unwrap_or_else(|| self.actor());
        let mut job = self.prepare(&request, &launched_by).await?;
        job.cancel = control.cancel.clone();
        let _watch =
            control::CancelWatch::start(self.store.clone(), job.id, control.cancel.clone());
        let recorder = Recorder::new(self.store.clone(), job.id, control.cancel);
        let report = jobs::run_job(host, job, recorder.job_events(events)).await;
        recorder.close()?;
        Ok(report)
    }

    /// Checks what a request names: an installed plugin and one of its
    /// actions, params that fit its schema (returned, `{}` for none), and
    /// known targets (returned). Nothing is recorded.
    async fn check_request(
        &self,
        request: &RunRequest,
    ) -> Result<(PluginRecord, serde_json::Value, Vec<Target>)> {
        let record = self.plugin(&request.plugin).await?;
        let action = record.manifest.action(&request.action)?;
        let params = match &request.params {
            serde_json::Value::Null => serde_json::json!({}),
            other => other.clone(),
        };
        validate_params(&action.params_schema, &params).map_err(|error| Error::BadParams {
            plugin: request.plugin.clone(),
            action: request.action.clone(),
            error: Box::new(error),
        })?;
        let policy = HostKeyPolicy::trusting_new(request.trust_new_hosts);
        let targets = self.resolve_targets(&request.targets, policy)?;
        Ok((record, params, targets))
    }

    /// Checks a request and records its job; nothing runs yet.
    async fn prepare(
        &self,
        request: &RunRequest,
        launched_by: &capstan_wire::Actor,
    ) -> Result<Job> {
        let (record, params, mut targets) = self.check_request(request).await?;
        let action = record.manifest.action(&request.action)?;
        let sudo_password = self.sudo_password(request.become_password_secret.as_deref())?;
        if let Some(user) = &request.become_user {
            if user.is_empty() || user.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::BadInput(format!(
                    "become user `{}` is empty or has spaces",
                    user.escape_debug()
                )));
            }
            for target in &mut targets {
                target.become_user = Some(Become {
                    user: user.clone(),
                    password_env: request.become_password_env.clone(),
                    password: sudo_password.clone(),
                });
            }
        }
        let plugin = self.load_installed(&record)?;

        let mut request = request.clone();
        request.targets = targets.iter().map(|t| t.name.clone()).collect();
        request.params = params;
        // Secret params (and the sudo password) are masked in everything
        // the job records; the history keeps only their names.
        let (secrets, recorded) =
            mask_secret_params(&action.params_schema, &request, sudo_password.as_ref());
        let id = self
            .store
            .create_job(&JobRequest::Action(recorded), launched_by)?;
        let setup = self.call_setup(&record, targets);
        let job = Job {
            id,
            plugin,
            setup,
            action: request.action.clone(),
            params_json: request.params.to_string(),
            check: request.check,
            diff: request.diff,
            secrets,
            cancel: CancellationToken::new(),
        };
        Ok(job)
    }

    /// Loads an installed plugin's component, refusing a file that changed
    /// on disk since it was installed.
    pub fn load_installed(&self, record: &PluginRecord) -> Result<Arc<LoadedPlugin>> {
        // A bundled plugin still at the binary's version is loaded from
        // the binary: no file to read, and nothing to hash.
        let shipped = self.bundled.iter().find(|b| {
            record.bundled && b.name == record.manifest.name && b.sha256 == record.wasm_sha256
        });
        if let Some(shipped) = shipped {
            return Ok(self.host()?.load_hashed(
                shipped.wasm,
                shipped.sha256.to_string(),
                &record.manifest.name,
            )?);
        }
        let wasm = std::fs::read(&record.wasm_path)
            .map_err(|e| Error::io("read", &record.wasm_path, e))?;
        let sha256 = capstan_plugin_host::plugin::sha256_of(&wasm);
        if sha256 != record.wasm_sha256 {
            return Err(Error::NotAPlugin {
                path: record.wasm_path.display().to_string(),
                reason: format!(
                    "the file changed since `{}` was installed; reinstall it with `capstan plugin install`",
                    record.manifest.name
                ),
            });
        }
        Ok(self
            .host()?
            .load_hashed(&wasm, sha256, &record.manifest.name)?)
    }

    /// The newest jobs, at most `limit`.
    pub fn jobs(&self, limit: usize) -> Result<Vec<JobRecord>> {
        Ok(self.store.jobs(limit)?)
    }

    /// One job.
    pub fn job(&self, id: i64) -> Result<JobRecord> {
        self.store.job(id)?.ok_or_else(|| no_job(id))
    }

    /// A job's log lines.
    pub fn job_logs(&self, id: i64) -> Result<Vec<LogLine>> {
        Ok(self.store.job_logs(id)?)
    }

    /// Resolves target names (default: `local`) to transports, dropping
    /// duplicates: `local` is this machine; a host name, a group, an
    /// environment or `all` stand for inventory hosts.
    pub fn resolve_targets(&self, names: &[String], policy: HostKeyPolicy) -> Result<Vec<Target>> {
        let mut seen = BTreeSet::new();
        let mut targets = Vec::new();
        let defaults = ["local".to_string()];
        let names = if names.is_empty() {
            &defaults[..]
        } else {
            names
        };
        for name in names {
            for host in self.expand_target(name)? {
                let target = match host {
                    None => Target::local().guarding(self.home.private_folders()),
                    Some(host) => self.target_for(&host, policy.clone()),
                };
                if seen.insert(target.name.clone()) {
                    targets.push(target);
                }
            }
        }
        Ok(targets)
    }

    /// The Docker engine of `host` (an inventory host, or `local`), for the
    /// container, service and node views.
    pub async fn docker_engine(&self, host: &str) -> Result<capstan_docker::Engine> {
        let targets = self.resolve_targets(&[host.to_string()], HostKeyPolicy::RequireKnown)?;
        let [target] = targets.as_slice() else {
            return Err(Error::BadInput(format!(
                "`{host}` names {} hosts: pick one host for its Docker engine",
                targets.len()
            )));
        };
        Ok(target.docker().await?)
    }

    /// The transport for an inventory host: SSH, or this machine when the
    /// host sets `ansible_connection: local`.
    pub fn target_for(&self, host: &Host, policy: HostKeyPolicy) -> Target {
        let target = self.transport_for(host, policy);
        match host.docker_socket() {
            Some(socket) => target.with_docker_socket(socket),
            None => target,
        }
    }

    fn transport_for(&self, host: &Host, policy: HostKeyPolicy) -> Target {
        if host.vars.get("ansible_connection").and_then(|v| v.as_str()) == Some("local") {
            return Target::local_named(&host.name).guarding(self.home.private_folders());
        }
        Target::ssh(SshSettings {
            name: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            user: host.user.clone(),
            auth: crate::inventory::ssh_auth(&host.auth),
            known_hosts: self.home.known_hosts(),
            policy,
            connect_timeout: Duration::from_secs(10),
        })
    }

    /// What a target name stands for, as Ansible reads host patterns:
    /// `local`, a host, `all`, a group or an environment (dev, preprod,
    /// prod). `None` is this machine.
    /// The names of the hosts `group` (any target pattern) stands for.
    pub(crate) fn group_members(&self, group: &str) -> Result<Vec<String>> {
        Ok(self
            .expand_target(group)?
            .into_iter()
            .map(|host| host.map_or_else(|| "local".to_string(), |h| h.name))
            .collect())
    }

    fn expand_target(&self, name: &str) -> Result<Vec<Option<Host>>> {
        if matches!(name, "local" | "localhost") {
            return Ok(vec![None]);
        }
        if let Some(host) = self.store.host(name)? {
            return Ok(vec![Some(host)]);
        }
        // The playbooks' host patterns: groups, environments, `all`,
        // `web-*`, `web:!web-3`, `web:&prod`.
        let inventory = self.store.hosts()?;
        let members = crate::inventory::pattern::select(name, &inventory).map_err(|why| {
            if name.contains([':', ',', '!', '&', '*']) {
                Error::BadInput(format!("target pattern `{name}`: {why}"))
            } else {
                unknown_host(name)
            }
        })?;
        if members.is_empty() {
            return Err(Error::BadInput(format!(
                "target pattern `{name}` selects no host"
            )));
        }
        Ok(members.into_iter().cloned().map(Some).collect())
    }

    /// What every call of an installed plugin is given: its live grants,
    /// its limits, the store for `kv`, the run's targets (log lines go to
    /// the runner's sink, set by the job).
    pub(crate) fn call_setup(&self, record: &PluginRecord, targets: Vec<Target>) -> CallSetup {
        CallSetup {
            plugin: record.manifest.name.clone(),
            grants: self.live_grants(record),
            limits: Limits::default().with(&record.limits),
            store: Some(Arc::new(kv_backend::StoreKv(self.store.clone()))),
            targets: Arc::new(targets),
            log_sink: Arc::new(capstan_plugin_host::capability::log::DiscardLogs),
        }
    }

    fn live_grants(&self, record: &PluginRecord) -> SharedGrants {
        let mut live = self.live_grants.lock().unwrap_or_else(|e| e.into_inner());
        let shared = live.entry(record.manifest.name.clone()).or_default();
        shared.replace(record.grants.clone());
        shared.clone()
    }

    fn refresh_live_grants(&self, name: &str, grants: &GrantSet) {
        if let Some(shared) = self
            .live_grants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            shared.replace(grants.clone());
        }
    }
}

/// The error for a job number the history does not have.
fn no_job(id: i64) -> Error {
    Error::NotFound(format!("no job {id} (see `capstan jobs list`)"))
}

pub(crate) fn unknown_host(name: &str) -> Error {
    Error::BadInput(format!(
        "unknown target `{name}`: no host, group or environment has that name; add it with \
         `capstan hosts add {name} --address ADDRESS` (or use `local`)"
    ))
}

/// The values to mask in a job (its secret params and the sudo password
/// read from the environment) and the request as the history records it,
/// secret values replaced by [`crate::secrets::MASK`].
fn mask_secret_params(
    schema: &serde_json::Value,
    request: &RunRequest,
    sudo_password: Option<&capstan_remote::SudoPassword>,
) -> (Secrets, RunRequest) {
    let is_secret = |spec: &serde_json::Value| {
        spec.get("secret") == Some(&serde_json::Value::Bool(true))
            || spec.get("writeOnly") == Some(&serde_json::Value::Bool(true))
            || spec.get("format").and_then(|f| f.as_str()) == Some("password")
    };
    let secret_names: Vec<String> = schema
        .get("properties")
        .and_then(|p| p.as_object())
        .into_iter()
        .flatten()
        .filter(|(name, spec)| is_secret(spec) && request.params.get(name.as_str()).is_some())
        .map(|(name, _)| name.clone())
        .collect();
    let mut recorded = request.clone();
    let mut values = Vec::new();
    for name in &secret_names {
        if let Some(value) = recorded.params.get_mut(name.as_str()) {
            let secret = std::mem::replace(value, crate::secrets::MASK.into());
            values.push(match secret {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
        }
    }
    recorded.secret_params = secret_names;
    let password = request
        .become_password_env
        .as_ref()
        .and_then(|var| std::env::var(var).ok());
    let stored = sudo_password.map(|p| p.expose().to_string());
    (
        Secrets::new(values.into_iter().chain(password).chain(stored)),
        recorded,
    )
}

fn names(caps: &[Capability]) -> String {
    if caps.is_empty() {
        return "nothing".into();
    }
    caps.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}
