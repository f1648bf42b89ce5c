//! Cron expressions read in a time zone: 5 fields, or 6 with seconds
//! first, with croner's syntax (`*/5`, `MON-FRI`, `L`, `#2`, `@daily`),
//! and the IANA zone database the system has (jiff). Times are
//! milliseconds since the epoch, as every record keeps them.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A parsed expression and its zone.
#[derive(Debug, Clone)]
pub struct CronTimes {
    cron: Cron,
    zone: TimeZone,
}

/// Most occurrences counted between two times (a second-level schedule
/// down for a day has 86,400; no caller needs them all).
pub const MAX_COUNTED: usize = 100_000;

impl CronTimes {
    /// Parses `expression` in the zone named `tz` (UTC when `None`); the
    /// error says which of the two is wrong, and why.
    pub fn parse(expression: &str, tz: Option<&str>) -> Result<CronTimes, CronProblem> {
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .map_err(|e| CronProblem::Expression(format!("`{expression}`: {e}")))?;
        let zone = match tz {
            None => TimeZone::UTC,
            Some(name) => TimeZone::get(name).map_err(|e| {
                CronProblem::Zone(format!(
                    "`{name}` is not a time zone this machine knows (an IANA name such as Europe/Paris): {e}"
                ))
            })?,
        };
        Ok(CronTimes { cron, zone })
    }

    /// The first time after `after_ms` (not at it).
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let start = Timestamp::from_millisecond(after_ms)
            .ok()?
            .to_zoned(self.zone.clone());
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        Some(next.timestamp().as_millisecond())
    }

    /// The next `count` times after `after_ms`.
    pub fn next_times(&self, after_ms: i64, count: usize) -> Vec<i64> {
        let mut times = Vec::with_capacity(count);
        let mut at = after_ms;
        while times.len() < count {
            let Some(next) = self.next_after(at) else {
                break;
            };
            times.push(next);
            at = next;
        }
        times
    }

    /// The times after `after_ms` up to and including `until_ms`: how
    /// many (at most [`MAX_COUNTED`]) and the last.
    pub fn due_between(&self, after_ms: i64, until_ms: i64) -> (usize, Option<i64>) {
        let (mut count, mut last, mut at) = (0, None, after_ms);
        while count < MAX_COUNTED {
            match self.next_after(at) {
                Some(next) if next <= until_ms => {
                    count += 1;
                    last = Some(next);
                    at = next;
                }
                _ => break,
            }
        }
        if count == MAX_COUNTED {
            // Too many to walk: the last one is the one before the end.
            last = self.previous_at_or_before(until_ms).or(last);
        }
        (count, last)
    }

    fn previous_at_or_before(&self, at_ms: i64) -> Option<i64> {
        let start = Timestamp::from_millisecond(at_ms)
            .ok()?
            .to_zoned(self.zone.clone());
        let previous = self.cron.find_previous_occurrence(&start, true).ok()?;
        Some(previous.timestamp().as_millisecond())
    }
}

/// What is wrong with a schedule's times.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronProblem {
    /// The expression does not parse.
    #[error("{0}")]
    Expression(String),
    /// The zone is unknown.
    #[error("{0}")]
    Zone(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-29 00:30:00 UTC: the night Paris moves to summer time.
    const SPRING_NIGHT: i64 = 1_774_744_200_000;

    #[test]
    fn five_fields_are_minutes_six_have_seconds_first() {
        let daily = CronTimes::parse("0 3 * * *", None).unwrap();
        let next = daily.next_after(0).unwrap();
        assert_eq!(next, 3 * 3_600_000, "03:00 UTC on the first day");
        let every_two = CronTimes::parse("*/2 * * * * *", None).unwrap();
        assert_eq!(every_two.next_times(0, 3), [2_000, 4_000, 6_000]);
        let (count, last) = every_two.due_between(0, 10_000);
        assert_eq!((count, last), (5, Some(10_000)));
    }

    #[test]
    fn a_zone_moves_the_times_and_knows_summer_time() {
        let paris = CronTimes::parse("0 3 * * *", Some("Europe/Paris")).unwrap();
        // 03:00 in Paris on 29 March 2026 is 01:00 UTC (summer time from 02:00).
        assert_eq!(
            paris.next_after(SPRING_NIGHT).unwrap(),
            SPRING_NIGHT + 30 * 60_000
        );
    }

    #[test]
    fn bad_expressions_and_zones_are_named() {
        let error = CronTimes::parse("61 * * * *", None).unwrap_err();
        assert!(matches!(error, CronProblem::Expression(_)), "{error}");
        assert!(error.to_string().contains("61 * * * *"));
        let error = CronTimes::parse("0 3 * * *", Some("Mars/Olympus")).unwrap_err();
        assert!(matches!(error, CronProblem::Zone(_)), "{error}");
        assert!(error.to_string().contains("Mars/Olympus"));
    }

    #[test]
    fn a_long_outage_of_a_second_schedule_is_counted_without_walking_it_all() {
        let every_second = CronTimes::parse("* * * * * *", None).unwrap();
        let two_days = 2 * 86_400_000;
        let (count, last) = every_second.due_between(0, two_days);
        assert_eq!(count, MAX_COUNTED);
        assert_eq!(last, Some(two_days), "the last is still the last one due");
    }
}
