//! Jobs: an action run over targets, fanned out concurrently, each result
//! and log line recorded as it happens and streamed to whoever watches.

mod model;
pub(crate) mod runner;

pub use model::{
    FailureKind, JobRecord, JobState, LogLevel, LogLine, ResultStatus, RunRequest, TargetResult,
    overall_status,
};
pub use runner::{EventSink, JobEvent, RunReport};
pub(crate) use runner::{Job, run_job};
