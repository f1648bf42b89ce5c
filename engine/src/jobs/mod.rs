//! Jobs: an action run over targets, fanned out concurrently, each result
//! and log line recorded as it happens and streamed to whoever watches.
//! What a job is made of (its request, results, log lines, statuses) is
//! defined once in `capstan-wire` and re-exported here.

pub(crate) mod runner;
mod started;
mod updates;

pub use capstan_wire::jobs::JobUpdate;
pub use capstan_wire::jobs::{
    JobRecord, JobRequest, LogLine, PlaybookRequest, RunRequest, TargetResult,
};
pub use capstan_wire::status::{
    FailureKind, JobKind, JobState, LogLevel, ResultStatus, overall_status,
};
pub use runner::{EventSink, JobEvent, RunReport};
pub(crate) use runner::{Job, run_job};
pub use started::started_signal;
pub use updates::UpdateStream;
