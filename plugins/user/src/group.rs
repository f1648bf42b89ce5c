//! Ansible's `group`: a group made present (with its gid) or absent with
//! `groupadd`/`groupmod`/`groupdel`.

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome, diff};
use serde::Deserialize;

use crate::account::{Presence, run, state_of, valid_name};

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
    let mut gid = p.gid.or(current_gid);
    if !ctx.check {
        run(ctx, &argv)?;
        // A group just made takes the gid the host gave it, as Ansible
        // reports it.
        if present && gid.is_none() {
            gid = capstan_plugin_sdk::accounts::gid_of(ctx, &p.name).ok();
        }
    }
    let mut outcome = Outcome::changed(argv.join(" ")).with_data(serde_json::json!({
        "name": p.name,
        "state": if present { "present" } else { "absent" },
        "gid": gid,
    }));
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
