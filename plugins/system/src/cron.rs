//! Ansible's `cron`: a named job (or a variable) in a user's crontab,
//! through the host's `crontab`, or in a file of `/etc/cron.d`.

use capstan_plugin_sdk::remote::{self, Command};
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome, diff};
use serde::Deserialize;
use serde_json::json;

use crate::crontab::{Crontab, Found};

/// Parameters of the `cron` action (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CronParams {
    /// The job's name (the `#Ansible:` line above it), or the variable's
    /// name with `env`.
    name: String,
    /// Whose crontab (default: the account the host runs commands as).
    user: Option<String>,
    /// The command (or the variable's value with `env`).
    job: Option<String>,
    /// A file of `/etc/cron.d` (or an absolute path) instead of a
    /// user's crontab.
    cron_file: Option<String>,
    /// present (default) or absent.
    state: Option<Presence>,
    /// Keep a copy of the table as it was when it changes.
    #[serde(default)]
    backup: bool,
    /// The schedule's fields (default `*`).
    minute: Option<String>,
    /// Hour of the day.
    hour: Option<String>,
    /// Day of the month.
    day: Option<String>,
    /// Month.
    month: Option<String>,
    /// Day of the week.
    weekday: Option<String>,
    /// `@reboot`, `@daily`, ... instead of the five fields.
    special_time: Option<SpecialTime>,
    /// Write the job commented out.
    #[serde(default)]
    disabled: bool,
    /// Manage a variable (`NAME="job"`) instead of a job.
    #[serde(default)]
    env: bool,
    /// With `env`: put the variable after this one.
    insertafter: Option<String>,
    /// With `env`: put the variable before this one.
    insertbefore: Option<String>,
}

/// Whether the job should be there.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Presence {
    Present,
    Absent,
}

/// cron's `@` schedules.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum SpecialTime {
    Reboot,
    Yearly,
    Annually,
    Monthly,
    Weekly,
    Daily,
    Hourly,
}

impl SpecialTime {
    fn word(self) -> &'static str {
        match self {
            SpecialTime::Reboot => "reboot",
            SpecialTime::Yearly => "yearly",
            SpecialTime::Annually => "annually",
            SpecialTime::Monthly => "monthly",
            SpecialTime::Weekly => "weekly",
            SpecialTime::Daily => "daily",
            SpecialTime::Hourly => "hourly",
        }
    }
}

/// Where the table lives.
enum Table {
    /// A user's crontab (`None`: the account commands run as).
    User(Option<String>),
    /// A file, written directly.
    File(String),
}

impl Table {
    fn header(&self) -> String {
        match self {
            Table::File(path) => path.clone(),
            Table::User(Some(user)) => format!("crontab for user \"{user}\""),
            Table::User(None) => "crontab".into(),
        }
    }
}

/// `crontab -l`, or `-u USER -l` when USER is not who runs it; exit 1
/// ("no crontab for ...") is an empty table; 127 means no `crontab`.
const LIST: &str = r#"command -v crontab >/dev/null 2>&1 || exit 127
if [ -n "$1" ] && [ "$1" != "$(id -un)" ]; then exec crontab -u "$1" -l; fi
exec crontab -l"#;

/// Installs stdin as the crontab, `-u USER` as above.
const INSTALL: &str = r#"if [ -n "$1" ] && [ "$1" != "$(id -un)" ]; then exec crontab -u "$1" -; fi
exec crontab -"#;

fn no_crontab(ctx: &Context) -> Error {
    Error::msg(format!(
        "Failed to find required executable \"crontab\" on {}",
        ctx.target
    ))
}

/// The table as it is, and whether it is there (a user's crontab always
/// is, if only empty; a cron file may be missing).
fn read(table: &Table, ctx: &Context) -> Result<(Crontab, bool), Error> {
    match table {
        Table::File(path) => Ok(match remote::read_if_present(&ctx.target, path)? {
            Some(bytes) => (Crontab::from_file(&String::from_utf8_lossy(&bytes)), true),
            None => (Crontab::from_file(""), false),
        }),
        Table::User(user) => {
            let user = user.as_deref().unwrap_or_default();
            let out = Command::new(["sh", "-c", LIST, "capstan-cron", user]).run(&ctx.target)?;
            match out.exit_code {
                Some(0) => Ok((Crontab::from_listing(&out.stdout_text()), true)),
                Some(1) => Ok((Crontab::from_file(""), true)),
                Some(127) => Err(no_crontab(ctx)),
                _ => Err(Error::msg(format!(
                    "Unable to read crontab: {}",
                    out.stderr_text().trim()
                ))),
            }
        }
    }
}

