//! Results and states in Ansible's colours: ok green, changed amber,
//! failed red, unreachable purple, skipped grey.

use leptos::prelude::*;

/// The word a status badge shows, which also picks its colour: any of the
/// wire's status enums, or a word of the window's own (`ignored`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusWord(pub String);

impl From<String> for StatusWord {
    fn from(word: String) -> Self {
        StatusWord(word)
    }
}

impl From<&str> for StatusWord {
    fn from(word: &str) -> Self {
        StatusWord(word.to_string())
    }
}

macro_rules! status_words {
    ($($ty:ty),+) => {$(
        impl From<$ty> for StatusWord {
            fn from(status: $ty) -> Self {
                StatusWord(status.name().to_string())
            }
        }
    )+};
}

status_words!(
    capstan_wire::status::ResultStatus,
    capstan_wire::status::JobState,
    capstan_wire::docker::ContainerState,
    capstan_wire::docker::UpdateState,
    capstan_wire::docker::NodeAvailability,
    capstan_wire::docker::NodeState,
    capstan_wire::docker::TaskState
);

/// A coloured word for a status (`ok`, `changed`, `running`…).
#[component]
pub fn Status(
    /// The status.
    #[prop(into)]
    status: StatusWord,
) -> impl IntoView {
    let word = status.0;
    view! { <span class=format!("badge status-{word}")>{word.clone()}</span> }
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
