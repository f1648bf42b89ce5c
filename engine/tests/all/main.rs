//! Engine integration tests, gathered in one binary so the suite links once.

mod cache;
mod contract;
mod grants;
mod hostile;
mod jobs;
mod support;
mod transport;
