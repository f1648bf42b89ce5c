//! Capstan's window. Pages show what the engine holds; every call to the
//! backend goes through [`api`], so no page touches Tauri directly.

mod api;
mod components;
mod live;
mod pages;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

thread_local! {
    /// When the UI's code started running, in ms since the page began
    /// loading (for the start-up report).
    static CODE_STARTED: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// Milliseconds since the page began loading.
pub fn page_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// When the UI's code started running ([`page_ms`]).
pub fn code_started_ms() -> f64 {
    CODE_STARTED.with(|c| c.get())
}

fn main() {
    CODE_STARTED.with(|c| c.set(page_ms()));
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        console_error(&message);
        show_fatal(&message);
    }));
    leptos::mount::mount_to_body(App);
}

/// Puts a bug's message in front of the user instead of a frozen or blank
/// window: what happened, and that a restart brings the window back.
fn show_fatal(message: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(banner) = document.create_element("div") else {
        return;
    };
    banner.set_class_name("fatal");
    banner.set_attribute("role", "alert").ok();
    banner.set_text_content(Some(&format!(
        "The window hit a bug and stopped: {message}. Your data is safe; restart Capstan to go on, \
         and please report this message."
    )));
    if let Some(body) = document.body() {
        let _ = body.append_child(&banner);
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error_js(message: &str);
}

/// Writes to the webview's console (panics land there too).
pub fn console_error(message: &str) {
    console_error_js(message);
}

/// Where the window is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Hosts, jobs, containers at a glance.
    Overview,
    /// The inventory.
    Hosts,
    /// Installed plugins and their grants.
    Plugins,
    /// Start a plugin action or a playbook.
    Run,
    /// The history.
    Jobs,
    /// One job, live.
    Job(i64),
    /// A host's containers.
    Containers,
    /// A swarm's services and nodes.
    Swarm,
    /// Jobs run at set times.
    Schedules,
    /// Jobs started by a push or any signed delivery.
    Webhooks,
    /// Channels, rules and deliveries.
    Notifications,
    /// The encrypted secrets store.
    Secrets,
}

impl Route {
    /// The pages of the navigation, in order (Ctrl+1…9 jumps to the
    /// first nine).
    const PAGES: [(Route, &'static str); 11] = [
        (Route::Overview, "Overview"),
        (Route::Hosts, "Hosts"),
        (Route::Plugins, "Plugins"),
        (Route::Run, "Run"),
        (Route::Jobs, "Jobs"),
        (Route::Containers, "Containers"),
        (Route::Swarm, "Swarm"),
        (Route::Schedules, "Schedules"),
        (Route::Webhooks, "Webhooks"),
        (Route::Notifications, "Notifications"),
        (Route::Secrets, "Secrets"),
    ];

    /// The pages a digit key reaches.
    const KEYED: usize = 9;

    /// The navigation entry this route is under.
    fn section(self) -> Route {
        match self {
            Route::Job(_) => Route::Jobs,
            other => other,
        }
    }
}

thread_local! {
    /// Where the window is. A window-wide signal rather than a context, so
    /// that event handlers and async tasks (which run outside any reactive
    /// owner) can move the window too.
    static ROUTE: RwSignal<Route> = RwSignal::new(Route::Overview);
}

/// Moves the window to `route`.
pub fn go(route: Route) {
    ROUTE.with(|current| current.set(route));
}

/// The shell: navigation on the left, the page on the right.
#[component]
fn App() -> impl IntoView {
    let route = ROUTE.with(|route| *route);
    live::Live::start();

    // Ctrl+1…9 (or Alt+1…9) jump to the first nine pages.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if !(ev.ctrl_key() || ev.alt_key()) {
            return;
        }
        if let Some(n) = ev
            .key()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=Route::KEYED).contains(n))
        {
            ev.prevent_default();
            route.set(Route::PAGES[n - 1].0);
        }
    });
    on_cleanup(move || keys.remove());

    view! {
        <div class="shell">
            <nav aria-label="Pages">
                <div class="brand">
                    <span class="logo" aria-hidden="true">"⎈"</span>
                    "Capstan"
                </div>
                {Route::PAGES
                    .iter()
                    .enumerate()
                    .map(|(i, (page, title))| {
                        let page = *page;
                        let key = (i < Route::KEYED).then(|| i + 1);
                        view! {
                            <button
                                class="nav-item"
                                id=format!("nav-{}", title.to_lowercase())
                                aria-current=move || (route.get().section() == page).then_some("page")
                                title=match key { Some(n) => format!("{title} (Ctrl+{n})"), None => title.to_string() }
                                on:click=move |_| route.set(page)
                            >
                                {*title}
                                {key.map(|n| view! { <kbd>{n.to_string()}</kbd> })}
                            </button>
                        }
                    })
                    .collect_view()}
            </nav>
            <main>
                {move || match route.get() {
                    Route::Overview => view! { <pages::overview::Overview /> }.into_any(),
                    Route::Hosts => view! { <pages::hosts::Hosts /> }.into_any(),
                    Route::Plugins => view! { <pages::plugins::Plugins /> }.into_any(),
                    Route::Run => view! { <pages::run::Run /> }.into_any(),
                    Route::Jobs => view! { <pages::jobs::Jobs /> }.into_any(),
                    Route::Job(id) => view! { <pages::job::Job id=id /> }.into_any(),
                    Route::Containers => view! { <pages::containers::Containers /> }.into_any(),
                    Route::Swarm => view! { <pages::swarm::Swarm /> }.into_any(),
                    Route::Schedules => view! { <pages::schedules::Schedules /> }.into_any(),
                    Route::Webhooks => view! { <pages::webhooks::Webhooks /> }.into_any(),
                    Route::Notifications => view! { <pages::notifications::Notifications /> }.into_any(),
                    Route::Secrets => view! { <pages::secrets::Secrets /> }.into_any(),
                }}
            </main>
        </div>
    }
}
