//! Ansible's `user`: an account read in one command, then the commands
//! that bring it to what was asked — `useradd`/`usermod`/`userdel`, the
//! password through `chpasswd -e`, aging through `chage`, a missing home
//! made from the skeleton, an SSH key pair generated.

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome, diff};
use serde::Deserialize;

use crate::shadow::{self, Aging, Shadow};
use crate::ssh_key::{self, KeyParams};

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
    /// Allow a `uid` another account already has (`-o`).
    #[serde(default)]
    non_unique: bool,
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
    /// Create the home folder (default true): for a new account, and for
    /// one whose home is missing.
    create_home: Option<bool>,
    /// With a new `home`, move the old one's contents there.
    #[serde(default)]
    move_home: bool,
    /// The folder a new home is copied from (default `/etc/skel`).
    skeleton: Option<String>,
    /// The umask a new home is made with (`useradd -K UMASK=`).
    umask: Option<String>,
    /// A system account (new users only).
    #[serde(default)]
    system: bool,
    /// The lowest uid a new account may get.
    uid_min: Option<u32>,
    /// The highest uid a new account may get.
    uid_max: Option<u32>,
    /// The GECOS field.
    comment: Option<String>,
    /// With state=absent, remove the home folder too.
    #[serde(default)]
    remove: bool,
    /// With state=absent, remove the user even while logged in (and,
    /// with `remove`, files it does not own in its home): `userdel -f`;
    /// with `generate_ssh_key`, replace an existing key.
    #[serde(default)]
    force: bool,
    /// The password, already hashed (`{{ 'pw' | password_hash('sha512') }}`);
    /// set through `chpasswd -e` on its standard input, never shown.
    password: Option<String>,
    /// `always` (default): set the password when it differs;
    /// `on_create`: only for a new account.
    update_password: Option<String>,
    /// Lock (true) or unlock (false) the password.
    password_lock: Option<bool>,
    /// When the account expires, in seconds since 1970 (UTC); negative:
    /// never.
    expires: Option<f64>,
    /// Days before the password may change again.
    password_expire_min: Option<i64>,
    /// Days the password stays valid.
    password_expire_max: Option<i64>,
    /// Days of warning before the password expires.
    password_expire_warn: Option<i64>,
    /// Days after the password expired that the account is disabled.
    password_expire_account_disable: Option<i64>,
    /// Ansible's libuser mode (`luseradd`); Capstan does not run it.
    local: Option<bool>,
    /// Generate an SSH key pair for the account.
    #[serde(default)]
    generate_ssh_key: bool,
    /// Its file, relative to the home (default `.ssh/id_rsa`).
    ssh_key_file: Option<String>,
    /// Its type (default `rsa`).
    ssh_key_type: Option<String>,
    /// Its size in bits (default: ssh-keygen's).
    ssh_key_bits: Option<u32>,
    /// Its comment (default `ansible-generated on HOSTNAME`).
    ssh_key_comment: Option<String>,
    /// Its passphrase: handed to ssh-keygen through an askpass helper
    /// reading the plugin's standard input, never on a command line.
    ssh_key_passphrase: Option<String>,
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

/// An account as the target has it.
#[derive(Debug, Clone, PartialEq)]
struct Account {
    uid: u32,
    group: String,
    groups: Vec<String>,
    home: String,
    shell: String,
    comment: String,
    /// Whether the home folder exists.
    home_exists: bool,
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

/// Prints the passwd entry, the group names, the primary group's name (its
/// id when no group has it) and whether the home folder exists: one line
/// each, always.
const READ_USER: &str = r#"entry=$(getent passwd "$1") || exit 2
printf '%s\n' "$entry"
id -Gn "$1"
gid=$(printf '%s' "$entry" | cut -d: -f4)
group=$(getent group "$gid" | cut -d: -f1)
printf '%s\n' "${group:-$gid}"
home=$(printf '%s' "$entry" | cut -d: -f6)
if [ -e "$home" ]; then echo home; else echo nohome; fi"#;

/// Runs its arguments after making the folder given first (a new home's
/// parent, which useradd does not make).
const IN_MADE_FOLDER: &str = r#"mkdir -p -- "$1" && shift && exec "$@""#;

/// Makes a missing home as Ansible does: a copy of the skeleton (or an
/// empty folder), the mode login.defs asks for, owned by the account.
const MAKE_HOME: &str = r#"set -e
home=$1 skel=$2 user=$3
if [ -n "$skel" ] && [ "$skel" != /dev/null ] && [ -d "$skel" ]; then
  mkdir -p -- "$(dirname -- "$home")"
  cp -a -- "$skel" "$home"
else
  mkdir -p -- "$home"
fi
mode= mask=
if [ -r /etc/login.defs ]; then
  while read -r key value rest; do
    case $key in HOME_MODE) mode=$value ;; UMASK) mask=$value ;; esac
  done < /etc/login.defs