fn write(table: &Table, text: &str, existed: bool, ctx: &Context) -> Result<(), Error> {
    match table {
        // A new file is 0644 (Ansible writes under umask 022); an existing
        // one keeps its mode.
        Table::File(path) => {
            remote::write_file(
                &ctx.target,
                path,
                text.as_bytes(),
                (!existed).then_some(0o644),
            )?;
        }
        Table::User(user) => {
            let user = user.as_deref().unwrap_or_default();
            let out = Command::new(["sh", "-c", INSTALL, "capstan-cron", user])
                .stdin(text.as_bytes().to_vec())
                .run(&ctx.target)?;
            if !out.success() {
                return Err(Error::msg(format!(
                    "Failed to install new cronfile: {}",
                    out.stderr_text().trim()
                )));
            }
        }
    }
    Ok(())
}

/// A copy of the table as it was, in a new file under the host's /tmp.
fn backup(before: &Crontab, ctx: &Context) -> Result<String, Error> {
    let made = Command::new(["mktemp", "/tmp/crontabXXXXXXXX"]).run_checked(&ctx.target)?;
    let path = made.stdout_text().trim().to_string();
    remote::write_file(&ctx.target, &path, before.render().as_bytes(), Some(0o600))?;
    Ok(path)
}

fn checked(p: &CronParams) -> Result<(), Error> {
    let fail = |m: &str| Err(Error::msg(m.to_string()));
    if p.cron_file.as_deref() == Some("/etc/crontab") {
        return fail("Will not manage /etc/crontab via cron_file, see documentation.");
    }
    if p.insertafter.is_some() && p.insertbefore.is_some() {
        return fail("parameters are mutually exclusive: insertafter|insertbefore");
    }
    let timed = [&p.minute, &p.hour, &p.day, &p.month, &p.weekday]
        .iter()
        .any(|f| f.as_deref().is_some_and(|v| v != "*"));
    if p.special_time.is_some() && timed {
        return fail(
            "You cannot combine special_time with any of the time or day/date parameters.",
        );
    }
    if p.state != Some(Presence::Absent) {
        if p.cron_file.is_some() && p.user.is_none() {
            return fail("To use cron_file=... parameter you must specify user=... as well");
        }
        if p.job.is_none() {
            return fail("You must specify 'job' to install a new cron job or variable");
        }
        if (p.insertafter.is_some() || p.insertbefore.is_some()) && !p.env {
            return fail("Insertafter and insertbefore parameters are valid only with env=yes");
        }
    }
    if p.env && p.name.contains(' ') {
        return fail("Invalid name for environment variable");
    }
    Ok(())
}

/// The job's line: schedule (or `@special`), the user in a cron file,
/// the command; `#` first when disabled.
fn job_line(p: &CronParams, job: &str) -> String {
    let job = job.trim_matches(['\r', '\n']);
    let mut words: Vec<&str> = Vec::new();
    let special;
    if let Some(time) = p.special_time {
        special = format!("@{}", time.word());
        words.push(&special);
    } else {
        for field in [&p.minute, &p.hour, &p.day, &p.month, &p.weekday] {
            words.push(field.as_deref().unwrap_or("*"));
        }
    }
    if p.cron_file.is_some() {
        words.push(p.user.as_deref().unwrap_or_default());
    }
    words.push(job);
    let line = words.join(" ");
    if p.disabled { format!("#{line}") } else { line }
}

