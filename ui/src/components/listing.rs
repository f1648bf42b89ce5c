//! A list a page reads from the engine: a skeleton while it loads, a
//! message when it is empty, the rows once they are there, or the error
//! that kept them away.

use leptos::prelude::*;

use crate::api::ApiResult;

/// Shows `items`: `empty` when there are none, `rows(items)` otherwise.
#[component]
pub fn Listing<T, R, V>(
    /// What the page asked the engine for.
    items: LocalResource<ApiResult<Vec<T>>>,
    /// What shows when the list is empty.
    #[prop(into)]
    empty: ViewFn,
    /// The rows (usually a table) of a list that is not empty.
    rows: R,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    R: Fn(Vec<T>) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <div class="table-skeleton"></div> }>
            {move || items.get().map(|result| match result {
                Ok(list) if list.is_empty() => empty.run(),
                Ok(list) => rows(list).into_any(),
                Err(e) => view! { <div class="notice error" role="alert">{e.message}</div> }.into_any(),
            })}
        </Transition>
    }
}
