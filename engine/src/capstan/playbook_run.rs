//! [`Capstan::run_playbook`]: checks a playbook, prepares its plugins and
//! hosts, records the job and runs it.

use std::collections::HashMap;
use std::sync::Arc;

use super::Capstan;
use super::control::{CancelWatch, JobControl};
use super::recorder::Recorder;
use crate::jobs::runner::MAX_PARALLEL_TARGETS;
use crate::jobs::{JobRequest, LogLine, PlaybookRequest};
use crate::playbook::ansible_cfg::AnsibleCfg;
use crate::playbook::context::{PreparedPlugin, RunContext, RunHost};
use crate::playbook::outline::{self, PlaybookOutline};
use crate::playbook::prepare;
use crate::playbook::run;
use crate::playbook::template::Templates;
use crate::playbook::{
    PlaybookError, PlaybookEvent, PlaybookEventSink, PlaybookOptions, PlaybookReport, model,
};
use crate::secrets::Secrets;
use crate::vault::Vault;
use crate::{Error, Result};
use capstan_plugin_host::log_sink::LogSink;
use capstan_remote::HostKeyPolicy;

impl Capstan {
    /// Runs an Ansible playbook. Input errors (a malformed or unsupported
    /// playbook, an unknown module or host pattern, a missing inventory)
    /// come back before any job is recorded; what happens on hosts is in
    /// the report, the events and the job history.
    pub async fn run_playbook(
        &self,
        options: PlaybookOptions,
        events: PlaybookEventSink,
    ) -> Result<PlaybookReport> {
        self.run_playbook_with(options, events, JobControl::default())
            .await
    }

