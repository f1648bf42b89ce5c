//! Reading an account or group in one command, and the commands that
//! bring it to what was asked.

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome, diff};
use serde::Deserialize;

/// Parameters of the `user` action (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserParams {
    /// Login name.
    name: String,
    /// Whether the account should exist (default: present).
    state: Option<Presence>,
    /// User id.
    uid: Option<u32>,
    /// Primary group (name or number).
    group: Option<String>,
    /// Supplementary groups.
    groups: Option<Vec<String>>,
    /// Add to `groups` without leaving others (default false).
    #[serde(default)]
    append: bool,
    /// Login shell.
    shell: Option<String>,
    /// Home folder.
    home: Option<String>,
    /// Create the home folder for a new user (default true).
    create_home: Option<bool>,
    /// A system account (new users only).
    #[serde(default)]
    system: bool,
    /// The GECOS field.
    comment: Option<String>,
    /// With state=absent, remove the home folder too.
    #[serde(default)]
    remove: bool,
    /// With state=absent, remove the user even while logged in (and,
    /// with `remove`, files it does not own in its home): `userdel -f`.
    #[serde(default)]
    force: bool,
    /// The password, already hashed (`{{ 'pw' | password_hash('sha512') }}`);
    /// set through `chpasswd -e` on its standard input, never shown.
    password: Option<String>,
    /// `always` (default): set the password when it differs;
    /// `on_create`: only for a new account.
    update_password: Option<String>,
}

/// Parameters of the `group` action.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupParams {
    /// Group name.
    name: String,
    /// Whether the group should exist (default: present).
    state: Option<Presence>,
    /// Group id.
    gid: Option<u32>,
    /// A system group (new groups only).
    #[serde(default)]
    system: bool,
    /// Allow a `gid` another group already has (`-o`).
    #[serde(default)]
    non_unique: bool,
}

/// Whether an account or group should exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// It should exist.
    Present,
    /// It should not.
    Absent,
}

/// Whether the account's password hash is to be set: one is given, and
/// the account is new or (with `update_password: always`) its hash in
/// the shadow file differs.
fn password_differs(ctx: &Context, p: &UserParams, new: bool) -> Result<bool, Error> {
    let Some(wanted) = &p.password else {
        return Ok(false);
    };
    if wanted.contains([':', '\n']) {
        return Err(Error::msg(
            "password: a hash holds no `:` and no line break",
        ));
    }
    if new {
        return Ok(true);
    }
    match p.update_password.as_deref().unwrap_or("always") {
        "on_create" => return Ok(false),
        "always" => {}
        other => {
            return Err(Error::msg(format!(
                "update_password: `{other}` is not always or on_create"
            )));
        }
    }
    let out = Command::new(["getent", "shadow", p.name.as_str()]).run(&ctx.target)?;
    let text = out.stdout_text();
    let current = text.trim().split(':').nth(1).unwrap_or_default();
    Ok(current != wanted)
}

/// Sets the hash given as `password` (`chpasswd -e`, fed on stdin).
fn set_password(ctx: &Context, p: &UserParams) -> Result<(), Error> {
    let line = format!("{}:{}\n", p.name, p.password.as_deref().unwrap_or_default());
    let out = Command::new(["chpasswd", "-e"])
        .stdin(line.into_bytes())
        .run(&ctx.target)?;
    if out.success() {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "setting the password of {} failed: {}",
            p.name,
            out.stderr_text().trim()
        )))
    }
}

/// An account as the target has it.
#[derive(Debug, Clone, PartialEq)]
struct Account {
    uid: u32,
    group: String,
    groups: Vec<String>,
    home: String,
    shell: String,
    comment: String,
}

impl Account {
    fn describe(&self) -> String {
        format!(
            "uid = {}\ngroup = {}\ngroups = {}\nhome = {}\nshell = {}\ncomment = {}\n",
            self.uid,
            self.group,
            self.groups.join(","),
            self.home,
            self.shell,
            self.comment
        )
    }
}

/// Prints the passwd entry, the group names and the primary group's name.
const READ_USER: &str = r#"entry=$(getent passwd "$1") || exit 2
printf '%s\n' "$entry"
id -Gn "$1"
getent group "$(printf '%s' "$entry" | cut -d: -f4)" | cut -d: -f1"#;

