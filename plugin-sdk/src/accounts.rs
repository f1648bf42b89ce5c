//! Users and groups as the target knows them (for `owner`/`group` params).

use crate::{Context, Error, remote};

/// The uid of a user on the target.
pub fn uid_of(ctx: &Context, user: &str) -> Result<u32, Error> {
    lookup(ctx, &["id", "-u", "--", user], "user", user)
}

/// The gid of a group on the target.
pub fn gid_of(ctx: &Context, group: &str) -> Result<u32, Error> {
    let out = remote::Command::new(["getent", "group", group]).run(&ctx.target)?;
    out.stdout_text()
        .split(':')
        .nth(2)
        .and_then(|g| g.trim().parse().ok())
        .ok_or_else(|| Error::msg(format!("group `{group}` does not exist on {}", ctx.target)))
}

fn lookup(ctx: &Context, argv: &[&str], what: &str, name: &str) -> Result<u32, Error> {
    let out = remote::Command::new(argv.iter().copied()).run(&ctx.target)?;
    out.stdout_text()
        .trim()
        .parse()
        .map_err(|_| Error::msg(format!("{what} `{name}` does not exist on {}", ctx.target)))
}