    /// [`Capstan::run_playbook`] launched by `control.launched_by` and
    /// stopped by `control.cancel` or a recorded cancel request: hosts
    /// under way are dropped (their remote commands signalled), no task is
    /// started after, and the job is recorded `cancelled` with the task
    /// results that had come.
    pub async fn run_playbook_with(
        &self,
        mut options: PlaybookOptions,
        events: PlaybookEventSink,
        control: JobControl,
    ) -> Result<PlaybookReport> {
        let LoadedRun {
            cfg,
            warnings,
            vault,
            playbook,
            inventory,
        } = self.load_run(&mut options)?;
        let sudo_password = self.sudo_password(options.become_password_secret.as_deref())?;

        let mut plugins = HashMap::new();
        let needed = prepare::plugins_needed(&playbook);
        let maybe = prepare::plugins_maybe_needed(&playbook, &vault)
            .into_iter()
            .filter(|name| !needed.iter().any(|n| n == name))
            .map(|name| (name, false))
            .collect::<Vec<_>>();
        for (name, required) in needed.into_iter().map(|n| (n, true)).chain(maybe) {
            let record = match self.plugin(&name).await {
                Ok(record) => record,
                Err(Error::UnknownPlugin(_)) if !required => continue,
                Err(Error::UnknownPlugin(_)) => {
                    return Err(Error::BadInput(format!(
                        "the playbook needs plugin `{name}`, which is not installed \
                         (`capstan plugin install FILE.wasm`)"
                    )));
                }
                Err(other) => return Err(other),
            };
            let loaded = self.load_installed(&record)?;
            let schemas = record
                .manifest
                .actions
                .iter()
                .map(|a| (a.name.clone(), a.params_schema.clone()))
                .collect();
            // Each task gives the call its hosts' targets.
            let setup = self.call_setup(&record, Vec::new());
            plugins.insert(
                name,
                PreparedPlugin {
                    loaded,
                    setup,
                    schemas,
                },
            );
        }

        let policy = HostKeyPolicy::trusting_new(options.trust_new_hosts);
        let dir = playbook.dir.clone();
        let hosts: Vec<RunHost> = inventory
            .iter()
            .chain(implicit_localhost(&inventory).as_ref())
            .map(|host| RunHost {
                name: host.name.clone(),
                target: self.target_for(host, policy.clone()),
                vars: prepare::magic_vars(host, &inventory, &options, &dir),
                user_given: host.vars.contains_key("ansible_user"),
            })
            .collect();

        let request = JobRequest::Playbook(PlaybookRequest {
            playbook: options.playbook.display().to_string(),
            inventory: options.inventory.as_ref().map(|p| p.display().to_string()),
            limit: options.limit.clone(),
            tags: options.tags.clone(),
            skip_tags: options.skip_tags.clone(),
            extra_vars: options.extra_vars.keys().cloned().collect(),
            check: options.check,
            diff: options.diff,
            become_password_env: options.become_password_env.clone(),
            become_password_secret: options.become_password_secret.clone(),
            adhoc: options.adhoc.as_ref().map(|a| a.module.clone()),
            hosts: {
                let mut names: Vec<String> = inventory.iter().map(|h| h.name.clone()).collect();
                capstan_wire::natural::sort_naturally(&mut names, |n| n);
                names
            },
        });
        let host = self.host()?.clone();
        let launched_by = control.launched_by.unwrap_or_else(|| self.actor());
        let job_id = self.store.create_job(&request, &launched_by)?;
        let cancel = control.cancel;
        let _watch = CancelWatch::start(self.store.clone(), job_id, cancel.clone());
        let recorder = Recorder::new(self.store.clone(), job_id, cancel.clone());
        let events = recorder.playbook_events(events);
        events(&PlaybookEvent::Started { job_id });

        let lines = events.clone();
        let logs: Arc<dyn LogSink> =
            Arc::new(move |line: LogLine| lines(&PlaybookEvent::Log(line)));
        let mut secrets = run_secrets(&options, &inventory, sudo_password.as_ref());
        if vault.has_passwords() {
            secrets = secrets.with_vault(vault.clone());
        }
        let targets = hosts.iter().map(|h| h.target.clone()).collect();
        let start_at = options.start_at_task.clone();
        let force_handlers = options.force_handlers;
        let context = Arc::new(RunContext {
            hostvars_used: prepare::mentions_hostvars(&playbook),
            vault,
            targets,
            controller: capstan_plugin_host::target::Target::local_named("localhost")
                .guarding(self.home.private_folders()),
            host,
            plugins,
            templates: Templates::new(),
            dir,
            options,
            events: events.clone(),
            logs,
            inventory,
            secrets,
            sudo_password,
            late_handlers: Default::default(),
            missing_handler_warns: cfg.missing_handler_warns,
            missing_handlers_warned: Default::default(),
            forks: cfg.forks.unwrap_or(DEFAULT_FORKS).min(MAX_PARALLEL_TARGETS),
            force_handlers,
            fact_cache: cfg.fact_cache.clone(),
            warnings,
            start_at: std::sync::Mutex::new(start_at),
            cancel: cancel.clone(),
        });
        let span = tracing::info_span!("playbook", job = job_id, file = %playbook.path.display());
        let (mut recap, mut error) =
            tracing::Instrument::instrument(run::run_playbook(context, &playbook, hosts), span)
                .await;
        if cancel.is_cancelled() && error.is_none() {
            error = Some(
                "cancelled: the hosts under way were stopped and no task was started after".into(),
            );
        }
        capstan_wire::natural::sort_naturally(&mut recap, |r| &r.host);
        events(&PlaybookEvent::Finished {
            job_id,
            recap: recap.clone(),
            error: error.clone(),
        });
        recorder.close()?;
        Ok(PlaybookReport {
            job_id,
            recap,
            error,
        })
    }

    /// Reads what a run of `options` needs before anything is recorded:
    /// the ansible.cfg beside the playbook (filling what `options` leave
    /// open), the vault passwords, the playbook with every file it
    /// imports, and the inventory, each checked.
    fn load_run(&self, options: &mut PlaybookOptions) -> Result<LoadedRun> {
        let cfg = if options.ansible_cfg {
            AnsibleCfg::find(&model::folder_of(&options.playbook))
                .map_err(|e| Error::BadInput(e.to_string()))?
                .unwrap_or_default()
                .with_environment()
                .map_err(Error::BadInput)?
        } else {
            AnsibleCfg::default()
        };
        cfg.apply_to_options(options);
        let vault = Arc::new(
            Vault::from_options(&options.vault_password_files, &options.vault_ids)
                .map_err(|e| Error::BadInput(e.to_string()))?,
        );
        let roles_path = model::roles_search_path(&cfg.roles_path);
        let mut playbook = match &options.adhoc {
            Some(adhoc) => model::load_text(
                &options.playbook,
                &adhoc.playbook_text(),
                &vault,
                roles_path,
            )?,
            None => model::load_with_roles_path(&options.playbook, &vault, roles_path)?,
        };
        cfg.apply_to_plays(&mut playbook.plays);
        let warnings = cfg.not_honoured.clone();
        if let Some(start) = &options.start_at_task
            && !outline::has_start(&playbook, start)
        {
            return Err(Error::BadInput(format!(
                "--start-at-task `{start}`: no task of the playbook matches it (a task in a \
                 file that include_tasks reads during the run cannot be started at)"
            )));
        }
        prepare::check_vars_files(&playbook, &vault)?;
        let inventory = match &options.inventory {
            Some(path) => crate::inventory::load_file(
                path,
                &cfg.remote_user
                    .clone()
                    .unwrap_or_else(crate::inventory::current_user),
                Some(&playbook.dir),
                &vault,
            )?,
            None => {
                let mut hosts = self.hosts()?;
                crate::inventory::apply_folders(&mut hosts, &playbook.dir, &vault)?;
                hosts
            }
        };
        if let Some(limit) = &options.limit {
            crate::inventory::pattern::select_names(limit, &inventory)
                .map_err(|e| Error::BadInput(format!("--limit {limit}: {e}")))?;
        }
        for play in &playbook.plays {
            if !Templates::is_template(&play.hosts) {
                crate::inventory::pattern::select_names(&play.hosts, &inventory).map_err(|e| {
                    Error::from(PlaybookError::at(
                        &play.pos,
                        format!("hosts `{}`: {e}", play.hosts),
                    ))
                })?;
            }
        }

        Ok(LoadedRun {
            cfg,
            warnings,
            vault,
            playbook,
            inventory,
        })
    }

