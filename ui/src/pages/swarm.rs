//! Swarm: a manager's services (replicas running of wanted, the last
//! rolling update) and nodes, kept current from its engine's events; scale
//! a service (a `docker` plugin job); a service's tasks.

use leptos::prelude::*;
use serde_json::json;

use super::engine_view::{EngineView, HostPicker, RecentActions};
use crate::api::{self, ServiceMode, ServiceRow};
use crate::components::status::Status;

/// The Swarm page.
#[component]
pub fn Swarm() -> impl IntoView {
    let engine = EngineView::follow();
    let services = Memo::new(move |_| engine.view.get().map(|v| v.services).unwrap_or_default());
    let nodes = Memo::new(move |_| engine.view.get().map(|v| v.nodes).unwrap_or_default());
    view! {
        <header class="page-head">
            <h1>"Swarm"</h1>
            <div class="filters"><HostPicker host=engine.host /></div>
        </header>
        {move || engine.error.get().map(|e| view! { <div class="notice error" role="alert">{e}</div> })}
        <RecentActions actions=engine.actions />
        {move || match engine.view.get() {
            None => view! { <div class="empty">"Reading the engine…"</div> }.into_any(),
            Some(v) if v.nodes.is_empty() && v.services.is_empty() => view! {
                <div class="empty">
                    <p>{format!("{} is not a swarm manager.", v.host)}</p>
                    <p class="muted">"Start a swarm with the docker_swarm module in a playbook (or `capstan run docker swarm -p state=present`), then deploy stacks from Compose files."</p>
                </div>
            }.into_any(),
            Some(_) => view! {
                <section>
                    <h2>"Services"</h2>
                    <table class="services-table">
                        <thead><tr><th>"Service"</th><th>"Replicas"</th><th>"Image"</th><th>"Ports"</th><th>"Update"</th><th>"Scale"</th></tr></thead>
                        <tbody>
                            <For each=move || services.get() key=|s| s.id.clone() let:service>
                                <ServiceLine id=service.id services=services engine=engine />
                            </For>
                        </tbody>
                    </table>
                </section>
                <section>
                    <h2>"Nodes"</h2>
                    <table class="nodes-table">
                        <thead><tr><th>"Node"</th><th>"Role"</th><th>"Availability"</th><th>"State"</th><th>"Engine"</th></tr></thead>
                        <tbody>
                            {move || nodes.get().into_iter().map(|n| view! {
                                <tr>
                                    <td><strong>{n.hostname.clone()}</strong><div class="muted small">{n.id.clone()}</div></td>
                                    <td>{n.role.name()}{(!n.manager_status.is_empty()).then(|| format!(" ({})", n.manager_status))}</td>
                                    <td><Status status=n.availability /></td>
                                    <td><Status status=n.state /></td>
                                    <td class="muted">{n.engine.clone()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
            }.into_any(),
        }}
    }
}

/// One service: its counts follow the live view, while what the user typed
/// in its scale box stays (the row is keyed by the service alone).
#[component]
fn ServiceLine(id: String, services: Memo<Vec<ServiceRow>>, engine: EngineView) -> impl IntoView {
    let service =
        Memo::new(move |_| services.with(|list| list.iter().find(|s| s.id == id).cloned()));
    let initial = service.get_untracked();
    let name = initial.as_ref().map(|s| s.name.clone()).unwrap_or_default();
    let replicas = RwSignal::new(initial.as_ref().map_or(1, |s| s.desired).to_string());
    let scale_error = RwSignal::new(None::<String>);
    let tasks = RwSignal::new(None::<Result<Vec<api::TaskRow>, String>>);
    let scale = {
        let name = name.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            match replicas.get_untracked().trim().parse::<u64>() {
                Ok(n) if n <= 1000 => {
                    scale_error.set(None);
                    engine.change(
                        "scale",
                        json!({ "name": name, "replicas": n }),
                        format!("scale {name} to {n}"),
                    );
                }
                _ => scale_error.set(Some("a whole number from 0 to 1000".into())),
            }
        }
    };
    let show_tasks = {
        let name = name.clone();
        move |_| {
            if tasks.get_untracked().is_some() {
                tasks.set(None);
                return;
            }
            let (host, name) = (engine.host.get_untracked(), name.clone());
            leptos::task::spawn_local(async move {
                tasks.set(Some(
                    api::service_tasks(host, name).await.map_err(|e| e.message),
                ));
            });
        }
    };
    let field = move |f: fn(&ServiceRow) -> String| {
        move || service.with(|s| s.as_ref().map(f).unwrap_or_default())
    };
    let global = initial
        .as_ref()
        .is_some_and(|s| s.mode == ServiceMode::Global);
    let counts = move || service.with(|s| s.as_ref().map_or((0, 0), |s| (s.running, s.desired)));
    view! {
        <tr data-service=name.clone()>
            <td><strong>{name.clone()}</strong>
                {move || service.with(|s| s.as_ref().and_then(|s| s.stack.clone())).map(|s| view! { <span class="tag">{format!("stack {s}")}</span> })}
                <div><button class="linklike small" on:click=show_tasks>"tasks"</button></div></td>
            <td>
                <div class="replicas" class:short=move || { let (r, d) = counts(); r < d }>
                    {move || { let (r, d) = counts(); format!("{r} / {d}") }}{global.then_some(" (global)")}
                </div>
                <div class="bar"><div class="fill" style:width=move || {
                    let (r, d) = counts();
                    format!("{}%", (r * 100).checked_div(d).unwrap_or(0).min(100))
                }></div></div>
            </td>
            <td class="muted ellipsis">{field(|s| s.image.clone())}</td>
            <td class="muted small">{field(|s| s.ports.clone())}</td>
            <td>{move || {
                let update = service.with(|s| s.as_ref().and_then(|s| s.update));
                update.map(|update| view! { <Status status=update /> })
            }}</td>
            <td>
                {(!global).then(|| view! {
                    <form class="scale" novalidate=true on:submit=scale.clone()>
                        <input type="number" min="0" max="1000" aria-label="Replicas" prop:value=move || replicas.get() on:input=move |ev| replicas.set(event_target_value(&ev)) />
                        <button type="submit">"Scale"</button>
                        {move || scale_error.get().map(|e| view! { <div class="field-error" role="alert">{e}</div> })}
                    </form>
                })}
            </td>
        </tr>
        {move || tasks.get().map(|result| view! {
            <tr class="subrow"><td colspan="6">
                {match result {
                    Err(e) => view! { <div class="notice error">{e}</div> }.into_any(),
                    Ok(rows) => view! {
                        <table class="tasks">
                            <thead><tr><th>"Task"</th><th>"Slot"</th><th>"Node"</th><th>"Wanted"</th><th>"State"</th><th>"Error"</th></tr></thead>
                            <tbody>{rows.into_iter().map(|t| view! {
                                <tr><td class="muted">{t.id}</td><td>{t.slot}</td><td>{t.node}</td><td>{t.desired.name()}</td><td><Status status=t.state /></td><td class="status-failed">{t.error}</td></tr>
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                }}
            </td></tr>
        })}
    }
}
