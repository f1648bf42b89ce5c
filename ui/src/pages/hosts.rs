//! Hosts: the inventory; add, edit, remove; import an Ansible inventory;
//! check a login (showing an unknown host key's fingerprint for the user
//! to trust or not); a host's facts.

use leptos::prelude::*;

use crate::api::{self, ApiError, HostAuth, HostCheck, HostForm, HostView};
use crate::components::field::{Notice, TextField};
use crate::components::status::when;

/// Which panel is open above the list.
#[derive(Debug, Clone, PartialEq)]
enum Panel {
    None,
    /// The host form; `Some(name)` edits that host.
    Form(Option<String>),
    Import,
}

/// The Hosts page.
#[component]
pub fn Hosts() -> impl IntoView {
    let reload = RwSignal::new(0_u32);
    let hosts = LocalResource::new(move || {
        reload.track();
        api::hosts()
    });
    let panel = RwSignal::new(Panel::None);
    let notice = RwSignal::new(None::<(bool, String)>);
    let refresh = move || reload.update(|n| *n += 1);

    view! {
        <header class="page-head">
            <h1>"Hosts"</h1>
            <div class="actions">
                <button id="add-host" class="primary" on:click=move |_| { notice.set(None); panel.set(Panel::Form(None)) }>"Add host"</button>
                <button id="import-inventory" on:click=move |_| { notice.set(None); panel.set(Panel::Import) }>"Import inventory"</button>
            </div>
        </header>
        <Notice message=notice />
        {move || match panel.get() {
            Panel::None => ().into_any(),
            Panel::Form(editing) => {
                let existing = editing.as_ref().and_then(|name| {
                    hosts.get().and_then(|r| r.ok()).and_then(|list| {
                        list.into_iter().find(|h| &h.host.name == name)
                    })
                });
                view! {
                    <HostEditor
                        editing=editing
                        existing=existing
                        on_done=Callback::new(move |message: Option<String>| {
                            panel.set(Panel::None);
                            if let Some(m) = message { notice.set(Some((true, m))); }
                            refresh();
                        })
                    />
                }.into_any()
            }
            Panel::Import => view! {
                <ImportInventory on_done=Callback::new(move |message: Option<String>| {
                    panel.set(Panel::None);
                    if let Some(m) = message { notice.set(Some((true, m))); }
                    refresh();
                }) />
            }.into_any(),
        }}
        <Transition fallback=|| view! { <div class="table-skeleton"></div> }>
            {move || hosts.get().map(|result| match result {
                Ok(list) if list.is_empty() => view! {
                    <div class="empty">
                        <p>"No hosts yet."</p>
                        <p class="muted">"Add one, or import the inventory you use with Ansible (INI or YAML)."</p>
                    </div>
                }.into_any(),
                Ok(list) => view! {
                    <table class="hosts-table">
                        <thead><tr>
                            <th>"Host"</th><th>"Login"</th><th>"Environment"</th><th>"Groups"</th><th>"Last check"</th><th></th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|view| view! {
                                <HostRow
                                    view=view
                                    on_edit=Callback::new(move |name: String| { notice.set(None); panel.set(Panel::Form(Some(name))) })
                                    on_changed=Callback::new(move |message: Option<(bool, String)>| {
                                        if message.is_some() { notice.set(message); }
                                        refresh();
                                    })
                                />
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(e) => view! { <div class="notice error" role="alert">{e.message}</div> }.into_any(),
            })}
        </Transition>
    }
}

/// One host with its actions: check (and trust), facts, edit, remove.
#[component]
fn HostRow(
    view: HostView,
    on_edit: Callback<String>,
    on_changed: Callback<Option<(bool, String)>>,
) -> impl IntoView {
    let name = view.host.name.clone();
    let check = RwSignal::new(view.check.clone());
    let busy = RwSignal::new(None::<&'static str>);
    let facts = RwSignal::new(None::<Result<api::Facts, ApiError>>);
    let confirm_remove = RwSignal::new(false);

    let run_check = {
        let name = name.clone();
        move |trust: Option<String>| {
            let name = name.clone();
            busy.set(Some(if trust.is_some() {
                "Trusting…"
            } else {
                "Checking…"
            }));
            leptos::task::spawn_local(async move {
                match api::check_host(name, trust).await {
                    Ok(result) => check.set(Some(result)),
                    Err(e) => on_changed.run(Some((false, e.message))),
                }
                busy.set(None);
            });
        }
    };
    let run_check_trust = run_check.clone();
    let gather = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            busy.set(Some("Gathering facts…"));
            leptos::task::spawn_local(async move {
                facts.set(Some(api::host_facts(name).await));
                busy.set(None);
            });
        }
    };
    let remove = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            leptos::task::spawn_local(async move {
                match api::remove_host(name.clone()).await {
                    Ok(()) => on_changed.run(Some((true, format!("Removed {name}.")))),
                    Err(e) => on_changed.run(Some((false, e.message))),
                }
            });
        }
    };
    let host = view.host.clone();
    let login = match &host.auth {
        HostAuth::Agent => "ssh-agent".to_string(),
        HostAuth::KeyFile(path) => format!("key {path}"),
        HostAuth::PasswordEnv(var) => format!("password from ${var}"),
    };
    let edit_name = name.clone();
    view! {
        <tr data-host=name.clone()>
            <td><strong>{host.name.clone()}</strong><div class="muted">{format!("{}@{}:{}", host.user, host.address, host.port)}</div></td>
            <td class="muted">{login}</td>
            <td>{host.environment.clone().map(|e| view! { <span class=format!("env-name env-{e}")>{e.clone()}</span> })}</td>
            <td class="muted">{host.groups.join(", ")}</td>
            <td class="check-cell">{move || check_summary(check.get())}</td>
            <td class="row-actions">
                {move || match busy.get() {
                    Some(what) => view! { <span class="spinner" aria-live="polite">{what}</span> }.into_any(),
                    None => {
                        let run_check = run_check.clone();
                        let gather = gather.clone();
                        let edit_name = edit_name.clone();
                        view! {
                            <button class="check" on:click=move |_| run_check(None)>"Check"</button>
                            <button class="facts" on:click=gather>"Facts"</button>
                            <button class="edit" on:click=move |_| on_edit.run(edit_name.clone())>"Edit"</button>
                            <button class="danger" on:click=move |_| confirm_remove.set(true)>"Remove"</button>
                        }.into_any()
                    }
                }}
            </td>
        </tr>
        {move || check.get().and_then(|c| c.unknown_key.clone().map(|key| (c, key))).map(|(c, key)| {
            let trust = run_check_trust.clone();
            view! {
                <tr class="subrow"><td colspan="6">
                    <div class="trust" role="alertdialog" aria-label="Unknown host key">
                        <h3>{format!("{} offered a host key Capstan has not seen before", c.name)}</h3>
                        <p class="fingerprint"><code>{key.clone()}</code></p>
                        <p class="muted">
                            "Compare it with the host's own fingerprint (on the host: "
                            <code>"ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"</code>
                            "). Trust it only if they match: a different key may mean someone is in the middle."
                        </p>
                        <div class="actions">
                            <button class="primary trust-key" on:click=move |_| trust(Some(key.clone()))>"They match: trust and connect"</button>
                            <button on:click=move |_| check.set(None)>"Not now"</button>
                        </div>
                    </div>
                </td></tr>
            }
        })}
        {move || confirm_remove.get().then(|| {
            let remove = remove.clone();
            view! {
                <tr class="subrow"><td colspan="6">
                    <div class="confirm" role="alertdialog">
                        {format!("Remove {} from the inventory? Its jobs stay in the history.", host.name)}
                        <button class="danger confirm-remove" on:click=remove>"Remove"</button>
                        <button on:click=move |_| confirm_remove.set(false)>"Cancel"</button>
                    </div>
                </td></tr>
            }
        })}
        {move || facts.get().map(|result| view! {
            <tr class="subrow"><td colspan="6">{facts_view(result, facts)}</td></tr>
        })}
    }
}

