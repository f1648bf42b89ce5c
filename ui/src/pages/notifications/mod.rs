//! Notifications: the channels messages go to (Slack, a signed webhook,
//! e-mail, the desktop), the rules that pick which job ends send to which
//! channel, the SMTP server e-mail goes through, and every delivery with
//! its attempts. `capstan serve` sends them; the page says so.

mod channels;
mod deliveries;
mod rules;
mod smtp;

use leptos::prelude::*;

use crate::components::field::Notice;

/// The Notifications page. One reload counter refreshes every section:
/// a rule names a channel, and a channel in use cannot go.
#[component]
pub fn Notifications() -> impl IntoView {
    let reload = RwSignal::new(0_u32);
    let notice = RwSignal::new(None::<(bool, String)>);
    let changed = Callback::new(move |message: (bool, String)| {
        notice.set(Some(message));
        reload.update(|n| *n += 1);
    });
    view! {
        <header class="page-head"><h1>"Notifications"</h1></header>
        <p class="muted small">
            "While " <code>"capstan serve"</code>
            " runs on this data folder, each job that ends (whichever process ran it) is matched against the rules; each match is a delivery, tried up to 5 times with a growing delay."
        </p>
        <Notice message=notice />
        <channels::Channels reload=reload on_changed=changed />
        <rules::Rules reload=reload on_changed=changed />
        <smtp::Smtp on_changed=changed />
        <deliveries::Deliveries reload=reload />
    }
}
