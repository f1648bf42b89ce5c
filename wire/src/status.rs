//! The fixed words of a run: how a target ended, why it failed, where a
//! job is, how loud a log line is, and what kind of work a job is.

named_enum! {
    /// How an action (or a playbook task) ended on one target, in
    /// Ansible's words.
    pub enum ResultStatus {
        /// Nothing needed to change.
        Ok = "ok",
        /// Something changed.
        Changed = "changed",
        /// It did not work.
        Failed = "failed",
        /// Nothing to do.
        Skipped = "skipped",
        /// The target could not be reached.
        Unreachable = "unreachable",
    }
}

impl ResultStatus {
    /// How bad it is, for picking the worst of several: failed >
    /// unreachable > changed > ok > skipped.
    pub fn severity(self) -> u8 {
        match self {
            ResultStatus::Failed => 4,
            ResultStatus::Unreachable => 3,
            ResultStatus::Changed => 2,
            ResultStatus::Ok => 1,
            ResultStatus::Skipped => 0,
        }
    }

    /// Failed or unreachable.
    pub fn is_failure(self) -> bool {
        matches!(self, ResultStatus::Failed | ResultStatus::Unreachable)
    }
}

/// The worst of several statuses (failed > unreachable > changed > ok >
/// skipped); `None` for none.
pub fn overall_status(statuses: impl Iterator<Item = ResultStatus>) -> Option<ResultStatus> {
    statuses.max_by_key(|s| s.severity())
}

named_enum! {
    /// Why a target failed, when the host knows better than "the plugin
    /// said so".
    pub enum FailureKind {
        /// The plugin reported failure itself.
        Plugin = "plugin",
        /// A host call was refused: a capability is not granted.
        Denied = "denied",
        /// The parameters did not fit the action.
        BadParams = "bad-params",
        /// A limit (memory, CPU, wall time, log, output) stopped the plugin.
        Limit = "limit",
        /// The plugin trapped: panic, stack overflow, bad memory access.
        Crashed = "crashed",
        /// The host could not run the plugin at all.
        Host = "host",
        /// The target could not be reached (refused, timed out, host key, login).
        Unreachable = "unreachable",
    }
}

named_enum! {
    /// Where a job is in its life.
    pub enum JobState {
        /// Still going.
        Running = "running",
        /// Every target has a result.
        Finished = "finished",
        /// The process running it died before it finished.
        Interrupted = "interrupted",
        /// Someone cancelled it; what had finished is kept.
        Cancelled = "cancelled",
    }
}

named_enum! {
    /// Severity of a log line, from the quietest.
    pub enum LogLevel {
        /// Very detailed.
        Trace = "trace",
        /// Detailed.
        Debug = "debug",
        /// Normal.
        Info = "info",
        /// Something to look at.
        Warn = "warn",
        /// Something went wrong.
        Error = "error",
    }
}

named_enum! {
    /// What a job runs: its kind decides how it is read, shown and run
    /// again (never the name of its plugin).
    pub enum JobKind {
        /// One plugin action over targets.
        Action = "action",
        /// An Ansible playbook over an inventory.
        Playbook = "playbook",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for status in ResultStatus::ALL {
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.name()));
            assert_eq!(ResultStatus::from_name(status.name()), Some(*status));
        }
        assert_eq!(FailureKind::BadParams.name(), "bad-params");
        assert_eq!(
            serde_json::from_str::<FailureKind>("\"bad-params\"").unwrap(),
            FailureKind::BadParams
        );
        assert_eq!(JobState::from_name("paused"), None);
        assert_eq!(LogLevel::names(), "trace, debug, info, warn, error");
    }

    #[test]
    fn the_worst_status_wins() {
        use ResultStatus::*;
        assert_eq!(
            overall_status([Ok, Changed, Skipped].into_iter()),
            Some(Changed)
        );
        assert_eq!(
            overall_status([Unreachable, Failed].into_iter()),
            Some(Failed)
        );
        assert_eq!(
            overall_status([Skipped, Unreachable].into_iter()),
            Some(Unreachable)
        );
        assert_eq!(overall_status(std::iter::empty()), None);
        assert!(LogLevel::Warn > LogLevel::Info);
    }
}