fi
[ -n "$mode" ] || mode=$(printf '%o' $(( 0777 & ~0${mask:-022} )))
chmod "$mode" "$home"
chown -R -h "$user:" "$home""#;

/// Whether `name` is a user or group name `useradd` and `groupadd` take.
pub(crate) fn valid_name(name: &str) -> Result<(), Error> {
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
    let home_exists = lines.next() == Some("home");
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
        home_exists,
    }))
}

/// Whether the target has a group called `name`.
fn group_exists(ctx: &Context, name: &str) -> Result<bool, Error> {
    Ok(Command::new(["getent", "group", name])
        .run(&ctx.target)?
        .success())
}

/// Runs `argv` on the target; its failure names the command and says why.
pub(crate) fn run(ctx: &Context, argv: &[String]) -> Result<(), Error> {
    Command::new(argv.iter().cloned()).run_checked(&ctx.target)?;
    Ok(())
}

/// Whether `state` asks for the account or group to exist.
pub(crate) fn state_of(state: &Option<Presence>) -> Result<bool, Error> {
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

/// Refuses what cannot be done before anything is read.
fn check_params(p: &UserParams) -> Result<(), Error> {
    valid_name(&p.name)?;
    if p.local == Some(true) {
        if p.umask.is_some() {
            return Err(Error::InvalidParams(
                "'umask' can not be used with 'local'".into(),
            ));
        }
        return Err(Error::InvalidParams(
            "local: true manages the account through libuser's luseradd, which Capstan's user \
             module does not run; leave `local` unset to use useradd"
                .into(),
        ));
    }
    if let Some(umask) = &p.umask
        && (umask.is_empty() || umask.len() > 4 || !umask.chars().all(|c| ('0'..='7').contains(&c)))
    {
        return Err(Error::InvalidParams(format!(
            "umask: `{umask}` is not an octal mask such as 022"
        )));
    }
    if let Some(wanted) = &p.password {
        if wanted.contains([':', '\n']) {
            return Err(Error::msg(
                "password: a hash holds no `:` and no line break",
            ));
        }
        if !matches!(
            p.update_password.as_deref(),
            None | Some("always" | "on_create")
        ) {
            return Err(Error::msg(format!(
                "update_password: `{}` is not always or on_create",
                p.update_password.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

fn user_account(mut p: UserParams, ctx: &Context) -> Result<Outcome, Error> {
    check_params(&p)?;
    // `shell`, `home` and `skeleton` are paths to Ansible: `~` and `$VAR`
    // expanded on the host.
    for path in [&mut p.shell, &mut p.home, &mut p.skeleton]
        .into_iter()
        .flatten()
    {
        if path.starts_with('~') || path.contains('$') {
            let expanded =
                capstan_plugin_sdk::remote::expand_vars(&ctx.target, vec![path.clone()], true)?;
            *path = expanded.into_iter().next().unwrap_or_default();
        }
    }
    let before = read_user(ctx, &p.name)?;
    if !state_of(&p.state)? {
        return remove_user(&p, ctx, before);
    }
    let mut done: Vec<String> = Vec::new();
    let shadow_before = match &before {
        Some(_) => shadow::read(ctx, &p.name)?,
        None => None,
    };
    let mut planned = before.clone();
    match &before {
        None => {
            let argv = useradd(ctx, &p)?;
            if !ctx.check {
                match p.home.as_deref().and_then(parent_folder) {
                    Some(parent) if p.create_home != Some(false) => {
                        let mut wrapped: Vec<String> =
                            ["sh", "-c", IN_MADE_FOLDER, "capstan-user", parent]
                                .map(String::from)
                                .into();
                        wrapped.extend(argv.iter().cloned());
                        run(ctx, &wrapped)?;
                    }
                    _ => run(ctx, &argv)?,
                }
            }
            done.push(argv.join(" "));
        }
        Some(current) => {
            let (argv, wanted) = usermod(&p, current, shadow_before.as_ref());
            if argv.len() > 1 {
                if !ctx.check {
                    run(ctx, &argv)?;
                }
                done.push(argv.join(" "));
                planned = Some(wanted);
            }
        }
    }
    if let Some(hash) = password_to_set(&p, before.is_none(), shadow_before.as_ref()) {
        if !ctx.check {
            set_password(ctx, &p.name, &hash)?;
        }
        done.push("password set".into());
    }
    let aging = Aging {
        min: p.password_expire_min,
        max: p.password_expire_max,
        warn: p.password_expire_warn,
    };
    if aging.min.is_some() || aging.max.is_some() || aging.warn.is_some() {
        let current = match (&before, &shadow_before) {
            (Some(_), Some(shadow)) => shadow.clone(),
            _ if ctx.check => Shadow::default(),
            _ => shadow::read(ctx, &p.name)?.unwrap_or_default(),
        };
        let flags = shadow::aging_flags(aging, &current);
        if !flags.is_empty() {
            let mut argv = vec!["chage".to_string()];
            argv.extend(flags);
            argv.push(p.name.clone());
            if !ctx.check {
                run(ctx, &argv)?;
            }
            done.push(argv.join(" "));
        }
    }
    let mut now = if ctx.check {
        planned
    } else {
        read_user(ctx, &p.name)?
    };
    // A home that is missing (an account made without one) is made now,
    // as Ansible's module does on every run.
    if let Some(account) = now.as_mut()
        && !account.home_exists
        && p.create_home != Some(false)
        && before.is_some()
    {
        if !ctx.check {
            let skeleton = p.skeleton.clone().unwrap_or_else(|| "/etc/skel".into());
            run(
                ctx,
                &[
                    "sh",
                    "-c",
                    MAKE_HOME,
                    "capstan-user",
                    &account.home,
                    &skeleton,
                    &p.name,
                ]
                .map(String::from),
            )?;
        }
        account.home_exists = true;
        done.push(format!("home {} made", account.home));
    }
    let mut data = account_data(&p.name, "present", now.as_ref());
    if p.generate_ssh_key
        && let Some(account) = &now
    {
        let key = ssh_key::generate(
            ctx,
            &KeyParams {
                user: &p.name,
                home: &account.home,
                file: p.ssh_key_file.as_deref(),
                kind: p.ssh_key_type.as_deref(),
                bits: p.ssh_key_bits,
                comment: p.ssh_key_comment.as_deref(),
                passphrase: p.ssh_key_passphrase.as_deref(),
                force: p.force,
            },
        )?;
        if key.changed {
            done.push(format!("SSH key {} generated", key.file));
        }
        key.add_to(&mut data);
    }
    if done.is_empty() {
        return Ok(Outcome::ok(format!("user {} is as wanted", p.name)).with_data(data));
    }
    if done.iter().any(|d| d == "password set") {
        data["password"] = "NOT_LOGGING_PASSWORD".into();
    }
    let verb = if before.is_none() {
        "created"
    } else {
        "updated"
    };
    let mut outcome =
        Outcome::changed(format!("{verb} user {} ({})", p.name, done.join("; "))).with_data(data);
    if ctx.diff {
        let old = before.as_ref().map(Account::describe).unwrap_or_default();
        let new = now.as_ref().map(Account::describe).unwrap_or_default();
        outcome = outcome.with_diff(diff::unified(&format!("user {}", p.name), &old, &new));
    }
    Ok(outcome)
}

/// `state: absent`: `userdel` when the account exists.
fn remove_user(p: &UserParams, ctx: &Context, before: Option<Account>) -> Result<Outcome, Error> {
    let Some(before) = before else {
        return Ok(Outcome::ok(format!("user {} is absent", p.name))
            .with_data(account_data(&p.name, "absent", None)));
    };
    let mut argv = vec!["userdel".to_string()];
    if p.remove {
        argv.push("-r".into());
    }
    if p.force {
        argv.push("-f".into());
    }
    argv.push(p.name.clone());
    if !ctx.check {
        run(ctx, &argv)?;
    }
    let mut outcome = Outcome::changed(format!("removed user {} ({})", p.name, argv.join(" ")))
        .with_data(account_data(&p.name, "absent", None));
    if ctx.diff {
        outcome = outcome.with_diff(diff::unified(
            &format!("user {}", p.name),
            &before.describe(),
            "",
        ));
    }
    Ok(outcome)
}

/// The result's fields for an account (Ansible's keys).
fn account_data(name: &str, state: &str, account: Option<&Account>) -> serde_json::Value {
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
}

/// The folder holding `home`, when it is not the root.
fn parent_folder(home: &str) -> Option<&str> {
    let parent = home.trim_end_matches('/').rsplit_once('/')?.0;
    (!parent.is_empty()).then_some(parent)
}

/// The `useradd` command line for a new account.
fn useradd(ctx: &Context, p: &UserParams) -> Result<Vec<String>, Error> {
    let mut argv = vec!["useradd".to_string()];
    if let Some(uid) = p.uid {
        argv.extend(["-u".into(), uid.to_string()]);
        if p.non_unique {
            argv.push("-o".into());
        }
    }
    match &p.group {
        Some(group) => argv.extend(["-g".into(), group.clone()]),
        // A group already named like the user (left by an earlier one): no
        // group of its own, as Ansible's `-N`, instead of useradd refusing.
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
    if let Some(expires) = p.expires {
        argv.extend(["-e".into(), shadow::expiry_date(expires)]);
    }
    if let Some(days) = p.password_expire_account_disable {
        argv.extend(["-f".into(), days.to_string()]);
    }
    if p.create_home.unwrap_or(true) {
        argv.push("-m".into());
        if let Some(skeleton) = &p.skeleton {
            argv.extend(["-k".into(), skeleton.clone()]);
        }
        if let Some(umask) = &p.umask {
            argv.extend(["-K".into(), format!("UMASK={umask}")]);
        }
    } else {
        argv.push("-M".into());
    }
    if p.system {
        argv.push("-r".into());
    }
    if let Some(min) = p.uid_min {
        argv.extend(["-K".into(), format!("UID_MIN={min}")]);
    }
    if let Some(max) = p.uid_max {
        argv.extend(["-K".into(), format!("UID_MAX={max}")]);
    }
    if let Some(comment) = &p.comment {
        argv.extend(["-c".into(), comment.clone()]);
    }
    argv.push(p.name.clone());
    Ok(argv)
}

/// The `usermod` command line for what differs (just `usermod` when
/// nothing does), and the account as it will be.
fn usermod(p: &UserParams, current: &Account, shadow: Option<&Shadow>) -> (Vec<String>, Account) {
    let mut argv = vec!["usermod".to_string()];
    let mut wanted = current.clone();
    if let Some(uid) = p.uid
        && uid != current.uid
    {
        argv.extend(["-u".into(), uid.to_string()]);
        if p.non_unique {
            argv.push("-o".into());
        }
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
        if p.move_home {
            argv.push("-m".into());
        }
        wanted.home = home.clone();
    }
    if let Some(comment) = &p.comment
        && *comment != current.comment
    {
        argv.extend(["-c".into(), comment.clone()]);
        wanted.comment = comment.clone();
    }
    if let Some(expires) = p.expires {
        argv.extend(shadow::expiry_flags(expires, shadow));
    }
    if let Some(days) = p.password_expire_account_disable
        && shadow.is_none_or(|s| s.inactive != Some(days))
    {
        argv.extend(["-f".into(), days.to_string()]);
    }
    // A password being set carries its own lock; otherwise the lock alone.
    let password_set = password_to_set(p, false, shadow).is_some();
    let locked = shadow.is_some_and(Shadow::locked);
    match p.password_lock {
        Some(true) if !locked && !password_set => argv.push("-L".into()),
        Some(false) if locked && !password_set => argv.push("-U".into()),
        _ => {}
    }
    if argv.len() > 1 {
        argv.push(p.name.clone());
    }
    (argv, wanted)
}

/// The hash to set, when one is given and the account is new or (with
/// `update_password: always`) its hash differs — compared without the
/// lock's `!`, which `password_lock` puts in front.
fn password_to_set(p: &UserParams, new: bool, shadow: Option<&Shadow>) -> Option<String> {
    let wanted = p.password.as_deref()?.trim_start_matches('!');
    let hash = if p.password_lock == Some(true) {
        format!("!{wanted}")
    } else {
        wanted.to_string()
    };
    if new {
        return Some(hash);
    }
    if p.update_password.as_deref() == Some("on_create") {
        return None;
    }
    let current = shadow.map(|s| s.hash.as_str()).unwrap_or_default();
    if current.trim_start_matches('!') != wanted {
        return Some(hash);
    }
    // The same hash: only its lock may change, done by `usermod -L/-U`.
    None
}

/// Sets `hash` as the account's password (`chpasswd -e`, fed on stdin).
fn set_password(ctx: &Context, name: &str, hash: &str) -> Result<(), Error> {
    let line = format!("{name}:{hash}\n");
    let out = Command::new(["chpasswd", "-e"])
        .stdin(line.into_bytes())
        .run(&ctx.target)?;
    if out.success() {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "setting the password of {name} failed: {}",
            out.stderr_text().trim()
        )))
    }
}
