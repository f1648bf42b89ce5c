//! A user's shadow entry — password hash, lock, aging and expiry — read
//! in one command, and the `usermod`/`chage` flags that bring it to what
//! the `user` action asks.

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{Context, Error, civil_from_days};

/// What the shadow file holds for one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shadow {
    /// The password hash (`!` first when locked).
    pub hash: String,
    /// Days before the password may change (`chage -m`).
    pub min: Option<i64>,
    /// Days the password is valid (`chage -M`).
    pub max: Option<i64>,
    /// Days of warning before it expires (`chage -W`).
    pub warn: Option<i64>,
    /// Days after expiry the account is disabled (`usermod -f`).
    pub inactive: Option<i64>,
    /// The day (since 1970-01-01) the account expires; None when it
    /// does not.
    pub expire: Option<i64>,
}

impl Shadow {
    /// Whether the password is locked (`usermod -L`).
    pub fn locked(&self) -> bool {
        self.hash.starts_with('!')
    }

    /// Reads `getent shadow` output's one line.
    fn parse(line: &str) -> Shadow {
        let fields: Vec<&str> = line.trim_end().split(':').collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<i64>().ok());
        Shadow {
            hash: fields.get(1).unwrap_or(&"").to_string(),
            min: number(3),
            max: number(4),
            warn: number(5),
            inactive: number(6),
            expire: number(7).filter(|d| *d >= 0),
        }
    }
}

/// The account's shadow entry; None when it has none (an account written
/// into `/etc/passwd` alone).
pub fn read(ctx: &Context, name: &str) -> Result<Option<Shadow>, Error> {
    let out = Command::new(["getent", "shadow", name]).run(&ctx.target)?;
    match out.exit_code {
        Some(0) => Ok(Some(Shadow::parse(&out.stdout_text()))),
        Some(2) => Ok(None),
        _ => Err(Error::msg(format!(
            "reading the shadow entry of {name} failed: {}",
            out.stderr_text().trim()
        ))),
    }
}

/// `expires` (seconds since 1970, Ansible's float) as `useradd`/`usermod
/// -e` takes it: a date, or empty (never) for a time before 1970.
pub fn expiry_date(expires: f64) -> String {
    if expires < 0.0 {
        return String::new();
    }
    let (y, m, d) = civil_from_days((expires / 86_400.0).floor() as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `-e DATE` when `expires` differs from the entry's expiry (compared by
/// day, as Ansible does); an account with no shadow entry is given one.
pub fn expiry_flags(expires: f64, current: Option<&Shadow>) -> Vec<String> {
    let current = current.map(|s| s.expire);
    let differs = if expires < 0.0 {
        current != Some(None)
    } else {
        current != Some(Some((expires / 86_400.0).floor() as i64))
    };
    if differs {
        vec!["-e".into(), expiry_date(expires)]
    } else {
        Vec::new()
    }
}

/// The password aging a `user` task asks for.
#[derive(Debug, Default, Clone, Copy)]
pub struct Aging {
    /// `password_expire_min`.
    pub min: Option<i64>,
    /// `password_expire_max`.
    pub max: Option<i64>,
    /// `password_expire_warn`.
    pub warn: Option<i64>,
}

/// `chage` flags for the aging fields that differ from `current`.
pub fn aging_flags(aging: Aging, current: &Shadow) -> Vec<String> {
    let mut flags = Vec::new();
    for (flag, wanted, have) in [
        ("-m", aging.min, current.min),
        ("-M", aging.max, current.max),
        ("-W", aging.warn, current.warn),
    ] {
        if let Some(wanted) = wanted
            && Some(wanted) != have
        {
            flags.extend([flag.to_string(), wanted.to_string()]);
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_a_utc_date_or_empty_before_1970() {
        assert_eq!(expiry_date(0.0), "1970-01-01");
        // Ansible's test value: day 29281.
        assert_eq!(expiry_date(2_529_881_062.0), "2050-03-03");
        assert_eq!(expiry_date(951_782_400.0), "2000-02-29");
        assert_eq!(expiry_date(-1.0), "");
        assert_eq!(expiry_date(-2_529_881_062.0), "");
    }

    #[test]
    fn expiry_changes_only_when_the_day_differs() {
        let never = Shadow::parse("u:!:19000:0:99999:7:::\n");
        let day = Shadow::parse("u:!:19000:0:99999:7::29281:\n");
        assert_eq!(never.expire, None);
        assert_eq!(day.expire, Some(29281));
        assert!(expiry_flags(-1.0, Some(&never)).is_empty());
        assert_eq!(expiry_flags(-1.0, Some(&day)), ["-e", ""]);
        assert!(expiry_flags(2_529_881_062.0, Some(&day)).is_empty());
        assert_eq!(
            expiry_flags(2_529_881_062.0, Some(&never)),
            ["-e", "2050-03-03"]
        );
        // No shadow entry at all: one is written.
        assert_eq!(expiry_flags(-1.0, None), ["-e", ""]);
    }

    #[test]
    fn aging_flags_name_only_what_differs() {
        let shadow = Shadow::parse("u:x:19000:0:99999:7:::\n");
        let aging = Aging {
            min: Some(0),
            max: Some(10),
            warn: None,
        };
        assert_eq!(aging_flags(aging, &shadow), ["-M", "10"]);
        assert!(shadow.warn == Some(7) && !shadow.locked());
    }
}
