//! Capstan's window. Pages show what the engine holds; every call to the
//! backend goes through [`api`], so no page touches Tauri directly.

mod api;
mod pages;

use leptos::prelude::*;

fn main() {
    console_error_panic_hook_lite();
    leptos::mount::mount_to_body(App);
}

/// Logs panics to the webview's console instead of failing silently.
fn console_error_panic_hook_lite() {
    std::panic::set_hook(Box::new(|info| {
        web_sys_log(&info.to_string());
    }));
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn web_sys_log(message: &str);
}

/// The shell: navigation on the left, the page on the right.
#[component]
fn App() -> impl IntoView {
    view! {
        <div class="shell">
            <nav aria-label="Pages">
                <div class="brand">"Capstan"</div>
                <a href="#" aria-current="page">"Overview"</a>
            </nav>
            <main>
                <pages::overview::Overview />
            </main>
        </div>
    }
}
