//! `modification_time` and `access_time`: `preserve` (keep), `now`, or a
//! time written in `*_time_format` (strftime's `%Y%m%d%H%M.%S` by
//! default), read in the host's own time zone as Ansible's module reads
//! it there. Set with the host's `touch`, compared first so a time already
//! set changes nothing.

use capstan_plugin_sdk::remote;
use capstan_plugin_sdk::{Context, Error};

/// Ansible's default `modification_time_format` and `access_time_format`.
const DEFAULT_FORMAT: &str = "%Y%m%d%H%M.%S";

/// One of the two times as a task asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// Left as it is.
    Preserve,
    /// Set to the host's present time (always a change).
    Now,
    /// Set to this local time, `YYYY-MM-DD HH:MM:SS`.
    At(String),
}

impl Wanted {
    /// Reads `value` in `format`; unset is `now` for `state: touch`,
    /// `preserve` otherwise.
    pub fn read(
        value: Option<&str>,
        format: Option<&str>,
        touching: bool,
        what: &str,
    ) -> Result<Wanted, Error> {
        match value.map(str::trim) {
            None if touching => Ok(Wanted::Now),
            None | Some("preserve") => Ok(Wanted::Preserve),
            Some("now") => Ok(Wanted::Now),
            Some(text) => {
                let format = format.unwrap_or(DEFAULT_FORMAT);
                parse(text, format).map(Wanted::At).ok_or_else(|| {
                    Error::InvalidParams(format!(
                        "{what}: `{text}` does not match the format `{format}`"
                    ))
                })
            }
        }
    }

    /// As the script's argument: empty to keep, `now`, or the time.
    fn argument(&self) -> &str {
        match self {
            Wanted::Preserve => "",
            Wanted::Now => "now",
            Wanted::At(time) => time,
        }
    }
}

/// Sets the times that differ (unless `$4` is 1, check mode) and prints
/// `FIELD BEFORE AFTER` (epoch seconds) for each one it set. `$1` path,
/// `$2` modification, `$3` access.
const SET_TIMES: &str = r#"p=$1 check=$4
set_time() {
    flag=$1 want=$2 field=$3 name=$4
    [ -n "$want" ] || return 0
    was=$(stat -c "$field" -- "$p") || exit 1
    if [ "$want" = now ]; then
        echo "$name $was $(date +%s)"
        [ "$check" = 1 ] || touch "$flag" -c -- "$p" || exit 1
        return 0
    fi
    at=$(date -d "$want" +%s) || exit 2
    [ "$was" = "$at" ] && return 0
    echo "$name $was $at"
    [ "$check" = 1 ] || touch "$flag" -c -d "@$at" -- "$p" || exit 1
}
# Both to now in one call, as a user who may write the file but does not
# own it may only set both times at once, to now.
if [ "$2" = now ] && [ "$3" = now ]; then
    was=$(stat -c '%Y %X' -- "$p") || exit 1
    now=$(date +%s)
    echo "mtime ${was% *} $now"
    echo "atime ${was#* } $now"
    [ "$check" = 1 ] || touch -c -- "$p" || exit 1
    exit 0
fi
set_time -m "$2" %Y mtime
set_time -a "$3" %X atime
exit 0"#;

/// One time a task set: `mtime` or `atime`, from and to (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeChange {
    /// `mtime` or `atime`, as Ansible's diff names them.
    pub field: String,
    /// What it was.
    pub before: i64,
    /// What it is now (or would be, in check mode).
    pub after: i64,
}

/// Brings `path`'s times to what is wanted; the times that changed.
pub fn apply(
    ctx: &Context,
    path: &str,
    modification: &Wanted,
    access: &Wanted,
) -> Result<Vec<TimeChange>, Error> {
    if *modification == Wanted::Preserve && *access == Wanted::Preserve {
        return Ok(Vec::new());
    }
    let check = if ctx.check { "1" } else { "0" };
    let out = remote::Command::new([
        "sh",
        "-c",
        SET_TIMES,
        "capstan-times",
        path,
        modification.argument(),
        access.argument(),
        check,
    ])
    .run_checked(&ctx.target)?;
    out.stdout_text().lines().map(time_change).collect()
}

/// A `FIELD BEFORE AFTER` line of [`SET_TIMES`].
fn time_change(line: &str) -> Result<TimeChange, Error> {
    if let [field, before, after] = line.split_whitespace().collect::<Vec<_>>()[..]
        && let (Ok(before), Ok(after)) = (before.parse(), after.parse())
    {
        return Ok(TimeChange {
            field: field.to_string(),
            before,
            after,
        });
    }
    Err(Error::msg(format!(
        "setting times: unexpected answer `{line}`"
    )))
}

/// Reads `text` written in `format` (`%Y %m %d %H %M %S`, `%%`, other
/// characters as themselves) as `YYYY-MM-DD HH:MM:SS`.
fn parse(text: &str, format: &str) -> Option<String> {
    let mut fields = [1970u32, 1, 1, 0, 0, 0];
    let mut rest = text;
    let mut spec = format.chars();
    while let Some(c) = spec.next() {
        if c != '%' {
            rest = rest.strip_prefix(c)?;
            continue;
        }
        let (slot, width) = match spec.next()? {
            'Y' => (0, 4),
            'm' => (1, 2),
            'd' => (2, 2),
            'H' => (3, 2),
            'M' => (4, 2),
            'S' => (5, 2),
            '%' => {
                rest = rest.strip_prefix('%')?;
                continue;
            }
            _ => return None,
        };
        let digits = rest
            .get(..width)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?;
        fields[slot] = digits.parse().ok()?;
        rest = &rest[width..];
    }
    let [y, mo, d, h, mi, s] = fields;
    let valid = rest.is_empty()
        && (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && h < 24
        && mi < 60
        && s < 62;
    valid.then(|| format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_their_format() {
        assert_eq!(
            parse("202202081414.00", DEFAULT_FORMAT).unwrap(),
            "2022-02-08 14:14:00"
        );
        assert_eq!(
            parse("2022-02-08 14:14:05", "%Y-%m-%d %H:%M:%S").unwrap(),
            "2022-02-08 14:14:05"
        );
        assert_eq!(parse("202213081414.00", DEFAULT_FORMAT), None);
        assert_eq!(parse("2022020814", DEFAULT_FORMAT), None);
        assert_eq!(
            Wanted::read(None, None, true, "modification_time").unwrap(),
            Wanted::Now
        );
        assert_eq!(
            Wanted::read(Some("preserve"), None, true, "access_time").unwrap(),
            Wanted::Preserve
        );
        let error = Wanted::read(Some("soon"), None, false, "access_time").unwrap_err();
        assert!(error.to_string().contains("does not match"), "{error}");
    }

    #[test]
    fn each_time_set_is_read_with_both_sides() {
        let change = time_change("mtime 1644329640 1644329700").unwrap();
        assert_eq!(
            change,
            TimeChange {
                field: "mtime".into(),
                before: 1644329640,
                after: 1644329700,
            }
        );
        let error = time_change("mtime soon").unwrap_err();
        assert!(error.to_string().contains("mtime soon"), "{error}");
    }
}
