//! Ansible's `now()` template function: this machine's time, local or UTC,
//! as Python prints a datetime or formatted with `fmt` (strftime codes;
//! Python's `%f` is six digits of microseconds).

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, Value};

/// Adds `now` to a template engine.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function("now", now);
}

/// `now(utc=False, fmt=None)`.
fn now(kwargs: Kwargs) -> Result<Value, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let fmt: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let zoned = if utc.unwrap_or(false) {
        jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC)
    } else {
        jiff::Zoned::now()
    };
    Ok(Value::from(format(&zoned, fmt.as_deref())?))
}

/// The time as Python's `str(datetime)` gives it, or by `fmt`.
fn format(time: &jiff::Zoned, fmt: Option<&str>) -> Result<String, Error> {
    let fmt = fmt.unwrap_or("%Y-%m-%d %H:%M:%S.%f");
    // jiff writes Python's fixed six digits as `%6f`.
    let fmt = fmt.replace("%f", "%6f");
    jiff::fmt::strtime::format(fmt.as_str(), time).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("now(): cannot format the time with `{fmt}`: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_python_prints_them() {
        let time: jiff::Zoned = "2026-12-02T21:30:05.25+00:00[UTC]".parse().unwrap();
        assert_eq!(format(&time, None).unwrap(), "2026-12-02 21:30:05.250000");
        assert_eq!(format(&time, Some("%s.%f")).unwrap(), "1796247005.250000");
        assert_eq!(format(&time, Some("%Y")).unwrap(), "2026");
    }
}
