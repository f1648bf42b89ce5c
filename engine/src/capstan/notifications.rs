//! Notifications: channels, rules, and deliveries with retries.
//!
//! A channel is sent through the bundled `notify` plugin (contract 0.2),
//! which holds the `http` grant for exactly the hosts of the channels there
//! are: adding a channel grants its URL's host, removing the last channel
//! on a host revokes it. When a job ends, each rule whose filters match
//! queues one delivery (one per rule and job, however often the end is
//! seen). [`Capstan::send_due_notifications`] makes the attempts that are
//! due; a failed one is tried again after 2 s, 4 s, 8 s, then 16 s, and
//! every attempt is recorded with what the channel said.
//!
//! The plugin is called directly, not as a job: a notification never
//! starts a job, so it can never notify about itself.
//!
//! Any number of processes may send: each claims a delivery in the store
//! before its attempt, so two services, or the window beside the service,
//! never make the same attempt twice. The window shows the desktop ones
//! ([`Capstan::send_due_desktop_notifications`]) while it runs; the
//! service sends them only when no window has been seen for a while.

use capstan_plugin_host::capability::http::grant_for_url;
use capstan_plugin_host::capability::{Grant, HttpHost};
use capstan_plugin_host::plugin::CallContext;
use capstan_store::{AttemptOutcome, DueChannels};
use capstan_wire::Actor;
use capstan_wire::clock::now_ms;
use capstan_wire::jobs::JobRecord;
use capstan_wire::notifications::{
    Channel, ChannelKind, ChannelSpec, NotificationDelivery, NotifyOn, Rule, RuleSpec, SmtpSettings,
};
use capstan_wire::status::ResultStatus;
use ring::hmac;
use serde_json::{Value, json};

use super::Capstan;
use super::schedules::check_name;
use crate::{Error, Result};

/// Attempts per delivery, the first included.
pub const NOTIFY_ATTEMPTS: u32 = 5;
/// The delay before the second attempt; it doubles after each.
pub const FIRST_RETRY_MS: i64 = 2_000;
/// The plugin that sends the HTTP channels.
const NOTIFY_PLUGIN: &str = "notify";
/// Deliveries attempted per call of [`Capstan::send_due_notifications`].
const BATCH: usize = 50;
/// How long a sender holds a delivery it claimed before another may
/// attempt it (longer than any one attempt takes).
const CLAIM_LEASE_MS: i64 = 120_000;
/// The settings key the window refreshes while it shows desktop
/// notifications.
const WINDOW_SEEN: &str = "desktop.window_seen";
/// How long after the window's last sign of life the service leaves
/// desktop deliveries to it.
pub const WINDOW_FRESH_MS: i64 = 15_000;
/// The settings key of the SMTP server.
const SMTP_SETTING: &str = "smtp";
/// Where a desktop channel sends, as listed.
const DESKTOP_PLACE: &str = "session bus";

impl Capstan {
    /// Adds a channel: checks its fields and secrets, and grants the
    /// `notify` plugin its URL's host.
    pub async fn add_channel(&self, spec: ChannelSpec, by: &Actor) -> Result<Channel> {
        check_name(&spec.name)?;
        match spec.kind {
            ChannelKind::Email => return self.add_email_channel(spec, by),
            ChannelKind::Desktop => return self.add_desktop_channel(spec, by),
            ChannelKind::Slack | ChannelKind::Webhook => {}
        }
        if !spec.to.is_empty() {
            return Err(Error::BadInput(
                "to: only an e-mail channel has recipients".into(),
            ));
        }
        let url = self.channel_url(&spec)?;
        if let Some(secret) = &spec.signing_secret {
            if spec.kind != ChannelKind::Webhook {
                return Err(Error::BadInput(
                    "signing_secret: only a webhook channel signs what it sends".into(),
                ));
            }
            self.secret_value(secret)?;
        }
        let host = grant_for_url(&url).map_err(|why| {
            Error::BadInput(format!("channel `{}`: {}", spec.name, mask(&why, &url)))
        })?;
        self.save_new_channel(&spec, &host.to_string(), by)?;
        self.grant_as(NOTIFY_PLUGIN, Grant::Http(host.clone()), by)
            .await?;
        self.audit_as(
            by,
            "add",
            &format!("channel:{}", spec.name),
            &format!("{} to {host}", spec.kind),
        )?;
        self.channel(&spec.name)
    }

