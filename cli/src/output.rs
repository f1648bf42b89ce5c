//! Small helpers for what the CLI prints.

use capstan_engine::jobs::{FailureKind, ResultStatus, TargetResult};
use std::io::Write;

/// Prints a value as pretty JSON on stdout, in the versioned envelope
/// every `--json` shares: `{"format": N, "data": …}`.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let document = capstan_wire::Versioned::new(value);
    let text = serde_json::to_string_pretty(&document)?;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}") {
        // A reader that stopped early (`| head`) wanted no more.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// One result line: target, status, summary (and why, when it failed).
pub fn result_line(result: &TargetResult) -> String {
    let why = match result.failure {
        Some(FailureKind::Plugin) | None => String::new(),
        Some(kind) => format!(" [{}]", kind.name()),
    };
    format!(
        "{:<12} {:<8} {}{why}",
        result.target,
        result.status.name(),
        first_line(&result.summary)
    )
}

/// Counts per status, e.g. `ok=1 changed=2 failed=0`.
pub fn recap(results: &[TargetResult]) -> String {
    let count = |s: ResultStatus| results.iter().filter(|r| r.status == s).count();
    format!(
        "ok={} changed={} failed={} skipped={} unreachable={}",
        count(ResultStatus::Ok),
        count(ResultStatus::Changed),
        count(ResultStatus::Failed),
        count(ResultStatus::Skipped),
        count(ResultStatus::Unreachable)
    )
}

/// The first line of a text, cut to a terminal's width.
pub fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_string()
    }
}

/// A timestamp in ms as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = capstan_wire::clock::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn timestamps_are_utc_dates() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(timestamp(1_795_000_000_000), "2026-11-18 11:06:40");
    }
}