fn valid_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParams(format!(
            "`{name}` is not a valid user or group name (letters, digits, '.', '_', '-')"
        )))
    }
}

fn read_user(ctx: &Context, name: &str) -> Result<Option<Account>, Error> {
    let out = Command::new(["sh", "-c", READ_USER, "capstan-user", name]).run(&ctx.target)?;
    if out.exit_code == Some(2) {
        return Ok(None);
    }
    if !out.success() {
        return Err(Error::msg(format!(
            "reading user {name} failed: {}",
            out.stderr_text().trim()
        )));
    }
    let text = out.stdout_text();
    let mut lines = text.lines();
    let entry: Vec<&str> = lines.next().unwrap_or("").split(':').collect();
    let all_groups: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(String::from)
        .collect();
    let group = lines.next().unwrap_or("").trim().to_string();
    if entry.len() < 7 {
        return Err(Error::msg(format!("unexpected passwd entry for {name}")));
    }
    Ok(Some(Account {
        uid: entry[2].parse().unwrap_or(0),
        group: if group.is_empty() {
            entry[3].to_string()
        } else {
            group.clone()
        },
        groups: all_groups.into_iter().filter(|g| *g != group).collect(),
        home: entry[5].to_string(),
        shell: entry[6].to_string(),
        comment: entry[4].to_string(),
    }))
}

/// Whether the target has a group called `name`.
fn group_exists(ctx: &Context, name: &str) -> Result<bool, Error> {
    Ok(Command::new(["getent", "group", name])
        .run(&ctx.target)?
        .success())
}

fn run(ctx: &Context, argv: &[String]) -> Result<(), Error> {
    Command::new(argv.iter().cloned()).run_checked(&ctx.target)?;
    Ok(())
}

fn state_of(state: &Option<Presence>) -> Result<bool, Error> {
    Ok(*state != Some(Presence::Absent))
}

/// The `user` action.
pub fn user(p: UserParams, ctx: &Context) -> Result<Outcome, Error> {
    let warning = p
        .password
        .as_deref()
        .filter(|pw| !looks_hashed(pw))
        .map(|_| {
            "The input password appears not to have been hashed. The 'password' argument must be \
         encrypted for this module to work properly."
        });
    let mut outcome = user_account(p, ctx)?;
    if let Some(warning) = warning {
        let data = outcome.data.get_or_insert_with(|| serde_json::json!({}));
        data["warnings"] = serde_json::json!([warning]);
    }
    Ok(outcome)
}

/// Whether a `password` looks like a crypt hash (or one of the values
/// that lock an account), as Ansible's module checks before warning.
fn looks_hashed(password: &str) -> bool {
    if ["*", "!", "*************"].contains(&password) {
        return true;
    }
    if password.contains([':', '*', '!']) || !password.contains('$') {
        return false;
    }
    let fields: Vec<&str> = password.split('$').collect();
    let [_, kind, .., hash] = fields[..] else {
        return false;
    };
    if fields.len() < 3
        || !hash
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "./=".contains(c))
    {
        return false;
    }
    match kind {
        "1" => hash.len() == 22,
        "5" | "y" => hash.len() == 43,
        "6" => hash.len() == 86,
        _ => true,
    }
}