    /// Stores a new channel sending to `place`; a name taken is refused.
    fn save_new_channel(&self, spec: &ChannelSpec, place: &str, by: &Actor) -> Result<()> {
        if self.store.add_channel(spec, place, by, now_ms())? {
            return Ok(());
        }
        Err(Error::BadInput(format!(
            "a channel named `{}` exists: remove it first, or pick another name",
            spec.name
        )))
    }

    /// A desktop channel: nothing to give it but a name.
    fn add_desktop_channel(&self, spec: ChannelSpec, by: &Actor) -> Result<Channel> {
        if spec.url.is_some()
            || spec.url_secret.is_some()
            || spec.signing_secret.is_some()
            || !spec.to.is_empty()
        {
            return Err(Error::BadInput(
                "a desktop channel takes no URL, secret or recipient: it shows the notification \
                 on the desktop of the user Capstan runs as"
                    .into(),
            ));
        }
        self.save_new_channel(&spec, DESKTOP_PLACE, by)?;
        self.audit_as(by, "add", &format!("channel:{}", spec.name), "desktop")?;
        self.channel(&spec.name)
    }

    /// An e-mail channel: recipients checked, the SMTP server configured.
    fn add_email_channel(&self, spec: ChannelSpec, by: &Actor) -> Result<Channel> {
        if spec.url.is_some() || spec.url_secret.is_some() || spec.signing_secret.is_some() {
            return Err(Error::BadInput(
                "an e-mail channel takes recipients (to), not a URL or a signing secret".into(),
            ));
        }
        if spec.to.is_empty() {
            return Err(Error::BadInput(
                "to: an e-mail channel needs a recipient".into(),
            ));
        }
        for address in &spec.to {
            crate::smtp::check_address(address).map_err(Error::BadInput)?;
        }
        let smtp = self.smtp()?.ok_or_else(|| {
            Error::BadInput(
                "no SMTP server is configured: `capstan notifications smtp-set --host HOST --from ADDRESS` first"
                    .into(),
            )
        })?;
        let place = format!("smtp {}:{}", smtp.host, smtp.port);
        self.save_new_channel(&spec, &place, by)?;
        self.audit_as(
            by,
            "add",
            &format!("channel:{}", spec.name),
            &format!("email to {}", spec.to.join(", ")),
        )?;
        self.channel(&spec.name)
    }

    /// Configures the SMTP server e-mail channels send through.
    pub fn set_smtp(&self, settings: SmtpSettings, by: &Actor) -> Result<()> {
        crate::smtp::check_address(&settings.from).map_err(Error::BadInput)?;
        if settings.host.trim().is_empty() || settings.port == 0 {
            return Err(Error::BadInput(
                "host and port: where the SMTP server listens".into(),
            ));
        }
        match (&settings.user, &settings.password_secret) {
            (Some(_), Some(secret)) => {
                self.secret_value(secret)?;
            }
            (None, None) => {}
            _ => {
                return Err(Error::BadInput(
                    "user and password_secret go together".into(),
                ));
            }
        }
        if let Some(path) = &settings.ca_cert
            && !std::path::Path::new(path).is_file()
        {
            return Err(Error::BadInput(format!("ca_cert: no file {path}")));
        }
        let json = serde_json::to_string(&settings).unwrap_or_default();
        self.store.set_setting(SMTP_SETTING, &json, by, now_ms())?;
        self.audit_as(
            by,
            "set",
            "setting:smtp",
            &format!(
                "{}:{} ({})",
                settings.host, settings.port, settings.security
            ),
        )
    }