fn check_summary(check: Option<HostCheck>) -> AnyView {
    match check {
        None => view! { <span class="muted">"not checked"</span> }.into_any(),
        Some(c) => {
            let (class, word) = if c.reachable {
                ("dot ok", "reachable")
            } else {
                ("dot unreachable", "unreachable")
            };
            view! {
                <div class="check-result">
                    <span class=class></span>
                    <span class="check-word">{word}</span>
                    <span class="muted">{format!(" · {} ms · {}", c.elapsed_ms, when(c.checked_at_ms))}</span>
                    <div class="check-message" title=c.message.clone()>{c.message.clone()}</div>
                </div>
            }
            .into_any()
        }
    }
}

fn facts_view(
    result: Result<api::Facts, ApiError>,
    facts: RwSignal<Option<Result<api::Facts, ApiError>>>,
) -> AnyView {
    let close = move |_| facts.set(None);
    match result {
        Err(e) => view! { <div class="notice error">{e.message}<button on:click=close>"Close"</button></div> }.into_any(),
        Ok(api::Facts { error: Some(e), job_id, .. }) => view! {
            <div class="notice error">{format!("Job #{job_id}: {e}")}<button on:click=close>"Close"</button></div>
        }
        .into_any(),
        Ok(api::Facts { facts, job_id, .. }) => {
            let rows: Vec<(String, String)> = facts
                .as_ref()
                .and_then(|f| f.get("ansible_facts").or(Some(f)))
                .and_then(|f| f.as_object())
                .map(|map| {
                    map.iter()
                        .filter(|(_, v)| !v.is_object() && !v.is_array())
                        .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), String::from)))
                        .collect()
                })
                .unwrap_or_default();
            view! {
                <div class="facts-panel">
                    <div class="panel-head"><strong>{format!("Facts (job #{job_id})")}</strong><button on:click=close>"Close"</button></div>
                    <dl class="facts">
                        {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                    </dl>
                </div>
            }
            .into_any()
        }
    }
}

