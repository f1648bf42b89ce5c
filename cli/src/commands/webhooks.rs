//! `capstan webhooks add|list|remove`: deliveries to
//! `POST /api/v1/hooks/NAME` on `capstan serve` that start a job. What a
//! hook runs is written after `--`, as for a schedule:
//!
//! ```text
//! capstan secrets set deploy_key
//! capstan webhooks add deploy --secret deploy_key -- playbook run /srv/ops/deploy.yml
//! ```

use clap::{Args, Subcommand};

use capstan_engine::Capstan;
use capstan_wire::webhooks::{Hook, HookAuth, HookSpec};

use crate::commands::plugin::JsonFlag;
use crate::commands::schedules::stored_job;
use crate::exit::Exit;
use crate::output::{print_json, timestamp};

/// Webhook subcommands.
#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Add a webhook; what it runs follows `--`.
    Add(AddArgs),
    /// Every webhook, with its deliveries counted.
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Remove a webhook (its jobs stay in the history).
    Remove {
        /// Its name.
        name: String,
    },
}

/// Arguments of `capstan webhooks add`.
#[derive(Args)]
pub struct AddArgs {
    /// Its name: deliveries go to /api/v1/hooks/NAME; its jobs are
    /// launched by `webhook:NAME`.
    name: String,
    /// The secrets store's entry holding its key (hmac) or token.
    #[arg(long, value_name = "SECRET")]
    secret: String,
    /// hmac: GitHub's and Gitea's X-Hub-Signature-256; token:
    /// X-Capstan-Token with X-Capstan-Timestamp within 5 minutes.
    #[arg(long, default_value = "hmac", value_parser = parse_auth)]
    auth: HookAuth,
    /// What it runs: `run PLUGIN ACTION …` or `playbook run FILE …` (the
    /// playbook gets the delivery as `webhook`).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

fn parse_auth(text: &str) -> Result<HookAuth, String> {
    HookAuth::from_name(text).ok_or_else(|| format!("one of {}", HookAuth::names()))
}

impl AddArgs {
    /// The webhook these arguments describe.
    pub fn into_spec(self) -> anyhow::Result<HookSpec> {
        Ok(HookSpec {
            job: stored_job(&self.command)?,
            name: self.name,
            auth: self.auth,
            secret: self.secret,
        })
    }
}

/// Runs a webhooks subcommand on this machine's store.
pub async fn exec(capstan: &Capstan, command: WebhooksCommand) -> anyhow::Result<Exit> {
    let me = capstan.actor();
    match command {
        WebhooksCommand::Add(args) => {
            let hook = capstan.add_webhook(args.into_spec()?, &me).await?;
            print_added(&hook);
            Ok(Exit::Success)
        }
        WebhooksCommand::List { json } => print_list(&capstan.webhooks()?, json.json),
        WebhooksCommand::Remove { name } => {
            capstan.remove_webhook(&name, &me)?;
            println!("webhook {name} removed (its jobs stay in the history)");
            Ok(Exit::Success)
        }
    }
}

/// Says a webhook was added, and where deliveries go.
pub fn print_added(hook: &Hook) {
    println!(
        "webhook {} added: {}; deliveries to POST /api/v1/hooks/{} ({})",
        hook.spec.name,
        hook.spec.job.describe(),
        hook.spec.name,
        hook.spec.auth
    );
    eprintln!("(`capstan serve` takes deliveries: it must run, and be reachable by the sender)");
}

/// Prints webhooks, one per line (or as JSON).
pub fn print_list(hooks: &[Hook], json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(&hooks)?;
        return Ok(Exit::Success);
    }
    if hooks.is_empty() {
        println!("no webhooks: `capstan webhooks add NAME --secret SECRET -- run …` adds one");
    }
    for hook in hooks {
        println!(
            "{:<16} {:<6} secret {:<16} deliveries {:<4} last {:<20} {}",
            hook.spec.name,
            hook.spec.auth.name(),
            hook.spec.secret,
            hook.deliveries,
            hook.last_delivery_ms
                .map_or_else(|| "-".to_string(), timestamp),
            hook.spec.job.describe()
        );
    }
    Ok(Exit::Success)
}