    /// The SMTP server, once configured.
    pub fn smtp(&self) -> Result<Option<SmtpSettings>> {
        Ok(self
            .store
            .setting(SMTP_SETTING)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Every channel, by name.
    pub fn channels(&self) -> Result<Vec<Channel>> {
        Ok(self.store.channels()?)
    }

    /// The channel called `name`.
    pub fn channel(&self, name: &str) -> Result<Channel> {
        self.store.channel(name)?.ok_or_else(|| no_channel(name))
    }

    /// Removes a channel no rule sends to, and takes its host from the
    /// `notify` plugin unless another channel still uses it.
    pub async fn remove_channel(&self, name: &str, by: &Actor) -> Result<()> {
        let channel = self.channel(name)?;
        let users: Vec<String> = self
            .rules()?
            .into_iter()
            .filter(|r| r.spec.channel == name)
            .map(|r| r.spec.name)
            .collect();
        if !users.is_empty() {
            return Err(Error::BadInput(format!(
                "channel `{name}` is used by rule(s) {}: remove them first",
                users.join(", ")
            )));
        }
        self.store.remove_channel(name)?;
        let still_used = self.channels()?.iter().any(|c| c.host == channel.host);
        if channel.spec.kind != ChannelKind::Email
            && !still_used
            && let Ok(host) = channel.host.parse::<HttpHost>()
        {
            self.revoke_as(NOTIFY_PLUGIN, Grant::Http(host), by).await?;
        }
        self.audit_as(by, "remove", &format!("channel:{name}"), "")
    }

    /// Adds a rule sending to an existing channel.
    pub fn add_rule(&self, spec: RuleSpec, by: &Actor) -> Result<Rule> {
        check_name(&spec.name)?;
        self.channel(&spec.channel)?;
        if !self.store.add_rule(&spec, by, now_ms())? {
            return Err(Error::BadInput(format!(
                "a rule named `{}` exists: remove it first, or pick another name",
                spec.name
            )));
        }
        self.audit_as(
            by,
            "add",
            &format!("rule:{}", spec.name),
            &format!("on {} to {}", spec.on, spec.channel),
        )?;
        self.rules()?
            .into_iter()
            .find(|r| r.spec.name == spec.name)
            .ok_or_else(|| Error::NotFound(format!("rule `{}` vanished", spec.name)))
    }

    /// Every rule, by name.
    pub fn rules(&self) -> Result<Vec<Rule>> {
        Ok(self.store.rules()?)
    }

    /// Removes a rule (what it sent stays in the record).
    pub fn remove_rule(&self, name: &str, by: &Actor) -> Result<()> {
        if !self.store.remove_rule(name)? {
            return Err(Error::NotFound(format!(
                "no rule `{name}` (see `capstan notifications rules`)"
            )));
        }
        self.audit_as(by, "remove", &format!("rule:{name}"), "")
    }

    /// The newest deliveries, each with its attempts.
    pub fn notification_deliveries(&self, limit: usize) -> Result<Vec<NotificationDelivery>> {
        Ok(self.store.deliveries(limit)?)
    }

    /// Queues a delivery for every rule that matches `job`'s end; returns
    /// how many were queued (none twice for one rule and job).
    pub fn queue_notifications(&self, job: &JobRecord) -> Result<usize> {
        let mut queued = 0;
        for rule in self.rules()? {
            if self.rule_matches(&rule.spec, job)?
                && self
                    .store
                    .queue_delivery(&rule.spec.name, &rule.spec.channel, job.id, now_ms())?
                    .is_some()
            {
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// The service's sender: makes every attempt due at `now_ms`, but
    /// leaves desktop ones to a window that showed signs of life in the
    /// last [`WINDOW_FRESH_MS`] (the service may run where no desktop is);
    /// returns how many were made.
    pub async fn send_due_notifications(&self, now_ms: i64) -> Result<usize> {
        let window_seen = self
            .store
            .setting(WINDOW_SEEN)?
            .and_then(|text| text.parse::<i64>().ok());
        let which = match window_seen {
            Some(seen) if now_ms - seen <= WINDOW_FRESH_MS => DueChannels::NotDesktop,
            _ => DueChannels::All,
        };
        self.send_due(now_ms, which).await
    }

    /// The window's sender: records that a window shows desktop
    /// notifications on this store (so the service leaves them to it),
    /// then makes the desktop attempts due at `now_ms`. The window calls
    /// it more often than every [`WINDOW_FRESH_MS`].
    pub async fn send_due_desktop_notifications(&self, now_ms: i64) -> Result<usize> {
        self.store
            .set_setting(WINDOW_SEEN, &now_ms.to_string(), &self.actor(), now_ms)?;
        self.send_due(now_ms, DueChannels::DesktopOnly).await
    }

    /// Claims and makes each attempt due at `now_ms` to the channels
    /// `which` names; one another sender claimed first is passed by.
    async fn send_due(&self, now_ms: i64, which: DueChannels) -> Result<usize> {
        let due = self.store.due_deliveries(now_ms, BATCH, which)?;
        let mut made = 0;
        for delivery in &due {
            if !self
                .store
                .claim_delivery(delivery, now_ms, now_ms + CLAIM_LEASE_MS)?
            {
                continue;
            }
            made += 1;
            let attempt = delivery.attempts + 1;
            let (outcome, detail) = match self.send_one(delivery).await {
                Ok(detail) => (AttemptOutcome::Sent, detail),
                Err(why) if attempt >= NOTIFY_ATTEMPTS => (AttemptOutcome::GaveUp, why),
                Err(why) => {
                    let delay = FIRST_RETRY_MS << (attempt - 1).min(20);
                    (AttemptOutcome::RetryAt(now_ms + delay), why)
                }
            };
            tracing::info!(
                delivery = delivery.id,
                channel = %delivery.channel,
                attempt,
                ?outcome,
                "notification attempt: {detail}"
            );
            self.store
                .record_attempt(delivery.id, attempt, now_ms, &outcome, &detail)?;
        }
        Ok(made)
    }

    /// One attempt: what the channel said, or why it failed (never the
    /// channel's URL or key, which are secrets).
    async fn send_one(
        &self,
        delivery: &NotificationDelivery,
    ) -> std::result::Result<String, String> {
        let channel = self.channel(&delivery.channel).map_err(|e| e.to_string())?;
        let job = self.job(delivery.job_id).map_err(|e| e.to_string())?;
        match channel.spec.kind {
            ChannelKind::Email => return self.send_email(&channel.spec, &job).await,
            ChannelKind::Desktop => return send_desktop(&job).await,
            ChannelKind::Slack | ChannelKind::Webhook => {}
        }
        let url = self.channel_url(&channel.spec).map_err(|e| e.to_string())?;
        let (action, params) = match channel.spec.kind {
            ChannelKind::Slack => ("slack", json!({ "url": url, "text": slack_text(&job) })),
            kind @ (ChannelKind::Email | ChannelKind::Desktop) => {
                return Err(format!("a {kind} channel is not sent over HTTP"));
            }
            ChannelKind::Webhook => {
                let body = json!({
                    "event": "job-finished",
                    "rule": delivery.rule,
                    "channel": delivery.channel,
                    "delivery": delivery.id,
                    "job": crate::events::job_finished(&job),
                })
                .to_string();
                let mut headers = vec![("X-Capstan-Delivery".to_string(), delivery.id.to_string())];
                if let Some(secret) = &channel.spec.signing_secret {
                    let key = self.secret_value(secret).map_err(|e| e.to_string())?;
                    headers.push((
                        "X-Capstan-Signature-256".to_string(),
                        signature(&key, &body),
                    ));
                }
                (
                    "webhook",
                    json!({ "url": url, "body": body, "headers": headers }),
                )
            }
        };
        self.call_notify(action, &params)
            .await
            .map_err(|why| mask(&why, &url))
            .map(|said| mask(&said, &url))
    }

    /// One e-mail about `job` to the channel's recipients, through the
    /// configured SMTP server (the password never in what is recorded).
    async fn send_email(
        &self,
        spec: &ChannelSpec,
        job: &JobRecord,
    ) -> std::result::Result<String, String> {
        let smtp = self
            .smtp()
            .map_err(|e| e.to_string())?
            .ok_or("no SMTP server is configured")?;
        let password = match &smtp.password_secret {
            Some(secret) => Some(self.secret_value(secret).map_err(|e| e.to_string())?),
            None => None,
        };
        let status = job
            .overall()
            .map_or("no result".to_string(), |s| s.to_string());
        let mail = crate::smtp::Mail {
            to: spec.to.clone(),
            subject: format!("[Capstan] job {} {} {status}", job.id, job_name(job))
                .replace(['\r', '\n'], " "),
            body: format!(
                "{}\n\n{}\n",
                slack_text(job),
                serde_json::to_string_pretty(&crate::events::job_finished(job)).unwrap_or_default()
            ),
        };
        let result = crate::smtp::send(&smtp, password.as_deref(), &mail).await;
        match &password {
            Some(password) => result
                .map(|said| mask(&said, password))
                .map_err(|why| mask(&why, password)),
            None => result,
        }
    }

    /// Calls one of the `notify` plugin's actions directly (no job).
    async fn call_notify(
        &self,
        action: &str,
        params: &Value,
    ) -> std::result::Result<String, String> {
        let record = self
            .plugin(NOTIFY_PLUGIN)
            .await
            .map_err(|e| e.to_string())?;
        let loaded = self.load_installed(&record).map_err(|e| e.to_string())?;
        let host = self.host().map_err(|e| e.to_string())?;
        let setup = self.call_setup(&record, Vec::new());
        let context = CallContext {
            target: String::new(),
            targets: Vec::new(),
            check: false,
            diff: false,
        };
        match host
            .run(&loaded, &setup, action, &params.to_string(), &context)
            .await
        {
            Ok(outcome) if outcome.status != ResultStatus::Failed => Ok(outcome.summary),
            Ok(outcome) => Err(outcome.summary),
            Err(failure) => Err(format!("{}: {}", failure.kind, failure.message)),
        }
    }

    /// The URL a channel sends to: its own, or its secret's.
    fn channel_url(&self, spec: &ChannelSpec) -> Result<String> {
        match (spec.kind, &spec.url, &spec.url_secret) {
            (ChannelKind::Slack, None, Some(secret)) => self.secret_value(secret),
            (ChannelKind::Slack, _, _) => Err(Error::BadInput(
                "a Slack channel takes its URL from a secret (url_secret): the URL is its credential"
                    .into(),
            )),
            (ChannelKind::Webhook, Some(url), None) => Ok(url.clone()),
            (ChannelKind::Webhook, _, _) => Err(Error::BadInput(
                "a webhook channel takes a url (and, to sign, a signing_secret)".into(),
            )),
            (ChannelKind::Email, _, _) => Err(Error::BadInput(
                "an e-mail channel sends through the SMTP server, not to a URL".into(),
            )),
            (ChannelKind::Desktop, _, _) => Err(Error::BadInput(
                "a desktop channel shows a notification on the session bus, not at a URL".into(),
            )),
        }
    }

    /// Whether a rule's filters all hold for `job`.
    fn rule_matches(&self, rule: &RuleSpec, job: &JobRecord) -> Result<bool> {
        let status = job.overall();
        let failed = job.error.is_some()
            || matches!(
                status,
                Some(ResultStatus::Failed | ResultStatus::Unreachable)
            )
            || matches!(
                job.state,
                capstan_wire::status::JobState::Cancelled
                    | capstan_wire::status::JobState::Interrupted
            );
        let on = match rule.on {
            NotifyOn::Finished => true,
            NotifyOn::Failed => failed,
            NotifyOn::Changed => job
                .results
                .iter()
                .any(|r| r.status == ResultStatus::Changed),
        };
        if !on {
            return Ok(false);
        }
        if let Some(plugin) = &rule.plugin
            && (job.is_playbook() || &job.plugin != plugin)
        {
            return Ok(false);
        }
        if let Some(playbook) = &rule.playbook {
            let file = std::path::Path::new(&job.action)
                .file_name()
                .map(|f| f.to_string_lossy().to_string());
            if !job.is_playbook() || (&job.action != playbook && file.as_ref() != Some(playbook)) {
                return Ok(false);
            }
        }
        if let Some(schedule) = &rule.schedule
            && job.launched_by != Actor::Schedule(schedule.clone())
        {
            return Ok(false);
        }
        if let Some(group) = &rule.group {
            let members: Vec<String> = match self.group_members(group) {
                Ok(members) => members,
                Err(_) => return Ok(false),
            };
            if !job.targets.iter().any(|t| members.contains(t)) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn no_channel(name: &str) -> Error {
    Error::NotFound(format!(
        "no channel `{name}` (see `capstan notifications channels`)"
    ))
}

/// `sha256=HEX` of `body` under `key`, as webhook receivers check.
fn signature(key: &str, body: &str) -> String {
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
        body.as_bytes(),
    );
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// `text` with `secret` (a channel's URL) replaced by `********`.
fn mask(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, "********")
    }
}

/// Shows the end of `job` on this user's desktop.
async fn send_desktop(job: &JobRecord) -> std::result::Result<String, String> {
    let status = job
        .overall()
        .map_or("no result".to_string(), |s| s.to_string());
    let summary = format!("Capstan: job {} {status}", job.id);
    let body = slack_text(job);
    tokio::task::spawn_blocking(move || crate::desktop::notify(&summary, &body))
        .await
        .map_err(|e| format!("the notification stopped: {e}"))?
        .map(|id| format!("shown (notification {id})"))
}

/// What ran: `playbook `site.yml`` or `` `debug.msg` ``.
fn job_name(job: &JobRecord) -> String {
    if job.is_playbook() {
        format!("playbook `{}`", job.action)
    } else {
        format!("`{}.{}`", job.plugin, job.action)
    }
}

/// One line about a job's end, for a chat channel.
fn slack_text(job: &JobRecord) -> String {
    let status = job
        .overall()
        .map_or("no result".to_string(), |s| s.to_string());
    let name = job_name(job);
    let changed = job
        .results
        .iter()
        .filter(|r| r.status == ResultStatus::Changed)
        .count();
    let failed = job
        .results
        .iter()
        .filter(|r| matches!(r.status, ResultStatus::Failed | ResultStatus::Unreachable))
        .count();
    format!(
        "Capstan job {} {name} {} ({status}) on {}: {changed} changed, {failed} failed; started by {}",
        job.id,
        job.state,
        job.targets.join(", "),
        job.launched_by
    )
}
