//! `capstan tokens create|list|revoke`: the API tokens `capstan serve`
//! accepts. A token's secret is printed once, when it is made.

use std::time::Duration;

use clap::Subcommand;

use capstan_engine::Capstan;
use capstan_wire::tokens::Scope;

use crate::commands::plugin::JsonFlag;
use crate::exit::Exit;
use crate::output::{print_json, timestamp};

/// Token subcommands.
#[derive(Subcommand)]
pub enum TokensCommand {
    /// Make a token; its secret is printed once and never stored.
    Create {
        /// Its name: jobs it starts are recorded as launched by `token:NAME`.
        name: String,
        /// read: look only; run: also start, re-run and cancel jobs; admin:
        /// also change plugins, hosts, schedules, webhooks, secrets and tokens.
        #[arg(long, value_parser = parse_scope)]
        scope: Scope,
        /// How long it lasts: `90m`, `12h`, `30d`, `8w` (default: until revoked).
        #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
        expires: Option<Duration>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Every token, live ones first (never their secrets).
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Revoke a token: refused from its next request on.
    Revoke {
        /// The token's name.
        name: String,
    },
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    Scope::from_name(text).ok_or_else(|| format!("one of {}", Scope::names()))
}

/// `30d`, `12h`, `90m`, `45s` or `8w`.
pub fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}`: give a number and a unit, as in 90m, 12h, 30d or 8w");
    let unit = text.chars().last().ok_or_else(bad)?;
    let count: u64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| bad())?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return Err(bad()),
    };
    match count.checked_mul(seconds) {
        Some(0) | None => Err(bad()),
        Some(total) => Ok(Duration::from_secs(total)),
    }
}

/// Runs a tokens subcommand.
pub fn exec(capstan: &Capstan, command: TokensCommand) -> anyhow::Result<Exit> {
    match command {
        TokensCommand::Create {
            name,
            scope,
            expires,
            json,
        } => {
            let made = capstan.create_token(&name, scope, expires, &capstan.actor())?;
            if json.json {
                let mut value = serde_json::to_value(&made.info)?;
                value["secret"] = made.secret.into();
                print_json(&value)?;
            } else {
                println!("{}", made.secret);
                eprintln!(
                    "token `{name}` ({scope}{}): the secret above is shown once and not kept; \
                     give it to the client as `Authorization: Bearer …` or CAPSTAN_TOKEN",
                    made.info
                        .expires_at_ms
                        .map_or(String::new(), |end| format!(", until {}", timestamp(end)))
                );
            }
            Ok(Exit::Success)
        }
        TokensCommand::List { json } => {
            let tokens = capstan.tokens()?;
            if json.json {
                print_json(&tokens)?;
                return Ok(Exit::Success);
            }
            if tokens.is_empty() {
                println!("no tokens: `capstan tokens create NAME --scope read` makes one");
            }
            let now = capstan_wire::clock::now_ms();
            for t in &tokens {
                let state = match (t.revoked_at_ms, t.expires_at_ms) {
                    (Some(at), _) => format!("revoked {}", timestamp(at)),
                    (None, Some(end)) if end <= now => format!("expired {}", timestamp(end)),
                    (None, Some(end)) => format!("until {}", timestamp(end)),
                    (None, None) => "no expiry".into(),
                };
                println!(
                    "{:<16} {:<6} {}…  {:<26} used {}  by {}",
                    t.name,
                    t.scope,
                    t.prefix,
                    state,
                    t.last_used_at_ms.map_or("never".into(), timestamp),
                    t.created_by
                );
            }
            Ok(Exit::Success)
        }
        TokensCommand::Revoke { name } => {
            capstan.revoke_token(&name, &capstan.actor())?;
            println!("token `{name}` revoked");
            Ok(Exit::Success)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_have_a_number_and_a_unit() {
        assert_eq!(parse_lifetime("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_lifetime("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_lifetime("2w"), Ok(Duration::from_secs(1_209_600)));
        for bad in ["", "d", "30", "0d", "-1d", "1y", "99999999999999999999w"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
