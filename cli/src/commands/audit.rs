//! `capstan audit`: who installed, replaced, removed, granted or revoked
//! which plugin, who made or revoked which token, and when.

use clap::Args;

use capstan_engine::Capstan;

use crate::exit::Exit;
use crate::output::{print_json, timestamp};

/// Arguments of `audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// How many entries, newest first.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Prints the audit log.
pub fn exec(capstan: &Capstan, args: AuditArgs) -> anyhow::Result<Exit> {
    let entries = capstan.audit_log(args.limit)?;
    if args.json {
        print_json(&entries)?;
        return Ok(Exit::Success);
    }
    if entries.is_empty() {
        println!("nothing changed yet");
    }
    for e in &entries {
        println!(
            "{}  {:<10} {:<8} {:<12} {}",
            timestamp(e.at_ms),
            e.actor,
            e.action,
            e.plugin.as_deref().unwrap_or(&e.subject),
            e.detail
        );
    }
    Ok(Exit::Success)
}
