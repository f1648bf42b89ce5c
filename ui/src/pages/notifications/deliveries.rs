//! The deliveries section: the newest notifications sent or tried, each
//! with its attempts, so a channel that fails shows why.

use leptos::prelude::*;

use crate::api::{self, DeliveryState, NotificationDelivery};
use crate::components::listing::Listing;
use crate::components::status::when;
use crate::{Route, go};

/// The newest deliveries, each row opening onto its attempts.
#[component]
pub fn Deliveries(reload: RwSignal<u32>) -> impl IntoView {
    let deliveries = LocalResource::new(move || {
        reload.track();
        api::notification_deliveries()
    });
    view! {
        <section class="deliveries">
            <div class="section-head">
                <h2>"Deliveries"</h2>
                <button id="reload-deliveries" on:click=move |_| reload.update(|n| *n += 1)>"Reload"</button>
            </div>
            <Listing items=deliveries empty=|| view! {
                <div class="empty"><p>"Nothing sent yet."</p></div>
            } rows=move |list| view! {
                <table class="deliveries-table">
                    <thead><tr><th>"#"</th><th>"Rule → channel"</th><th>"Job"</th><th>"State"</th><th>"Attempts"</th><th>"When"</th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|delivery| view! { <DeliveryRow delivery=delivery /> }).collect_view()}
                    </tbody>
                </table>
            } />
        </section>
    }
}

/// One delivery: where it stands, and each attempt with what the channel
/// said.
#[component]
fn DeliveryRow(delivery: NotificationDelivery) -> impl IntoView {
    let job = delivery.job_id;
    let (state, class) = match delivery.state {
        DeliveryState::Pending => ("pending", "badge status-paused"),
        DeliveryState::Sent => ("sent", "badge status-ok"),
        DeliveryState::Failed => ("failed", "badge status-failed"),
    };
    let at = delivery.sent_at_ms.unwrap_or(delivery.created_at_ms);
    view! {
        <tr data-delivery=delivery.id.to_string() data-state=state>
            <td>{delivery.id.to_string()}</td>
            <td>{format!("{} → {}", delivery.rule, delivery.channel)}</td>
            <td><a href="#" on:click=move |ev| { ev.prevent_default(); go(Route::Job(job)) }>{format!("#{job}")}</a></td>
            <td><span class=class>{state}</span></td>
            <td>
                <details class="attempts">
                    <summary>{delivery.attempts.to_string()}</summary>
                    <ol>
                        {delivery.history.into_iter().map(|attempt| view! {
                            <li class:failed=!attempt.ok>
                                <span class="muted">{when(attempt.at_ms)}</span>" "{attempt.detail}
                            </li>
                        }).collect_view()}
                    </ol>
                </details>
                {delivery.last_error.map(|e| view! { <div class="muted small ellipsis">{e}</div> })}
            </td>
            <td class="muted">{when(at)}</td>
        </tr>
    }
}