fn user_account(mut p: UserParams, ctx: &Context) -> Result<Outcome, Error> {
    valid_name(&p.name)?;
    // `shell` and `home` are paths to Ansible: `~` and `$VAR` expanded
    // on the host.
    for path in [&mut p.shell, &mut p.home].into_iter().flatten() {
        if path.starts_with('~') || path.contains('$') {
            let expanded =
                capstan_plugin_sdk::remote::expand_vars(&ctx.target, vec![path.clone()], true)?;
            *path = expanded.into_iter().next().unwrap_or_default();
        }
    }
    let present = state_of(&p.state)?;
    let before = read_user(ctx, &p.name)?;
    let name = p.name.clone();
    let data = |state: &str, account: Option<&Account>| {
        let mut data = serde_json::json!({ "name": name, "state": state });
        if let Some(a) = account {
            data["uid"] = a.uid.into();
            data["group"] = a.group.clone().into();
            data["groups"] = a.groups.join(",").into();
            data["home"] = a.home.clone().into();
            data["shell"] = a.shell.clone().into();
            data["comment"] = a.comment.clone().into();
        }
        data
    };
    let (argv, after): (Vec<String>, Option<Account>) =
        match (&before, present) {
            (None, false) => {
                return Ok(Outcome::ok(format!("user {} is absent", p.name))
                    .with_data(data("absent", None)));
            }
            (Some(_), false) => {
                let mut argv = vec!["userdel".to_string()];
                if p.remove {
                    argv.push("-r".into());
                }
                if p.force {
                    argv.push("-f".into());
                }
                argv.push(p.name.clone());
                (argv, None)
            }
            (None, true) => {
                let mut argv = vec!["useradd".to_string()];
                if let Some(uid) = p.uid {
                    argv.extend(["-u".into(), uid.to_string()]);
                }
                match &p.group {
                    Some(group) => argv.extend(["-g".into(), group.clone()]),
                    // A group already named like the user (left by an earlier
                    // one): no group of its own, as Ansible's `-N`, instead of
                    // useradd refusing.
                    None if group_exists(ctx, &p.name)? => argv.push("-N".into()),
                    None => {}
                }
                if let Some(groups) = &p.groups
                    && !groups.is_empty()
                {
                    argv.extend(["-G".into(), groups.join(",")]);
                }
                if let Some(shell) = &p.shell {
                    argv.extend(["-s".into(), shell.clone()]);
                }
                if let Some(home) = &p.home {
                    argv.extend(["-d".into(), home.clone()]);
                }
                argv.push(
                    if p.create_home.unwrap_or(true) {
                        "-m"
                    } else {
                        "-M"
                    }
                    .into(),
                );
                if p.system {
                    argv.push("-r".into());
                }
                if let Some(comment) = &p.comment {
                    argv.extend(["-c".into(), comment.clone()]);
                }
                argv.push(p.name.clone());
                (argv, None)
            }
            (Some(current), true) => {
                let mut argv = vec!["usermod".to_string()];
                let mut wanted = current.clone();
                if let Some(uid) = p.uid
                    && uid != current.uid
                {
                    argv.extend(["-u".into(), uid.to_string()]);
                    wanted.uid = uid;
                }
                if let Some(group) = &p.group
                    && *group != current.group
                {
                    argv.extend(["-g".into(), group.clone()]);
                    wanted.group = group.clone();
                }
                if let Some(groups) = &p.groups {
                    let missing: Vec<String> = groups
                        .iter()
                        .filter(|g| !current.groups.contains(g) && **g != current.group)
                        .cloned()
                        .collect();
                    let mut wanted_groups = groups.clone();
                    wanted_groups.retain(|g| *g != current.group);
                    let mut have = current.groups.clone();
                    have.sort();
                    wanted_groups.sort();
                    wanted_groups.dedup();
                    if p.append && !missing.is_empty() {
                        argv.extend(["-a".into(), "-G".into(), missing.join(",")]);
                        wanted.groups.extend(missing);
                    } else if !p.append && have != wanted_groups {
                        argv.extend(["-G".into(), wanted_groups.join(",")]);
                        wanted.groups = wanted_groups;
                    }
                }
                if let Some(shell) = &p.shell
                    && *shell != current.shell
                {
                    argv.extend(["-s".into(), shell.clone()]);
                    wanted.shell = shell.clone();
                }
                if let Some(home) = &p.home
                    && *home != current.home
                {
                    argv.extend(["-d".into(), home.clone()]);
                    wanted.home = home.clone();
                }
                if let Some(comment) = &p.comment
                    && *comment != current.comment
                {
                    argv.extend(["-c".into(), comment.clone()]);
                    wanted.comment = comment.clone();
                }
                if argv.len() == 1 {
                    if password_differs(ctx, &p, false)? {
                        if !ctx.check {
                            set_password(ctx, &p)?;
                        }
                        let mut data = data("present", Some(current));
                        data["password"] = "NOT_LOGGING_PASSWORD".into();
                        return Ok(Outcome::changed(format!("user {}: password set", p.name))
                            .with_data(data));
                    }
                    return Ok(Outcome::ok(format!("user {} is as wanted", p.name))
                        .with_data(data("present", Some(current))));
                }
                argv.push(p.name.clone());
                (argv, Some(wanted))
            }
        };
    let new_password = present && password_differs(ctx, &p, before.is_none())?;
    if !ctx.check {
        run(ctx, &argv)?;
        if new_password {
            set_password(ctx, &p)?;
        }
    }
    let now = if ctx.check {
        after.or_else(|| before.clone())
    } else {
        read_user(ctx, &p.name)?
    };
    let verb = match (&before, present) {
        (None, _) => "created",
        (Some(_), false) => "removed",
        (Some(_), true) => "updated",
    };
    let mut outcome = Outcome::changed(format!("{verb} user {} ({})", p.name, argv.join(" ")))
        .with_data(data(
            if present { "present" } else { "absent" },
            now.as_ref().filter(|_| present),
        ));
    if ctx.diff {
        let old = before.as_ref().map(Account::describe).unwrap_or_default();
        let new = if present {
            now.as_ref().map(Account::describe).unwrap_or_default()
        } else {
            String::new()
        };
        outcome = outcome.with_diff(diff::unified(&format!("user {}", p.name), &old, &new));
    }
    Ok(outcome)
}

