//! `capstan notifications`: channels (where messages go), rules (which job
//! ends send one) and the deliveries with every attempt. `capstan serve`
//! sends them, for jobs of any process:
//!
//! ```text
//! capstan secrets set slack_url
//! capstan notifications channel-add ops --kind slack --url-secret slack_url
//! capstan notifications rule-add nightly-failed --on failed --channel ops --schedule nightly
//! capstan notifications deliveries
//! ```

use clap::{Args, Subcommand};

use capstan_engine::Capstan;
use capstan_wire::notifications::{
    Channel, ChannelKind, ChannelSpec, NotificationDelivery, NotifyOn, Rule, RuleSpec,
    SmtpSecurity, SmtpSettings,
};

use crate::commands::plugin::JsonFlag;
use crate::exit::Exit;
use crate::output::{print_json, timestamp};

/// Notification subcommands.
#[derive(Subcommand)]
pub enum NotificationsCommand {
    /// Add a channel: a Slack-compatible webhook, a signed generic webhook,
    /// e-mail, or the desktop.
    ChannelAdd(ChannelArgs),
    /// Every channel.
    Channels {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Remove a channel no rule sends to.
    ChannelRemove {
        /// Its name.
        name: String,
    },
    /// Add a rule: which job ends notify which channel.
    RuleAdd(RuleArgs),
    /// Every rule.
    Rules {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Remove a rule (what it sent stays in the record).
    RuleRemove {
        /// Its name.
        name: String,
    },
    /// Configure the SMTP server e-mail channels send through.
    SmtpSet(SmtpArgs),
    /// The SMTP server configured.
    SmtpShow {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// The newest deliveries, with every attempt.
    Deliveries {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// Arguments of `capstan notifications channel-add`.
#[derive(Args)]
pub struct ChannelArgs {
    /// Its name.
    name: String,
    /// slack (an incoming webhook URL kept in a secret), webhook (a URL,
    /// sent the event as JSON, signed when --signing-secret is given),
    /// email (--to, through the SMTP server) or desktop (a notification on
    /// the session bus of the user the sending Capstan runs as).
    #[arg(long, value_parser = parse_kind)]
    kind: ChannelKind,
    /// The webhook channel's URL.
    #[arg(long)]
    url: Option<String>,
    /// The secret holding a Slack channel's URL (`capstan secrets set`).
    #[arg(long, value_name = "SECRET")]
    url_secret: Option<String>,
    /// The secret holding the key a webhook channel signs with
    /// (X-Capstan-Signature-256: sha256=HMAC of the body).
    #[arg(long, value_name = "SECRET")]
    signing_secret: Option<String>,
    /// An e-mail channel's recipient (repeat for more).
    #[arg(long, value_name = "ADDRESS")]
    to: Vec<String>,
}

/// Arguments of `capstan notifications smtp-set`.
#[derive(Args)]
pub struct SmtpArgs {
    /// The server's host name or address.
    #[arg(long)]
    host: String,
    /// Its port.
    #[arg(long, default_value_t = 587)]
    port: u16,
    /// starttls (STARTTLS when offered), required (STARTTLS or refuse) or
    /// tls (TLS from the start, port 465).
    #[arg(long, default_value = "starttls", value_parser = parse_security)]
    security: SmtpSecurity,
    /// The sender address.
    #[arg(long)]
    from: String,
    /// The user to log in as.
    #[arg(long, requires = "password_secret")]
    user: Option<String>,
    /// The secret holding that user's password (`capstan secrets set`).
    #[arg(long, value_name = "SECRET", requires = "user")]
    password_secret: Option<String>,
    /// A PEM file of certificates to trust besides the system's.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<String>,
}

impl SmtpArgs {
    /// The settings these arguments describe.
    pub fn into_settings(self) -> SmtpSettings {
        SmtpSettings {
            host: self.host,
            port: self.port,
            security: self.security,
            from: self.from,
            user: self.user,
            password_secret: self.password_secret,
            ca_cert: self.ca_cert,
        }
    }
}

fn parse_security(text: &str) -> Result<SmtpSecurity, String> {
    text.parse()
}

impl ChannelArgs {
    /// The channel these arguments describe.
    pub fn into_spec(self) -> ChannelSpec {
        ChannelSpec {
            name: self.name,
            kind: self.kind,
            url: self.url,
            url_secret: self.url_secret,
            signing_secret: self.signing_secret,
            to: self.to,
        }
    }
}

/// Arguments of `capstan notifications rule-add`.
#[derive(Args)]
pub struct RuleArgs {
    /// Its name.
    name: String,
    /// finished (every end), failed or changed.
    #[arg(long, value_parser = parse_on)]
    on: NotifyOn,
    /// The channel to send to.
    #[arg(long)]
    channel: String,
    /// Only jobs of this plugin's actions.
    #[arg(long)]
    plugin: Option<String>,
    /// Only runs of this playbook (its path as run, or its file name).
    #[arg(long)]
    playbook: Option<String>,
    /// Only jobs this schedule fired.
    #[arg(long)]
    schedule: Option<String>,
    /// Only jobs that ran on a host of this inventory group.
    #[arg(long)]
    group: Option<String>,
}

impl RuleArgs {
    /// The rule these arguments describe.
    pub fn into_spec(self) -> RuleSpec {
        RuleSpec {
            name: self.name,
            on: self.on,
            channel: self.channel,
            plugin: self.plugin,
            playbook: self.playbook,
            schedule: self.schedule,
            group: self.group,
        }
    }
}

fn parse_kind(text: &str) -> Result<ChannelKind, String> {
    text.parse()
}

fn parse_on(text: &str) -> Result<NotifyOn, String> {
    text.parse()
}

/// Runs a notifications subcommand on this machine's store.
pub async fn exec(capstan: &Capstan, command: NotificationsCommand) -> anyhow::Result<Exit> {
    let me = capstan.actor();
    match command {
        NotificationsCommand::ChannelAdd(args) => {
            let channel = capstan.add_channel(args.into_spec(), &me).await?;
            println!(
                "channel {} added: {} to {} (the notify plugin may now reach it)",
                channel.spec.name, channel.spec.kind, channel.host
            );
            Ok(Exit::Success)
        }
        NotificationsCommand::Channels { json } => print_channels(&capstan.channels()?, json.json),
        NotificationsCommand::ChannelRemove { name } => {
            capstan.remove_channel(&name, &me).await?;
            println!("channel {name} removed");
            Ok(Exit::Success)
        }
        NotificationsCommand::RuleAdd(args) => {
            let rule = capstan.add_rule(args.into_spec(), &me)?;
            println!(
                "rule {} added: {}",
                rule.spec.name,
                describe_rule(&rule.spec)
            );
            eprintln!("(`capstan serve` sends notifications: it must run)");
            Ok(Exit::Success)
        }
        NotificationsCommand::Rules { json } => print_rules(&capstan.rules()?, json.json),
        NotificationsCommand::RuleRemove { name } => {
            capstan.remove_rule(&name, &me)?;
            println!("rule {name} removed");
            Ok(Exit::Success)
        }
        NotificationsCommand::SmtpSet(args) => {
            let settings = args.into_settings();
            capstan.set_smtp(settings.clone(), &me)?;
            println!("SMTP server set: {}", describe_smtp(&settings));
            Ok(Exit::Success)
        }
        NotificationsCommand::SmtpShow { json } => print_smtp(capstan.smtp()?.as_ref(), json.json),
        NotificationsCommand::Deliveries { limit, json } => {
            print_deliveries(&capstan.notification_deliveries(limit)?, json.json)
        }
    }
}

/// The SMTP server in words (never its password).
pub fn describe_smtp(smtp: &SmtpSettings) -> String {
    format!(
        "{}:{} ({}), from {}{}",
        smtp.host,
        smtp.port,
        smtp.security,
        smtp.from,
        smtp.user
            .as_ref()
            .map(|u| format!(", as {u}"))
            .unwrap_or_default()
    )
}

/// Prints the SMTP server (or as JSON).
pub fn print_smtp(smtp: Option<&SmtpSettings>, json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(&smtp)?;
        return Ok(Exit::Success);
    }
    match smtp {
        Some(smtp) => println!("{}", describe_smtp(smtp)),
        None => {
            println!("no SMTP server: `capstan notifications smtp-set --host HOST --from ADDRESS`")
        }
    }
    Ok(Exit::Success)
}

/// A rule in words: `on failed of plugin apt, to ops`.
pub fn describe_rule(rule: &RuleSpec) -> String {
    let mut filters = Vec::new();
    for (what, value) in [
        ("plugin", &rule.plugin),
        ("playbook", &rule.playbook),
        ("schedule", &rule.schedule),
        ("group", &rule.group),
    ] {
        if let Some(value) = value {
            filters.push(format!("{what} {value}"));
        }
    }
    let filters = if filters.is_empty() {
        "any job".to_string()
    } else {
        filters.join(", ")
    };
    format!("on {} of {filters}, to {}", rule.on, rule.channel)
}

/// Prints channels, one per line (or as JSON).
pub fn print_channels(channels: &[Channel], json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(&channels)?;
        return Ok(Exit::Success);
    }
    if channels.is_empty() {
        println!(
            "no channels: `capstan notifications channel-add NAME --kind slack --url-secret SECRET` adds one"
        );
    }
    for channel in channels {
        println!(
            "{:<16} {:<8} {:<32} added {} by {}",
            channel.spec.name,
            channel.spec.kind.name(),
            channel.host,
            timestamp(channel.created_at_ms),
            channel.created_by
        );
    }
    Ok(Exit::Success)
}

/// Prints rules, one per line (or as JSON).
pub fn print_rules(rules: &[Rule], json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(&rules)?;
        return Ok(Exit::Success);
    }
    if rules.is_empty() {
        println!(
            "no rules: `capstan notifications rule-add NAME --on failed --channel CHANNEL` adds one"
        );
    }
    for rule in rules {
        println!("{:<20} {}", rule.spec.name, describe_rule(&rule.spec));
    }
    Ok(Exit::Success)
}

/// Prints deliveries with their attempts (or as JSON).
pub fn print_deliveries(deliveries: &[NotificationDelivery], json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(&deliveries)?;
        return Ok(Exit::Success);
    }
    if deliveries.is_empty() {
        println!("no deliveries yet");
    }
    for d in deliveries {
        println!(
            "#{:<5} job {:<6} rule {:<16} to {:<12} {:<8} attempts {}{}",
            d.id,
            d.job_id,
            d.rule,
            d.channel,
            d.state.name(),
            d.attempts,
            d.next_attempt_ms
                .map(|at| format!(", next {}", timestamp(at)))
                .unwrap_or_default()
        );
        for attempt in &d.history {
            println!(
                "        {} {} {}",
                timestamp(attempt.at_ms),
                if attempt.ok { "ok    " } else { "failed" },
                attempt.detail
            );
        }
    }
    Ok(Exit::Success)
}
