//! A labelled form field that shows, under itself, the error about it:
//! the user sees which field is wrong, and what they typed stays.

use leptos::prelude::*;

/// A text input bound to `value`, with `error` shown beneath it.
#[component]
pub fn TextField(
    /// The label.
    label: &'static str,
    /// The field's name (its id, and the backend's name for it).
    name: &'static str,
    /// What is typed.
    value: RwSignal<String>,
    /// The error about this field, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Grey text shown while empty.
    #[prop(optional)]
    placeholder: &'static str,
    /// A hint under the field.
    #[prop(optional)]
    hint: &'static str,
) -> impl IntoView {
    let id = format!("field-{name}");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type="text"
                placeholder=placeholder
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.get().is_some().to_string()
            />
            {move || match error.get() {
                Some(message) => view! { <div class="field-error" role="alert">{message}</div> }.into_any(),
                None if !hint.is_empty() => view! { <div class="field-hint">{hint}</div> }.into_any(),
                None => ().into_any(),
            }}
        </div>
    }
}

/// An error or a success message beside the action that caused it.
#[component]
pub fn Notice(
    /// The message, or nothing.
    #[prop(into)]
    message: Signal<Option<(bool, String)>>,
) -> impl IntoView {
    move || {
        message.get().map(|(ok, text)| {
            let class = if ok { "notice ok" } else { "notice error" };
            view! { <div class=class role=if ok { "status" } else { "alert" }>{text}</div> }
        })
    }
}

/// The message of `error` when it names `field`: what a field shows
/// under itself.
pub fn error_about(
    error: RwSignal<Option<crate::api::ApiError>>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        error
            .get()
            .filter(|e| e.field.as_deref() == Some(field))
            .map(|e| e.message)
    })
}

/// What `value` holds, trimmed; `None` when that is empty (an optional
/// field left blank).
pub fn given(value: RwSignal<String>) -> Option<String> {
    Some(value.get().trim().to_string()).filter(|s| !s.is_empty())
}