/// The add/edit form. Nothing typed is lost on an error; the field at
/// fault shows the message.
#[component]
fn HostEditor(
    editing: Option<String>,
    existing: Option<HostView>,
    on_done: Callback<Option<String>>,
) -> impl IntoView {
    let host = existing.map(|v| v.host);
    let text = |f: fn(&api::Host) -> String, default: &str| {
        RwSignal::new(host.as_ref().map_or(default.to_string(), f))
    };
    let name = text(|h| h.name.clone(), "");
    let address = text(|h| h.address.clone(), "");
    let port = text(|h| h.port.to_string(), "22");
    let user = text(|h| h.user.clone(), "");
    let auth = text(
        |h| match h.auth {
            HostAuth::Agent => "agent".into(),
            HostAuth::KeyFile(_) => "key".into(),
            HostAuth::PasswordEnv(_) => "password-env".into(),
        },
        "agent",
    );
    let auth_value = text(
        |h| match &h.auth {
            HostAuth::Agent => String::new(),
            HostAuth::KeyFile(v) | HostAuth::PasswordEnv(v) => v.clone(),
        },
        "",
    );
    let environment = text(|h| h.environment.clone().unwrap_or_default(), "");
    let groups = text(|h| h.groups.join(", "), "");
    let error = RwSignal::new(None::<ApiError>);
    let saving = RwSignal::new(false);
    let about =
        move |field: &'static str| Signal::derive(move || error.get().and_then(|e| e.about(field)));
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| {
                !matches!(
                    e.field.as_deref(),
                    Some("name" | "address" | "port" | "user" | "auth_value" | "environment")
                )
            })
            .map(|e| (false, e.message))
    });
    let title = if editing.is_some() {
        "Edit host"
    } else {
        "Add a host"
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = HostForm {
            name: name.get(),
            address: address.get(),
            port: port.get(),
            user: user.get(),
            auth: auth.get(),
            auth_value: auth_value.get(),
            environment: environment.get(),
            groups: groups.get(),
        };
        let editing = editing.clone();
        saving.set(true);
        leptos::task::spawn_local(async move {
            match api::save_host(form, editing).await {
                Ok(host) => on_done.run(Some(format!(
                    "Saved {}. Check it to prove the login.",
                    host.name
                ))),
                Err(e) => error.set(Some(e)),
            }
            saving.set(false);
        });
    };
    view! {
        <form class="panel host-form" on:submit=save>
            <h2>{title}</h2>
            <div class="grid2">
                <TextField label="Name" name="name" value=name error=about("name") placeholder="web-1" />
                <TextField label="Address" name="address" value=address error=about("address") placeholder="10.0.0.5 or web-1.internal" />
                <TextField label="SSH port" name="port" value=port error=about("port") />
                <TextField label="Login user" name="user" value=user error=about("user") placeholder="yours if empty" />
                <div class="field">
                    <label for="field-auth">"Log in with"</label>
                    <select id="field-auth" prop:value=move || auth.get() on:change=move |ev| auth.set(event_target_value(&ev))>
                        <option value="agent">"ssh-agent keys"</option>
                        <option value="key">"a private key file"</option>
                        <option value="password-env">"a password from an environment variable"</option>
                    </select>
                </div>
                {move || match auth.get().as_str() {
                    "key" => view! { <TextField label="Key file" name="auth_value" value=auth_value error=about("auth_value") placeholder="/home/you/.ssh/id_ed25519" /> }.into_any(),
                    "password-env" => view! { <TextField label="Variable" name="auth_value" value=auth_value error=about("auth_value") placeholder="WEB1_PASSWORD" hint="Read when connecting; the password is never stored." /> }.into_any(),
                    _ => view! { <div class="field"><label>" "</label><div class="field-hint">"Uses the keys of your running ssh-agent."</div></div> }.into_any(),
                }}
                <div class="field" class:invalid=move || about("environment").get().is_some()>
                    <label for="field-environment">"Environment"</label>
                    <select id="field-environment" prop:value=move || environment.get() on:change=move |ev| environment.set(event_target_value(&ev))>
                        <option value="">"none"</option>
                        <option value="dev">"dev"</option>
                        <option value="preprod">"preprod"</option>
                        <option value="prod">"prod"</option>
                    </select>
                </div>
                <TextField label="Groups" name="groups" value=groups error=about("groups") placeholder="web, eu" />
            </div>
            <Notice message=general />
            <div class="actions">
                <button type="submit" class="primary" id="save-host" disabled=move || saving.get()>
                    {move || if saving.get() { "Saving…" } else { "Save" }}
                </button>
                <button type="button" on:click=move |_| on_done.run(None)>"Cancel"</button>
            </div>
        </form>
    }
}

/// Imports an Ansible inventory file (INI or YAML).
#[component]
fn ImportInventory(on_done: Callback<Option<String>>) -> impl IntoView {
    let path = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let import = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let file = path.get();
        leptos::task::spawn_local(async move {
            match api::import_inventory(file.clone()).await {
                Ok(n) => on_done.run(Some(format!("Imported {n} hosts from {file}."))),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="panel" on:submit=import>
            <h2>"Import an Ansible inventory"</h2>
            <TextField
                label="Inventory file"
                name="path"
                value=path
                error=Signal::derive(move || error.get().map(|e| e.message))
                placeholder="/etc/ansible/hosts or inventory.yml"
                hint="Groups, children and host variables come along; hosts of the same name are replaced. Nothing is saved if a line is wrong."
            />
            <div class="actions">
                <button type="submit" class="primary">"Import"</button>
                <button type="button" on:click=move |_| on_done.run(None)>"Cancel"</button>
            </div>
        </form>
    }
}
