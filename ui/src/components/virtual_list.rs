//! A long list that only builds the rows in view: a job log of 10,000
//! lines or a history of 1,000 jobs scrolls like a short one. Rows have
//! one fixed height; with `follow`, the list keeps to its end as rows
//! arrive, until the user scrolls up.

use leptos::html::Div;
use leptos::prelude::*;

/// Rows built beyond each edge of the view, so a fast scroll shows no gap.
const OVERSCAN: usize = 8;

/// A scrolling list of `len` rows of `row_height` pixels; `row(i)` builds
/// row `i`.
#[component]
pub fn VirtualList(
    /// How many rows there are.
    #[prop(into)]
    len: Signal<usize>,
    /// Each row's height in pixels.
    row_height: f64,
    /// Builds one row.
    row: Callback<usize, AnyView>,
    /// Keep to the end as rows arrive.
    #[prop(default = false)]
    follow: bool,
    /// Extra classes.
    #[prop(into, optional)]
    class: String,
    /// Its accessible name.
    #[prop(into, optional)]
    label: String,
) -> impl IntoView {
    let node = NodeRef::<Div>::new();
    let scroll_top = RwSignal::new(0.0_f64);
    let viewport = RwSignal::new(480.0_f64);
    // Whether the list keeps to its end: on until the user scrolls up,
    // back on when they scroll to the end again.
    let stick = RwSignal::new(true);
    // Our own scroll to the end, whose scroll event says nothing of what
    // the user wants.
    let scrolling_to_end = RwSignal::new(false);

    let on_scroll = move || {
        if let Some(el) = node.get_untracked() {
            let top = f64::from(el.scroll_top());
            let height = f64::from(el.client_height());
            scroll_top.set(top);
            if height > 0.0 {
                viewport.set(height);
            }
            if scrolling_to_end.get_untracked() {
                scrolling_to_end.set(false);
            } else {
                stick.set(top + height >= f64::from(el.scroll_height()) - row_height * 1.5);
            }
        }
    };
    // Measure once mounted.
    Effect::new(move |_| {
        if let Some(el) = node.get() {
            let height = f64::from(el.client_height());
            if height > 0.0 {
                viewport.set(height);
            }
        }
    });
    // Keep to the end as rows arrive: show the last rows at once, and
    // scroll there once the new height is laid out (the next frame).
    Effect::new(move |_| {
        let rows = len.get();
        if !follow || !stick.get_untracked() {
            return;
        }
        let end = (rows as f64 * row_height - viewport.get_untracked()).max(0.0);
        scroll_top.set(end);
        let Some(window) = web_sys::window() else {
            return;
        };
        let scroll = wasm_bindgen::closure::Closure::once_into_js(move || {
            if let Some(el) = node.get_untracked()
                && el.scroll_top() < el.scroll_height() - el.client_height()
            {
                scrolling_to_end.set(true);
                el.set_scroll_top(el.scroll_height());
            }
        });
        let _ = window.request_animation_frame(wasm_bindgen::JsCast::unchecked_ref(&scroll));
    });

    let window = move || {
        let rows = len.get();
        let first = ((scroll_top.get() / row_height) as usize)
            .saturating_sub(OVERSCAN)
            .min(rows);
        let shown = (viewport.get() / row_height).ceil() as usize + 2 * OVERSCAN;
        (first, (first + shown).min(rows))
    };
    view! {
        <div
            class=format!("vlist {class}")
            node_ref=node
            tabindex="0"
            role="list"
            aria-label=label
            on:scroll=move |_| on_scroll()
        >
            <div class="vlist-space" style:height=move || format!("{}px", len.get() as f64 * row_height)>
                <div
                    class="vlist-rows"
                    style:transform=move || format!("translateY({}px)", window().0 as f64 * row_height)
                >
                    {move || {
                        let (first, last) = window();
                        (first..last).map(|i| row.run(i)).collect_view()
                    }}
                </div>
            </div>
        </div>
    }
}