    /// What a run of `options` would do, without running or recording
    /// anything: each play's hosts and tasks (`--list-hosts`,
    /// `--list-tasks`); loading it is `--syntax-check`.
    pub fn outline_playbook(&self, mut options: PlaybookOptions) -> Result<PlaybookOutline> {
        let loaded = self.load_run(&mut options)?;
        Ok(outline::outline(
            &loaded.playbook,
            &loaded.inventory,
            &options,
        ))
    }
}

/// Ansible's implicit localhost, when the inventory has no `localhost`:
/// this machine, reached without SSH, in no group (not even `all`); a
/// play names it by `localhost` or `127.0.0.1`.
fn implicit_localhost(inventory: &[crate::inventory::Host]) -> Option<crate::inventory::Host> {
    let name = crate::inventory::pattern::IMPLICIT_LOCALHOST;
    if inventory.iter().any(|h| h.name == name) {
        return None;
    }
    Some(crate::inventory::Host {
        name: name.to_string(),
        address: "127.0.0.1".into(),
        port: 22,
        user: crate::inventory::current_user(),
        auth: crate::inventory::HostAuth::Agent,
        environment: None,
        groups: Vec::new(),
        vars: [("ansible_connection".to_string(), serde_json::json!("local"))]
            .into_iter()
            .collect(),
    })
}

/// How many hosts run a task at once when no `ansible.cfg` sets `forks`.
/// Past this, more at once only adds memory (each host's plugin instance)
/// and contention: measured on 100 hosts (bench/playbook.sh's mixed
/// playbook, 2 cores), all at once peaked at 106 MB in 6.7 s, 50 at once
/// at 86 MB in 6.6 s, 25 at once at 78 MB in 5.6 s. Ansible's own default
/// is 5.
const DEFAULT_FORKS: usize = 50;

/// What [`Capstan::load_run`] reads.
struct LoadedRun {
    cfg: AnsibleCfg,
    /// Said before the first play: settings not honoured, handlers
    /// notified that do not exist (`error_on_missing_handler = False`).
    warnings: Vec<String>,
    vault: Arc<Vault>,
    playbook: model::Playbook,
    inventory: Vec<crate::inventory::Host>,
}

/// What a playbook run masks: the values of its `--secret` variables, the
/// sudo password (stored, or from the environment) and the SSH passwords
/// its hosts read from the environment.
fn run_secrets(
    options: &PlaybookOptions,
    inventory: &[crate::inventory::Host],
    sudo_password: Option<&capstan_remote::SudoPassword>,
) -> Secrets {
    let from_vars = options.secret_vars.iter().filter_map(|name| {
        options.extra_vars.get(name).map(|value| match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    });
    let password_vars = options
        .become_password_env
        .iter()
        .chain(inventory.iter().filter_map(|host| match &host.auth {
            crate::inventory::HostAuth::PasswordEnv(var) => Some(var),
            _ => None,
        }));
    let passwords = password_vars.filter_map(|var| std::env::var(var).ok());
    let stored = sudo_password.map(|p| p.expose().to_string());
    Secrets::new(from_vars.chain(passwords).chain(stored))
}
