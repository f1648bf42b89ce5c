//! A Remove button that asks once more: the first click turns it into
//! "Really remove", the second runs the removal.

use leptos::prelude::*;

/// The two-step Remove button; `on_remove` runs on the second click.
#[component]
pub fn RemoveButton(on_remove: Callback<()>) -> impl IntoView {
    let armed = RwSignal::new(false);
    view! {
        <button class="remove danger" class:confirm-remove=move || armed.get()
            on:click=move |_| if armed.get() { on_remove.run(()) } else { armed.set(true) }>
            {move || if armed.get() { "Really remove" } else { "Remove" }}
        </button>
    }
}
