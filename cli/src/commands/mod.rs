//! One module per top-level command, each with its arguments and `exec`.

pub mod adhoc;
pub mod audit;
pub mod docker;
pub mod failure;
pub mod hosts;
pub mod jobs;
pub mod notifications;
pub mod overview;
pub mod playbook;
pub mod plugin;
pub mod run;
pub mod schedules;
pub mod secrets;
pub mod serve;
pub mod tokens;
pub mod webhooks;
