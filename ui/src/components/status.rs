//! Results and states in Ansible's colours: ok green, changed amber,
//! failed red, unreachable purple, skipped grey.

use leptos::prelude::*;

/// A coloured word for a status (`ok`, `changed`, `running`…).
#[component]
pub fn Status(
    /// The status.
    #[prop(into)]
    status: String,
) -> impl IntoView {
    view! { <span class=format!("badge status-{status}")>{status.clone()}</span> }
}

/// "3 s", "1 min 4 s": a duration for people.
pub fn duration(ms: i64) -> String {
    match ms {
        ms if ms < 1_000 => format!("{ms} ms"),
        ms if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        ms => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// "14:03:27" today, "Nov 28 14:03" before: when something happened.
pub fn when(at_ms: i64) -> String {
    let date = js_sys::Date::new(&(at_ms as f64).into());
    let today = js_sys::Date::new_0();
    let time = format!(
        "{:02}:{:02}:{:02}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds()
    );
    if date.to_date_string() == today.to_date_string() {
        time
    } else {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{} {} {:02}:{:02}",
            MONTHS[date.get_month() as usize % 12],
            date.get_date(),
            date.get_hours(),
            date.get_minutes()
        )
    }
}