/// The `group` action.
pub fn group(p: GroupParams, ctx: &Context) -> Result<Outcome, Error> {
    valid_name(&p.name)?;
    if p.non_unique && p.gid.is_none() {
        return Err(Error::InvalidParams(
            "non_unique is True but all of the following are missing: gid".into(),
        ));
    }
    let present = state_of(&p.state)?;
    let out = Command::new(["getent", "group", p.name.as_str()]).run(&ctx.target)?;
    let current_gid: Option<u32> = match out.exit_code {
        Some(0) => out
            .stdout_text()
            .split(':')
            .nth(2)
            .and_then(|g| g.trim().parse().ok()),
        Some(2) => None,
        _ => {
            return Err(Error::msg(format!(
                "reading group {} failed: {}",
                p.name,
                out.stderr_text().trim()
            )));
        }
    };
    let argv: Vec<String> = match (current_gid, present) {
        (None, false) => {
            return Ok(Outcome::ok(format!("group {} is absent", p.name))
                .with_data(serde_json::json!({ "name": p.name, "state": "absent" })));
        }
        (Some(_), false) => vec!["groupdel".into(), p.name.clone()],
        (None, true) => {
            let mut argv = vec!["groupadd".to_string()];
            if let Some(gid) = p.gid {
                argv.extend(["-g".into(), gid.to_string()]);
                if p.non_unique {
                    argv.push("-o".into());
                }
            }
            if p.system {
                argv.push("-r".into());
            }
            argv.push(p.name.clone());
            argv
        }
        (Some(gid), true) => match p.gid {
            Some(wanted) if wanted != gid => {
                let mut argv = vec!["groupmod".to_string(), "-g".into(), wanted.to_string()];
                if p.non_unique {
                    argv.push("-o".into());
                }
                argv.push(p.name.clone());
                argv
            }
            _ => {
                return Ok(
                    Outcome::ok(format!("group {} is as wanted", p.name)).with_data(
                        serde_json::json!({ "name": p.name, "state": "present", "gid": gid }),
                    ),
                );
            }
        },
    };
    if !ctx.check {
        run(ctx, &argv)?;
    }
    let mut outcome = Outcome::changed(argv.join(" "))
        .with_data(serde_json::json!({ "name": p.name, "state": if present { "present" } else { "absent" }, "gid": p.gid.or(current_gid) }));
    if ctx.diff {
        let show = |gid: Option<u32>| gid.map(|g| format!("gid = {g}\n")).unwrap_or_default();
        let after = if present {
            format!("group {}\n{}", p.name, show(p.gid.or(current_gid)))
        } else {
            String::new()
        };
        let before = match current_gid {
            Some(_) => format!("group {}\n{}", p.name, show(current_gid)),
            None => String::new(),
        };
        outcome = outcome.with_diff(diff::unified(&format!("group {}", p.name), &before, &after));
    }
    Ok(outcome)
}
