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

/// What a row's [`RemoveButton`] runs: `remove(name)`, then `on_changed`
/// told `(true, "NAME removed…")` with `after` appended, or `(false, why)`.
pub fn removal<F, Fut>(
    name: String,
    remove: F,
    after: &'static str,
    on_changed: Callback<(bool, String)>,
) -> Callback<()>
where
    F: Fn(String) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = crate::api::ApiResult<()>> + 'static,
{
    Callback::new(move |()| {
        let name = name.clone();
        leptos::task::spawn_local(async move {
            match remove(name.clone()).await {
                Ok(()) => on_changed.run((true, format!("{name} removed{after}."))),
                Err(e) => on_changed.run((false, e.message)),
            }
        });
    })
}
