//! Plugins: what is installed, what each asked for and holds; install a
//! component through the grant dialog; grant, revoke, remove.

use leptos::prelude::*;

use crate::api::{self, ApiError, Inspection, PluginView};
use crate::components::field::{Notice, TextField};

/// The Plugins page.
#[component]
pub fn Plugins() -> impl IntoView {
    let reload = RwSignal::new(0_u32);
    let plugins = LocalResource::new(move || {
        reload.track();
        api::plugins()
    });
    let installing = RwSignal::new(false);
    let notice = RwSignal::new(None::<(bool, String)>);
    let refresh = move || reload.update(|n| *n += 1);
    view! {
        <header class="page-head">
            <h1>"Plugins"</h1>
            <div class="actions">
                <button id="install-plugin" class="primary" on:click=move |_| { notice.set(None); installing.set(true) }>"Install plugin"</button>
            </div>
        </header>
        <p class="lead muted">
            "Each plugin is a sandboxed WebAssembly component: it can only use the capabilities granted below, checked on every call."
        </p>
        <Notice message=notice />
        {move || installing.get().then(|| view! {
            <InstallPanel on_done=Callback::new(move |message: Option<String>| {
                installing.set(false);
                if let Some(m) = message { notice.set(Some((true, m))); }
                refresh();
            }) />
        })}
        <Transition fallback=|| view! { <div class="table-skeleton"></div> }>
            {move || plugins.get().map(|result| match result {
                Ok(list) => view! {
                    <div class="plugin-list">
                        {list.into_iter().map(|p| view! {
                            <PluginCard plugin=p on_changed=Callback::new(move |message: Option<(bool, String)>| {
                                notice.set(message);
                                refresh();
                            }) />
                        }).collect_view()}
                    </div>
                }.into_any(),
                Err(e) => view! { <div class="notice error" role="alert">{e.message}</div> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn PluginCard(plugin: PluginView, on_changed: Callback<Option<(bool, String)>>) -> impl IntoView {
    let name = plugin.name.clone();
    let confirm_remove = RwSignal::new(false);
    let remove = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            leptos::task::spawn_local(async move {
                match api::remove_plugin(name.clone()).await {
                    Ok(()) => on_changed.run(Some((true, format!("Removed {name} and its data.")))),
                    Err(e) => on_changed.run(Some((false, e.message))),
                }
            });
        }
    };
    let installed = plugin.installed;
    let actions = plugin
        .actions
        .iter()
        .map(|a| a.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <article class="plugin" data-plugin=name.clone()>
            <header>
                <h3>{plugin.name.clone()}</h3>
                <span class="muted">{format!("v{}", plugin.version)}</span>
                {plugin.bundled.then(|| view! { <span class="tag">"bundled"</span> })}
                {(!installed).then(|| view! { <span class="tag muted">"installs on first use"</span> })}
                {(!plugin.bundled).then(|| view! {
                    <button class="danger small remove-plugin" on:click=move |_| confirm_remove.set(true)>"Remove"</button>
                })}
            </header>
            <p>{plugin.summary.clone()}</p>
            <p class="muted small">{format!("Actions: {actions}")}</p>
            {move || confirm_remove.get().then(|| {
                let remove = remove.clone();
                view! {
                    <div class="confirm" role="alertdialog">
                        "Remove this plugin and the data it kept?"
                        <button class="danger confirm-remove" on:click=remove>"Remove"</button>
                        <button on:click=move |_| confirm_remove.set(false)>"Cancel"</button>
                    </div>
                }
            })}
            <ul class="caps">
                {if plugin.capabilities.is_empty() {
                    view! { <li class="muted">"Asks for nothing beyond writing to its job's log."</li> }.into_any()
                } else {
                    plugin.capabilities.into_iter().map(|cap| {
                        let (plugin_name, cap_name) = (name.clone(), cap.name.name().to_string());
                        let toggle = move |ev: leptos::ev::Event| {
                            let granted = event_target_checked(&ev);
                            let (plugin_name, cap_name) = (plugin_name.clone(), cap_name.clone());
                            leptos::task::spawn_local(async move {
                                match api::set_grant(plugin_name.clone(), cap_name.clone(), granted).await {
                                    Ok(_) => on_changed.run(Some((true, format!(
                                        "{plugin_name}: {cap_name} {}.",
                                        if granted { "granted" } else { "revoked: its next call is refused" }
                                    )))),
                                    Err(e) => on_changed.run(Some((false, e.message))),
                                }
                            });
                        };
                        view! {
                            <li>
                                <label class="cap">
                                    <input type="checkbox" class="grant" data-cap=cap.name.name()
                                        checked=cap.granted disabled=!installed on:change=toggle />
                                    <code>{cap.name.name()}</code>
                                    <span>{cap.words.clone()}</span>
                                </label>
                            </li>
                        }
                    }).collect_view().into_any()
                }}
            </ul>
        </article>
    }
}

/// Reads a `.wasm` file, then shows the grant dialog for it.
#[component]
fn InstallPanel(on_done: Callback<Option<String>>) -> impl IntoView {
    let path = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let inspection = RwSignal::new(None::<Inspection>);
    let reading = RwSignal::new(false);
    let read = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let file = path.get();
        reading.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::inspect_plugin(file).await {
                Ok(found) => inspection.set(Some(found)),
                Err(e) => error.set(Some(e)),
            }
            reading.set(false);
        });
    };
    view! {
        <form class="panel" on:submit=read>
            <h2>"Install a plugin"</h2>
            <TextField
                label="Plugin file (.wasm)"
                name="path"
                value=path
                error=Signal::derive(move || error.get().map(|e| e.message))
                placeholder="/path/to/plugin.wasm"
                hint="Capstan reads what the plugin says about itself and what it asks for; nothing is installed until you confirm."
            />
            <div class="actions">
                <button type="submit" class="primary" id="read-plugin" disabled=move || reading.get()>
                    {move || if reading.get() { "Reading…" } else { "Read plugin" }}
                </button>
                <button type="button" on:click=move |_| on_done.run(None)>"Cancel"</button>
            </div>
        </form>
        {move || inspection.get().map(|found| view! {
            <GrantDialog
                path=path.get_untracked()
                inspection=found
                on_cancel=Callback::new(move |_: ()| inspection.set(None))
                on_installed=on_done
            />
        })}
    }
}

/// The grant dialog: what the plugin is and each capability it asks for
/// in plain words, each ticked to grant or unticked to refuse.
#[component]
fn GrantDialog(
    path: String,
    inspection: Inspection,
    on_cancel: Callback<()>,
    on_installed: Callback<Option<String>>,
) -> impl IntoView {
    let choices: Vec<(String, RwSignal<bool>)> = inspection
        .capabilities
        .iter()
        .map(|c| (c.name.name().to_string(), RwSignal::new(true)))
        .collect();
    let error = RwSignal::new(None::<(bool, String)>);
    let installing = RwSignal::new(false);
    let replace = inspection.replaces.is_some();
    let keep_data = RwSignal::new(false);
    let install = {
        let (choices, sha256, name) = (
            choices.clone(),
            inspection.sha256.clone(),
            inspection.name.clone(),
        );
        move |_| {
            let grants: Vec<String> = choices
                .iter()
                .filter(|(_, on)| on.get_untracked())
                .map(|(cap, _)| cap.clone())
                .collect();
            let (path, sha256, name) = (path.clone(), sha256.clone(), name.clone());
            installing.set(true);
            leptos::task::spawn_local(async move {
                let granted = if grants.is_empty() {
                    "nothing".to_string()
                } else {
                    grants.join(", ")
                };
                let keep = keep_data.get_untracked();
                match api::install_plugin(path, sha256, grants, replace, keep).await {
                    Ok(_) => {
                        let verb = if replace { "Replaced" } else { "Installed" };
                        on_installed.run(Some(format!("{verb} {name}, granted {granted}.")))
                    }
                    Err(e) => error.set(Some((false, e.message))),
                }
                installing.set(false);
            });
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            on_cancel.run(());
        }
    };
    view! {
        <div class="modal-backdrop" on:keydown=on_key>
            <div class="modal grant-dialog" role="dialog" aria-modal="true" aria-labelledby="grant-title">
                <h2 id="grant-title">{format!("Install {} v{}?", inspection.name, inspection.version)}</h2>
                <p>{inspection.summary.clone()}</p>
                {inspection.replaces.clone().map(|what| view! {
                    <div class="notice warn stacked" id="replaces">
                        <p>{format!("A plugin called {} is {what}. Installing this one replaces it; its limits are kept.", inspection.name)}</p>
                        <label>
                            <input type="checkbox" id="keep-data"
                                prop:checked=move || keep_data.get()
                                on:change=move |ev| keep_data.set(event_target_checked(&ev)) />
                            " Keep the old plugin's stored data (otherwise it is deleted: the new plugin never reads what the old one stored)"
                        </label>
                    </div>
                })}
                <h3>"It asks to"</h3>
                {if choices.is_empty() {
                    view! { <p class="muted">"Nothing beyond writing to its job's log."</p> }.into_any()
                } else {
                    view! {
                        <ul class="caps">
                            {inspection.capabilities.iter().zip(choices.iter()).map(|(cap, (_, on))| {
                                let on = *on;
                                view! {
                                    <li>
                                        <label class="cap">
                                            <input type="checkbox" class="grant" data-cap=cap.name.name()
                                                prop:checked=move || on.get()
                                                on:change=move |ev| on.set(event_target_checked(&ev)) />
                                            <code>{cap.name.name()}</code>
                                            <span>{cap.words.clone()}</span>
                                        </label>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <p class="muted small">"Untick what you do not grant: a call that needs it is refused, and you can grant it later."</p>
                    }.into_any()
                }}
                <details>
                    <summary>{format!("{} actions · SHA-256 {}…", inspection.actions.len(), &inspection.sha256[..16])}</summary>
                    <ul class="small">
                        {inspection.actions.iter().map(|a| view! { <li><code>{a.name.clone()}</code>" — "{a.summary.clone()}</li> }).collect_view()}
                    </ul>
                </details>
                <Notice message=error />
                <div class="actions">
                    <button class="primary" id="confirm-install" on:click=install disabled=move || installing.get()>
                        {move || match (installing.get(), replace) {
                            (true, _) => "Installing…",
                            (false, true) => "Replace",
                            (false, false) => "Install",
                        }}
                    </button>
                    <button on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
            </div>
        </div>
    }
}
