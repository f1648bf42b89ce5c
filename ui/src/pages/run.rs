//! Run: pick a plugin action (its parameters as a form) or a playbook,
//! the targets and check mode, run, and land on the job.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api::{self, ApiError, PlaybookForm, PluginView, RunRequest};
use crate::components::field::{Notice, TextField};
use crate::components::params::{ParamsForm, build_params, params_of};
use crate::{Route, go};

/// The Run page.
#[component]
pub fn Run() -> impl IntoView {
    let playbook = RwSignal::new(false);
    view! {
        <header class="page-head">
            <h1>"Run"</h1>
            <div class="tabs" role="tablist">
                <button role="tab" id="tab-action" aria-selected=move || (!playbook.get()).to_string() on:click=move |_| playbook.set(false)>"Plugin action"</button>
                <button role="tab" id="tab-playbook" aria-selected=move || playbook.get().to_string() on:click=move |_| playbook.set(true)>"Playbook"</button>
            </div>
        </header>
        {move || if playbook.get() {
            view! { <PlaybookRun /> }.into_any()
        } else {
            view! { <ActionRun /> }.into_any()
        }}
    }
}

#[component]
fn ActionRun() -> impl IntoView {
    let plugins = LocalResource::new(api::plugins);
    let hosts = LocalResource::new(api::hosts);
    let plugin = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let typed = RwSignal::new(BTreeMap::<String, String>::new());
    let raw_params = RwSignal::new(String::from("{}"));
    let field_errors = RwSignal::new(BTreeMap::<String, String>::new());
    let targets = RwSignal::new(vec!["local".to_string()]);
    let more_targets = RwSignal::new(String::new());
    let check = RwSignal::new(false);
    let diff = RwSignal::new(true);
    let error = RwSignal::new(None::<(bool, String)>);
    let running = RwSignal::new(false);

    let plugin_list = move || plugins.get().and_then(Result::ok).unwrap_or_default();
    let chosen_plugin = move || plugin_list().into_iter().find(|p| p.name == plugin.get());
    let chosen_action = move || {
        chosen_plugin().and_then(|p| p.actions.into_iter().find(|a| a.name == action.get()))
    };
    // A new plugin starts on its first action; a new action on empty params.
    Effect::new(move |_| {
        if let Some(p) = chosen_plugin()
            && !p.actions.iter().any(|a| a.name == action.get_untracked())
        {
            action.set(
                p.actions
                    .first()
                    .map(|a| a.name.clone())
                    .unwrap_or_default(),
            );
        }
    });
    Effect::new(move |_| {
        action.track();
        typed.set(BTreeMap::new());
        field_errors.set(BTreeMap::new());
        raw_params.set("{}".into());
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let Some(info) = chosen_action() else {
            error.set(Some((false, "Pick a plugin and an action first.".into())));
            return;
        };
        let params = match params_of(&info.params_schema) {
            Some(fields) => match build_params(&fields, &typed.get_untracked()) {
                Ok(params) => params,
                Err(errors) => {
                    field_errors.set(errors);
                    return;
                }
            },
            None => match serde_json::from_str(&raw_params.get_untracked()) {
                Ok(value) => value,
                Err(e) => {
                    field_errors.set(BTreeMap::from([("__raw".into(), format!("not JSON: {e}"))]));
                    return;
                }
            },
        };
        field_errors.set(BTreeMap::new());
        let mut chosen = targets.get_untracked();
        chosen.extend(
            more_targets
                .get_untracked()
                .split([',', ' '])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from),
        );
        if chosen.is_empty() {
            error.set(Some((false, "Pick at least one target.".into())));
            return;
        }
        let mut request = RunRequest::new(&plugin.get_untracked(), &info.name, params, chosen);
        request.check = check.get_untracked();
        request.diff = diff.get_untracked();
        running.set(true);
        leptos::task::spawn_local(async move {
            match api::run_action(request).await {
                Ok(job) => go(Route::Job(job)),
                Err(ApiError { message, .. }) => error.set(Some((false, message))),
            }
            running.set(false);
        });
    };

    view! {
        <form class="panel run-form" on:submit=submit>
            <div class="grid2">
                <div class="field">
                    <label for="run-plugin">"Plugin"</label>
                    <select id="run-plugin" prop:value=move || plugin.get() on:change=move |ev| plugin.set(event_target_value(&ev))>
                        <option value="">"Choose a plugin…"</option>
                        {move || plugin_list().into_iter().map(|p: PluginView| view! {
                            <option value=p.name.clone()>{format!("{} — {}", p.name, p.summary)}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="run-action">"Action"</label>
                    <select id="run-action" prop:value=move || action.get() on:change=move |ev| action.set(event_target_value(&ev))>
                        {move || chosen_plugin().map(|p| p.actions.into_iter().map(|a| view! {
                            <option value=a.name.clone()>{format!("{} — {}", a.name, a.summary)}</option>
                        }).collect_view())}
                    </select>
                </div>
            </div>
            {move || chosen_action().map(|info| match params_of(&info.params_schema) {
                Some(fields) => view! {
                    <fieldset class="params"><legend>"Parameters"</legend>
                        <div class="grid2"><ParamsForm params=fields typed=typed errors=field_errors /></div>
                    </fieldset>
                }.into_any(),
                None => view! {
                    <fieldset class="params"><legend>"Parameters (JSON)"</legend>
                        <div class="field" class:invalid=move || field_errors.with(|e| e.contains_key("__raw"))>
                            <textarea id="param-json" rows="3" prop:value=move || raw_params.get() on:input=move |ev| raw_params.set(event_target_value(&ev))></textarea>
                            {move || field_errors.with(|e| e.get("__raw").cloned()).map(|m| view! { <div class="field-error" role="alert">{m}</div> })}
                        </div>
                    </fieldset>
                }.into_any(),
            })}
            <fieldset class="targets"><legend>"Targets"</legend>
                <div class="target-list">
                    {move || {
                        let mut names = vec!["local".to_string()];
                        names.extend(hosts.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|h| h.host.name));
                        names.into_iter().map(|name| {
                            let n1 = name.clone();
                            let n2 = name.clone();
                            view! {
                                <label class="chip">
                                    <input type="checkbox" data-target=name.clone()
                                        prop:checked=move || targets.with(|t| t.contains(&n1))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            targets.update(|t| {
                                                t.retain(|x| x != &n2);
                                                if on { t.push(n2.clone()); }
                                            });
                                        } />
                                    {if name == "local" { "local (this machine)".to_string() } else { name.clone() }}
                                </label>
                            }
                        }).collect_view()
                    }}
                </div>
                <TextField label="Groups or environments" name="more-targets" value=more_targets error=Signal::derive(|| None::<String>) placeholder="web, prod" />
            </fieldset>
            <div class="options">
                <label><input type="checkbox" id="run-check" prop:checked=move || check.get() on:change=move |ev| check.set(event_target_checked(&ev)) />" Check mode (change nothing, show what would change)"</label>
                <label><input type="checkbox" prop:checked=move || diff.get() on:change=move |ev| diff.set(event_target_checked(&ev)) />" Show diffs"</label>
            </div>
            <Notice message=error />
            <div class="actions">
                <button type="submit" class="primary" id="run-submit" disabled=move || running.get()>
                    {move || if running.get() { "Starting…" } else { "Run" }}
                </button>
            </div>
        </form>
    }
}

#[component]
fn PlaybookRun() -> impl IntoView {
    let playbook = RwSignal::new(String::new());
    let inventory = RwSignal::new(String::new());
    let limit = RwSignal::new(String::new());
    let check = RwSignal::new(false);
    let diff = RwSignal::new(true);
    let error = RwSignal::new(None::<ApiError>);
    let running = RwSignal::new(false);
    let about =
        move |field: &'static str| Signal::derive(move || error.get().and_then(|e| e.about(field)));
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| !matches!(e.field.as_deref(), Some("playbook" | "inventory")))
            .map(|e| (false, e.message))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = PlaybookForm {
            playbook: playbook.get_untracked(),
            inventory: inventory.get_untracked(),
            limit: limit.get_untracked(),
            check: check.get_untracked(),
            diff: diff.get_untracked(),
        };
        running.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::run_playbook(form).await {
                Ok(job) => go(Route::Job(job)),
                Err(e) => error.set(Some(e)),
            }
            running.set(false);
        });
    };
    view! {
        <form class="panel run-form" on:submit=submit>
            <TextField label="Playbook" name="playbook" value=playbook error=about("playbook") placeholder="/srv/ops/site.yml" />
            <TextField label="Inventory" name="inventory" value=inventory error=about("inventory") placeholder="empty: Capstan's own hosts" hint="An Ansible INI or YAML inventory; without one the plays use the hosts on the Hosts page." />
            <TextField label="Limit" name="limit" value=limit error=about("limit") placeholder="web:!web-3" />
            <div class="options">
                <label><input type="checkbox" prop:checked=move || check.get() on:change=move |ev| check.set(event_target_checked(&ev)) />" Check mode"</label>
                <label><input type="checkbox" prop:checked=move || diff.get() on:change=move |ev| diff.set(event_target_checked(&ev)) />" Show diffs"</label>
            </div>
            <Notice message=general />
            <div class="actions">
                <button type="submit" class="primary" id="run-playbook" disabled=move || running.get()>
                    {move || if running.get() { "Starting…" } else { "Run playbook" }}
                </button>
            </div>
        </form>
    }
}