/// Brings the job or variable to the wanted state.
pub fn cron(p: CronParams, ctx: &Context) -> Result<Outcome, Error> {
    checked(&p)?;
    let present = p.state != Some(Presence::Absent);
    let mut warnings = Vec::new();
    let table = match &p.cron_file {
        Some(file) => {
            let base = file.rsplit('/').next().unwrap_or(file);
            let plain = !base.is_empty()
                && base
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !plain {
                warnings.push(format!(
                    "Filename portion of cron_file (\"{base}\") should consist solely of \
                     upper- and lower-case letters, digits, underscores, and hyphens"
                ));
            }
            if file.starts_with('/') {
                Table::File(file.clone())
            } else {
                Table::File(format!("/etc/cron.d/{file}"))
            }
        }
        None => Table::User(p.user.clone()),
    };
    let (mut tab, existed) = read(&table, ctx)?;
    let original = tab.clone();
    let mut changed = false;
    if p.env {
        let decl = format!("{}=\"{}\"", p.name, p.job.as_deref().unwrap_or_default());
        let old = tab.find_env(&p.name);
        match (present, old) {
            (true, None) => {
                tab.add_env(&decl, p.insertafter.as_deref(), p.insertbefore.as_deref())
                    .map_err(Error::msg)?;
                changed = true;
            }
            (true, Some((_, line))) if line != decl => {
                tab.set_env(&p.name, Some(&decl));
                changed = true;
            }
            (false, Some(_)) => {
                tab.set_env(&p.name, None);
                changed = true;
            }
            _ => {}
        }
    } else if present {
        let job = p.job.as_deref().unwrap_or_default();
        if job.trim_matches(['\r', '\n']).contains(['\r', '\n']) {
            warnings.push("Job should not contain line breaks".to_string());
        }
        let line = job_line(&p, job);
        match tab.find_job(&p.name, Some(&line)) {
            Found::Missing => {
                tab.add_job(&p.name, &line);
                changed = true;
            }
            Found::Named(old) if old == line => {}
            Found::Named(_) | Found::Adopted => {
                tab.set_job(&p.name, Some(&line));
                changed = true;
            }
        }
    } else if tab.find_job(&p.name, None) != Found::Missing {
        tab.set_job(&p.name, None);
        changed = true;
        if let Table::File(path) = &table
            && tab.is_empty()
        {
            return remove_file(path, &original, existed, ctx);
        }
    }
    // An unchanged table still gets the newline its last line lacks.
    if !changed && !tab.existing.is_empty() && !tab.existing.ends_with(['\r', '\n']) {
        changed = true;
    }
    let mut data = json!({
        "jobs": tab.job_names(),
        "envs": tab.env_names(),
        "changed": changed,
    });
    if let Some(file) = &p.cron_file {
        data["cron_file"] = json!(file);
    }
    if !warnings.is_empty() {
        data["warnings"] = json!(warnings);
    }
    let where_ = table.header();
    if !changed {
        return Ok(Outcome::ok(format!("{where_}: {} as asked", p.name)).with_data(data));
    }
    let after = tab.render();
    if !ctx.check {
        if p.backup {
            data["backup_file"] = json!(backup(&original, ctx)?);
        }
        write(&table, &after, existed, ctx)?;
    }
    let mut outcome = Outcome::changed(format!("{where_}: {}", p.name)).with_data(data);
    if ctx.diff {
        outcome = outcome.with_diff(diff::unified(&where_, &original.existing, &after));
    }
    Ok(outcome)
}

/// A cron file left with no job is removed (changed if it was there).
fn remove_file(
    path: &str,
    before: &Crontab,
    existed: bool,
    ctx: &Context,
) -> Result<Outcome, Error> {
    if existed && !ctx.check {
        Command::new(["rm", "-f", "--", path]).run_checked(&ctx.target)?;
    }
    let data = json!({"changed": existed, "cron_file": path, "state": "absent"});
    let outcome = if existed {
        Outcome::changed(format!("{path}: removed"))
    } else {
        Outcome::ok(format!("{path}: absent"))
    };
    let outcome = outcome.with_data(data);
    Ok(if ctx.diff && existed {
        outcome.with_diff(diff::unified(path, &before.existing, ""))
    } else {
        outcome
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(json: serde_json::Value) -> CronParams {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_job_line_has_the_schedule_the_user_of_a_file_and_the_command() {
        let p = params(json!({"name": "n", "job": "ls\n", "hour": "5,2"}));
        assert_eq!(job_line(&p, "ls\n"), "* 5,2 * * * ls");
        let p = params(
            json!({"name": "n", "job": "ls", "cron_file": "f", "user": "root",
                              "special_time": "reboot", "disabled": true}),
        );
        assert_eq!(job_line(&p, "ls"), "#@reboot root ls");
    }

    #[test]
    fn wrong_combinations_are_refused_in_ansibles_words() {
        let refused = |v| checked(&params(v)).unwrap_err().to_string();
        assert!(
            refused(json!({"name": "n", "job": "x", "cron_file": "/etc/crontab", "user": "r"}))
                .contains("Will not manage /etc/crontab")
        );
        assert!(
            refused(json!({"name": "n", "job": "x", "cron_file": "f"}))
                .contains("you must specify user")
        );
        assert!(refused(json!({"name": "n"})).contains("You must specify 'job'"));
        assert!(
            refused(json!({"name": "n", "job": "x", "special_time": "daily", "hour": "1"}))
                .contains("cannot combine special_time")
        );
        assert!(
            refused(json!({"name": "n", "job": "x", "insertafter": "A"}))
                .contains("valid only with env=yes")
        );
        assert!(
            checked(&params(
                json!({"name": "n", "state": "absent", "cron_file": "f"})
            ))
            .is_ok()
        );
    }
}
