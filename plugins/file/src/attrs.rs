//! Modes, users and groups as the target knows them.

use capstan_plugin_sdk::{Context, Error, remote};

/// Parses `"0644"`, `"644"` or `420` into permission bits.
pub fn parse_mode(value: &serde_json::Value) -> Result<u32, Error> {
    let bits = match value {
        serde_json::Value::String(text) => u32::from_str_radix(text.trim_start_matches("0o"), 8)
            .map_err(|_| {
                Error::InvalidParams(format!(
                    "mode `{text}` is not octal (symbolic modes are not supported)"
                ))
            })?,
        // YAML's 0644 without quotes arrives as the decimal 644: read its
        // digits as octal, as Ansible does.
        serde_json::Value::Number(n) => {
            let digits = n.to_string();
            u32::from_str_radix(&digits, 8)
                .map_err(|_| Error::InvalidParams(format!("mode {digits} is not octal")))?
        }
        other => {
            return Err(Error::InvalidParams(format!(
                "mode must be a string or a number, not {other}"
            )));
        }
    };
    if bits > 0o7777 {
        return Err(Error::InvalidParams(format!(
            "mode {bits:o} has bits beyond 7777"
        )));
    }
    Ok(bits)
}

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

#[cfg(test)]
mod tests {
    use super::parse_mode;
    use serde_json::json;

    #[test]
    fn modes_read_as_octal_like_ansible() {
        assert_eq!(parse_mode(&json!("0644")).unwrap(), 0o644);
        assert_eq!(parse_mode(&json!("2755")).unwrap(), 0o2755);
        assert_eq!(parse_mode(&json!(644)).unwrap(), 0o644);
        assert!(parse_mode(&json!("u=rw")).is_err());
        assert!(parse_mode(&json!("99999")).is_err());
    }
}
