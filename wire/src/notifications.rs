//! Notifications: channels (where a message goes), rules (which job ends
//! send one, to which channel) and the record of every delivery and its
//! attempts.

use serde::{Deserialize, Serialize};

named_enum! {
    /// How a channel delivers.
    pub enum ChannelKind {
        /// A Slack-compatible incoming webhook: `{"text": ...}` to a URL
        /// kept in the secrets store (the URL is the credential).
        Slack = "slack",
        /// A generic webhook: the event as JSON, signed with HMAC-SHA256 in
        /// `X-Capstan-Signature-256` when a signing secret is named.
        Webhook = "webhook",
        /// E-mail, through the SMTP server configured once
        /// (`SmtpSettings`), to the addresses in `to`.
        Email = "email",
        /// A desktop notification, shown through the session bus of the
        /// user the sending Capstan runs as.
        Desktop = "desktop",
    }
}

named_from_str!(ChannelKind, "channel kind");

/// A channel as asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelSpec {
    /// Its name (letters, digits, `-`, `_`).
    pub name: String,
    /// How it delivers.
    pub kind: ChannelKind,
    /// The URL, for a webhook channel (not a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The secret holding the URL, for a Slack channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_secret: Option<String>,
    /// The secret holding the HMAC-SHA256 key a webhook channel signs with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
    /// The addresses an e-mail channel writes to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
}

named_enum! {
    /// How the connection to the SMTP server is protected.
    pub enum SmtpSecurity {
        /// STARTTLS when the server offers it, plain otherwise (a password
        /// is only ever sent over TLS, or to a server on loopback).
        Starttls = "starttls",
        /// STARTTLS, refusing a server that does not offer it.
        Required = "required",
        /// TLS from the first byte (port 465).
        Tls = "tls",
    }
}

named_from_str!(SmtpSecurity, "security");

/// The SMTP server e-mail channels send through, configured once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Its host name or address.
    pub host: String,
    /// Its port (587 for STARTTLS, 465 for TLS, 25).
    pub port: u16,
    /// How the connection is protected.
    pub security: SmtpSecurity,
    /// The sender address (`From:` and `MAIL FROM`).
    pub from: String,
    /// The user to log in as, if the server wants a login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The secret holding that user's password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<String>,
    /// A PEM file of certificates to trust besides the system's (a
    /// private CA, a self-signed server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
}

/// A channel as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    /// What was asked for.
    #[serde(flatten)]
    pub spec: ChannelSpec,
    /// The host its plugin was granted (`http:HOST`), once known.
    pub host: String,
    /// Who added it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "user:alice"))]
    pub created_by: crate::Actor,
    /// When (ms since the epoch).
    pub created_at_ms: i64,
}

named_enum! {
    /// Which job ends a rule is about.
    pub enum NotifyOn {
        /// Every end.
        Finished = "finished",
        /// A job that failed, was cancelled or interrupted, or left a target
        /// failed or unreachable.
        Failed = "failed",
        /// A job that changed something.
        Changed = "changed",
    }
}

named_from_str!(NotifyOn, "`on` value");

/// A rule as asked for: which job ends send to which channel. Each filter
/// given must match; none given matches every job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleSpec {
    /// Its name.
    pub name: String,
    /// Which ends.
    pub on: NotifyOn,
    /// The channel to send to.
    pub channel: String,
    /// Only jobs of this plugin's actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// Only runs of this playbook (its path as run, or its file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook: Option<String>,
    /// Only jobs this schedule fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Only jobs that ran on a host of this inventory group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// A rule as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    /// What was asked for.
    #[serde(flatten)]
    pub spec: RuleSpec,
    /// Who added it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "user:alice"))]
    pub created_by: crate::Actor,
    /// When (ms since the epoch).
    pub created_at_ms: i64,
}

named_enum! {
    /// Where a delivery stands.
    pub enum DeliveryState {
        /// Not sent yet: its next attempt is due at `next_attempt_ms`.
        Pending = "pending",
        /// The channel accepted it.
        Sent = "sent",
        /// Every attempt failed.
        Failed = "failed",
    }
}

/// One notification: a rule matched a job's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationDelivery {
    /// Its number.
    pub id: i64,
    /// The rule that matched.
    pub rule: String,
    /// The channel it goes to.
    pub channel: String,
    /// The job it is about.
    pub job_id: i64,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_ms: Option<i64>,
    /// Why the last attempt failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the rule matched.
    pub created_at_ms: i64,
    /// When the channel accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at_ms: Option<i64>,
    /// Every attempt, oldest first.
    #[serde(default)]
    pub history: Vec<DeliveryAttempt>,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    /// Which attempt (1 is the first).
    pub attempt: u32,
    /// When it was made.
    pub at_ms: i64,
    /// Whether the channel accepted it.
    pub ok: bool,
    /// What the channel (or the plugin) said.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_channel_and_rule_read_back_as_sent() {
        let channel = Channel {
            spec: ChannelSpec {
                name: "me".into(),
                kind: ChannelKind::Desktop,
                url: None,
                url_secret: None,
                signing_secret: None,
                to: Vec::new(),
            },
            host: "session bus".into(),
            created_by: crate::Actor::Token("ops".into()),
            created_at_ms: 1,
        };
        let text = serde_json::to_string(&channel).unwrap();
        assert_eq!(serde_json::from_str::<Channel>(&text).unwrap(), channel);
    }
}
