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
    let at_end = RwSignal::new(true);

    let measure = move || {
        if let Some(el) = node.get_untracked() {
            let top = f64::from(el.scroll_top());
            let height = f64::from(el.client_height());
            scroll_top.set(top);
            if height > 0.0 {
                viewport.set(height);
            }
            at_end.set(top + height >= f64::from(el.scroll_height()) - row_height * 1.5);
        }
    };
    // Measure once mounted.
    Effect::new(move |_| {
        if node.get().is_some() {
            measure();
        }
    });
    // Follow the end as rows arrive.
    Effect::new(move |_| {
        let rows = len.get();
        if follow
            && at_end.get_untracked()
            && let Some(el) = node.get_untracked()
        {
            let end = (rows as f64 * row_height) as i32;
            el.set_scroll_top(end);
            scroll_top.set(f64::from(el.scroll_top()));
        }
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
            on:scroll=move |_| measure()
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
