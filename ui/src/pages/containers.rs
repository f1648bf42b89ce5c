//! Containers: a host's containers, kept current from its engine's events;
//! start, stop, restart and remove (each a `docker` plugin job); output
//! followed as it is written.

use leptos::prelude::*;
use serde_json::json;

use super::engine_view::{EngineView, HostPicker, RecentActions};
use crate::api::{self, ContainerRow, ContainerState};
use crate::components::status::Status;
use crate::components::virtual_list::VirtualList;
use crate::live::{FollowedOutput, live};

const ROW_HEIGHT: f64 = 44.0;

/// The Containers page.
#[component]
pub fn Containers() -> impl IntoView {
    let engine = EngineView::follow();
    let filter = RwSignal::new(String::new());
    let following = RwSignal::new(None::<String>);
    let rows = Memo::new(move |_| {
        let needle = filter.get().to_lowercase();
        engine
            .view
            .get()
            .map(|v| v.containers)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| {
                needle.is_empty()
                    || c.name.to_lowercase().contains(&needle)
                    || c.image.to_lowercase().contains(&needle)
            })
            .collect::<Vec<_>>()
    });
    let confirm = RwSignal::new(None::<String>);
    let row = Callback::new(move |i: usize| {
        rows.with(|rows| rows.get(i).cloned())
            .map(|c| container_row(c, engine, confirm, following).into_any())
            .unwrap_or_else(|| ().into_any())
    });
    view! {
        <header class="page-head">
            <h1>"Containers"</h1>
            <div class="filters">
                <HostPicker host=engine.host />
                <input type="search" id="containers-filter" placeholder="Filter by name or image" prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev)) />
            </div>
        </header>
        {move || engine.error.get().map(|e| view! { <div class="notice error" role="alert">{e}</div> })}
        {move || engine.view.get().and_then(|v| v.error).map(|e| view! { <div class="notice error" role="alert">{format!("The live view stopped: {e}")}</div> })}
        <RecentActions actions=engine.actions />
        {move || confirm.get().map(|name| {
            let n = name.clone();
            view! {
                <div class="confirm" role="alertdialog">
                    {format!("Remove container {name}? It is stopped first; its anonymous data goes with it.")}
                    <button class="danger confirm-remove" on:click=move |_| {
                        engine.change("container", json!({ "name": n, "state": "absent" }), format!("remove {n}"));
                        confirm.set(None);
                    }>"Remove"</button>
                    <button on:click=move |_| confirm.set(None)>"Cancel"</button>
                </div>
            }
        })}
        <div class="grid-table containers-grid" class:with-logs=move || following.get().is_some()>
            <div class="grid-head"><span>"Name"</span><span>"Image"</span><span>"State"</span><span>"Ports"</span><span></span></div>
            {move || match engine.view.get() {
                None if engine.error.get().is_none() => view! { <div class="empty">"Reading the engine…"</div> }.into_any(),
                None => ().into_any(),
                Some(_) if rows.with(Vec::is_empty) => view! { <div class="empty">"No containers."</div> }.into_any(),
                Some(_) => view! {
                    <VirtualList len=Signal::derive(move || rows.with(Vec::len)) row_height=ROW_HEIGHT row=row class="containers-list" label="Containers" />
                }.into_any(),
            }}
        </div>
        <p class="muted small">{move || engine.view.get().map(|v| {
            let running = v.containers.iter().filter(|c| c.state == ContainerState::Running).count();
            format!("{running} running of {} · kept current from the engine's events", v.containers.len())
        })}</p>
        {move || following.get().map(|name| view! { <LogPanel host=engine.host.get_untracked() container=name on_close=Callback::new(move |_: ()| following.set(None)) /> })}
    }
}

fn container_row(
    c: ContainerRow,
    engine: EngineView,
    confirm: RwSignal<Option<String>>,
    following: RwSignal<Option<String>>,
) -> impl IntoView {
    let running = c.state == ContainerState::Running;
    let name = c.name.clone();
    let act = move |state: &'static str, restart: bool| {
        let name = name.clone();
        move |_| {
            let mut params = json!({ "name": name, "state": state });
            if restart {
                params["restart"] = json!(true);
            }
            let word = if restart {
                "restart"
            } else if state == "started" {
                "start"
            } else {
                "stop"
            };
            engine.change("container", params, format!("{word} {name}"));
        }
    };
    let (n1, n2) = (c.name.clone(), c.name.clone());
    view! {
        <div class="grid-row" role="listitem" data-container=c.name.clone()>
            <span class="ellipsis"><strong>{c.name.clone()}</strong>
                {c.service.clone().map(|s| view! { <span class="tag">{format!("task of {s}")}</span> })}
                <div class="muted small">{c.id.clone()}</div></span>
            <span class="ellipsis muted">{c.image.clone()}</span>
            <span><Status status=c.state /><div class="muted small ellipsis">{c.status.clone()}</div></span>
            <span class="ellipsis muted small">{c.ports.clone()}</span>
            <span class="row-actions">
                {if running {
                    view! {
                        <button class="stop" on:click=act("stopped", false)>"Stop"</button>
                        <button on:click=act("started", true)>"Restart"</button>
                    }.into_any()
                } else {
                    view! { <button class="start" on:click=act("started", false)>"Start"</button> }.into_any()
                }}
                <button on:click=move |_| following.set(Some(n1.clone()))>"Logs"</button>
                <button class="danger" on:click=move |_| confirm.set(Some(n2.clone()))>"Remove"</button>
            </span>
        </div>
    }
}

/// A container's output, followed until it stops or the panel closes.
#[component]
fn LogPanel(host: String, container: String, on_close: Callback<()>) -> impl IntoView {
    let stream = RwSignal::new(None::<u64>);
    let error = RwSignal::new(None::<String>);
    {
        let (host, container) = (host.clone(), container.clone());
        leptos::task::spawn_local(async move {
            match api::follow_logs(host, container, 200).await {
                Ok(id) => stream.set(Some(id)),
                Err(e) => error.set(Some(e.message)),
            }
        });
    }
    on_cleanup(move || {
        if let Some(id) = stream.get_untracked() {
            leptos::task::spawn_local(api::stop_stream(id));
        }
    });
    let logs = live().logs;
    let text = move || {
        stream
            .get()
            .and_then(|id| logs.with(|l| l.get(&id).cloned()))
    };
    let pre = NodeRef::<leptos::html::Pre>::new();
    Effect::new(move |_| {
        text();
        if let Some(el) = pre.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    view! {
        <section class="panel log-panel" aria-label="Container output">
            <div class="panel-head">
                <strong>{format!("Output of {container}")}</strong>
                <span class="muted small">{move || match text() {
                    Some(FollowedOutput { error: Some(e), .. }) => format!(" — stopped: {e}"),
                    Some(FollowedOutput { ended: true, .. }) => " — the container stopped".to_string(),
                    _ => " — following".to_string(),
                }}</span>
                <button on:click=move |_| on_close.run(())>"Close"</button>
            </div>
            {move || error.get().map(|e| view! { <div class="notice error">{e}</div> })}
            <pre class="container-log" node_ref=pre>{move || text().map(|t| t.text).unwrap_or_default()}</pre>
        </section>
    }
}
