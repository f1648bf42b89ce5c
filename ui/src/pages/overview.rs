//! Overview: hosts by environment, jobs running and failing, containers and
//! services on this machine.

use leptos::prelude::*;

use crate::api;

/// The Overview page.
#[component]
pub fn Overview() -> impl IntoView {
    let data = LocalResource::new(api::overview);
    view! {
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|result| match result {
                Ok(o) => view! { <Cards overview=o /> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Cards(overview: api::Overview) -> impl IntoView {
    let hosts: usize = overview.environments.iter().map(|(_, n)| n).sum();
    let by_env = overview
        .environments
        .iter()
        .map(|(env, n)| format!("{env}: {n}"))
        .collect::<Vec<_>>()
        .join(" · ");
    let containers = match (overview.containers, &overview.docker_error) {
        (Some((running, all)), _) => (format!("{running}"), format!("running of {all}")),
        (None, Some(e)) => ("—".to_string(), e.clone()),
        (None, None) => ("—".to_string(), "no engine".to_string()),
    };
    let services = overview.services.map_or("—".to_string(), |n| n.to_string());
    let jobs = overview.recent_jobs.clone();
    view! {
        <div class="cards">
            <div class="card"><div class="label">"Hosts"</div><div class="value">{hosts}</div><div class="detail">{by_env}</div></div>
            <div class="card"><div class="label">"Running jobs"</div><div class="value">{overview.running_jobs}</div></div>
            <div class="card"><div class="label">"Recent failures"</div><div class="value">{overview.recent_failures.len()}</div></div>
            <div class="card"><div class="label">"Containers"</div><div class="value">{containers.0}</div><div class="detail">{containers.1}</div></div>
            <div class="card"><div class="label">"Services"</div><div class="value">{services}</div></div>
        </div>
        <table>
            <thead><tr><th>"Job"</th><th>"What"</th><th>"State"</th><th>"Result"</th></tr></thead>
            <tbody>
                {jobs.into_iter().map(|(id, what, state, overall)| view! {
                    <tr>
                        <td>{id}</td>
                        <td>{what}</td>
                        <td class=format!("status-{state}")>{state.clone()}</td>
                        <td class=format!("status-{overall}")>{overall.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
