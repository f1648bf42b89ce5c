//! Engine integration tests, gathered in one binary so the suite links once.

mod become_;
mod cache;
mod cancel;
mod contract;
mod docker;
mod dockerhost;
mod fleet;
mod fuzz;
mod grants;
mod history;
mod hostile;
mod hostile_hosts;
mod hosts;
mod jobs;
mod modules;
mod nodes;
mod oracle;
mod playbook;
mod schedules;
mod secrets_store;
mod ssh;
mod support;
mod swarm;
mod tokens;
mod transport;
