//! One module per page.

pub mod containers;
mod engine_view;
pub mod hosts;
pub mod job;
pub mod jobs;
pub mod notifications;
pub mod overview;
pub mod plugins;
pub mod run;
pub mod schedules;
pub mod secrets;
pub mod swarm;
pub mod webhooks;
