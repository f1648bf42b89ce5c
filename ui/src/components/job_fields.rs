//! The fields naming the job a schedule or a webhook runs: a plugin action
//! on targets with JSON params, or a playbook file on the service's
//! machine.

use leptos::prelude::*;

use crate::api::{ApiError, RunRequest, ScheduledJob, ScheduledPlaybook};
use crate::components::field::{TextField, error_about};

/// What is typed into [`JobFields`], read with [`JobDraft::job`].
#[derive(Clone, Copy)]
pub struct JobDraft {
    kind: RwSignal<String>,
    plugin: RwSignal<String>,
    action: RwSignal<String>,
    targets: RwSignal<String>,
    params: RwSignal<String>,
    playbook: RwSignal<String>,
}

impl JobDraft {
    /// An empty draft: an action on `local` with no params.
    pub fn new() -> Self {
        JobDraft {
            kind: RwSignal::new("action".to_string()),
            plugin: RwSignal::new(String::new()),
            action: RwSignal::new(String::new()),
            targets: RwSignal::new("local".to_string()),
            params: RwSignal::new("{}".to_string()),
            playbook: RwSignal::new(String::new()),
        }
    }

    /// The job as typed; `None`, with `error` set to the one naming the
    /// field at fault (params that are not JSON; the engine checks the
    /// rest), when it cannot be read.
    pub fn job_or_error(&self, error: RwSignal<Option<ApiError>>) -> Option<ScheduledJob> {
        self.job().map_err(|e| error.set(Some(e))).ok()
    }

    /// The job as typed, or the error naming the field at fault.
    fn job(&self) -> Result<ScheduledJob, ApiError> {
        if self.kind.get() == "playbook" {
            return Ok(ScheduledJob::Playbook {
                playbook: ScheduledPlaybook::new(self.playbook.get().trim()),
            });
        }
        let params = serde_json::from_str::<serde_json::Value>(&self.params.get())
            .map_err(|e| ApiError::field("params", format!("not JSON: {e}")))?;
        let targets: Vec<String> = self
            .targets
            .get()
            .split([',', ' '])
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect();
        Ok(ScheduledJob::Action {
            request: RunRequest::new(
                self.plugin.get().trim(),
                self.action.get().trim(),
                params,
                targets,
            ),
        })
    }
}

/// The message a form holding [`JobFields`] shows above its buttons: its
/// last error, unless the params field shows it under itself.
pub fn form_error(error: RwSignal<Option<ApiError>>) -> Signal<Option<(bool, String)>> {
    Signal::derive(move || {
        error
            .get()
            .filter(|e| !matches!(e.field.as_deref(), Some("params")))
            .map(|e| (false, e.message))
    })
}

impl Default for JobDraft {
    fn default() -> Self {
        JobDraft::new()
    }
}

/// The job's fields: what it runs, then the action's plugin, action,
/// targets and params, or the playbook's file. `error` is the form's last
/// error; the field it names shows it.
#[component]
pub fn JobFields(draft: JobDraft, error: RwSignal<Option<ApiError>>) -> impl IntoView {
    let about = move |field: &'static str| error_about(error, field);
    let JobDraft {
        kind,
        plugin,
        action,
        targets,
        params,
        playbook,
    } = draft;
    view! {
        <div class="field">
            <label for="field-kind">"Runs"</label>
            <select id="field-kind" prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                <option value="action">"a plugin action"</option>
                <option value="playbook">"a playbook"</option>
            </select>
        </div>
        {move || if kind.get() == "playbook" {
            view! {
                <TextField label="Playbook file" name="playbook" value=playbook error=about("playbook") placeholder="/srv/ops/site.yml" />
            }.into_any()
        } else {
            view! {
                <TextField label="Plugin" name="plugin" value=plugin error=about("plugin") placeholder="command" />
                <TextField label="Action" name="action" value=action error=about("action") placeholder="exec" />
                <TextField label="Targets" name="targets" value=targets error=about("targets") placeholder="web, db" />
                <div class="field" class:invalid=move || about("params").get().is_some()>
                    <label for="field-params">"Params (JSON)"</label>
                    <textarea id="field-params" rows="3" prop:value=move || params.get()
                        on:input=move |ev| params.set(event_target_value(&ev))></textarea>
                    {move || about("params").get().map(|m| view! { <div class="field-error">{m}</div> })}
                </div>
            }.into_any()
        }}
    }
}
