//! The Tauri commands the UI calls (through `ui/src/api.rs`), one module
//! per page. Each translates onto engine calls and holds no logic of its
//! own; errors are [`crate::error::UiError`]s.

pub mod docker;
pub mod hosts;
pub mod jobs;
pub mod notifications;
pub mod overview;
pub mod plugins;
pub mod run;
pub mod schedules;
pub mod webhooks;
