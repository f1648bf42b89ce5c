//! Webhooks in: a delivery to `POST /api/v1/hooks/{name}` proves it knows
//! the hook's secret (an HMAC-SHA256 of the body, as GitHub and Gitea
//! sign, or a shared token with a fresh timestamp), is recorded by its
//! delivery id before anything runs (a repeat is ignored), and starts the
//! hook's job; a playbook gets the delivery as `webhook`, every string in
//! it marked unsafe so no template in a payload is ever rendered.

use capstan_wire::Actor;
use capstan_wire::clock::now_ms;
use capstan_wire::schedules::ScheduledJob;
use capstan_wire::webhooks::{Hook, HookAuth, HookSpec};
use ring::hmac;
use serde_json::{Value, json};

use super::Capstan;
use super::schedules::check_name;
use crate::{Error, Result};

/// How far a shared-token delivery's timestamp may be from the clock.
pub const TIMESTAMP_WINDOW_MS: i64 = 5 * 60 * 1_000;

/// What a delivery carries, from its headers and body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Delivery<'a> {
    /// The body, as received.
    pub body: &'a [u8],
    /// `X-Hub-Signature-256` (`sha256=HEX`) or `X-Gitea-Signature` (`HEX`).
    pub signature: Option<&'a str>,
    /// `X-Capstan-Token`.
    pub token: Option<&'a str>,
    /// `X-Capstan-Timestamp`, Unix seconds.
    pub timestamp: Option<&'a str>,
    /// `X-GitHub-Delivery`, `X-Gitea-Delivery` or `X-Capstan-Delivery`.
    pub delivery_id: Option<&'a str>,
    /// `X-GitHub-Event` or `X-Gitea-Event`.
    pub event: Option<&'a str>,
}

/// What to do with an accepted delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    /// Start this job (a playbook's already carries `webhook`).
    Start {
        /// The job (boxed: a run request is large beside a repeat).
        job: Box<ScheduledJob>,
        /// The delivery's id, to record the job against.
        delivery: String,
    },
    /// The delivery id was seen before: nothing runs.
    Repeat {
        /// Its id.
        delivery: String,
    },
}

/// Why a delivery was refused (answered 401, and counted as a failed
/// authentication).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryRefused {
    /// No signature, or a wrong one.
    #[error("the signature is missing or wrong (X-Hub-Signature-256: sha256=HMAC of the body)")]
    BadSignature,
    /// No token, or a wrong one.
    #[error("the token is missing or wrong (X-Capstan-Token)")]
    BadToken,
    /// The timestamp is missing, or too far from now.
    #[error("X-Capstan-Timestamp is missing or more than 5 minutes from the service's clock")]
    Stale,
}

impl Capstan {
    /// Adds a webhook once its secret exists and its job checks out.
    pub async fn add_webhook(&self, spec: HookSpec, by: &Actor) -> Result<Hook> {
        check_name(&spec.name)?;
        self.secret_value(&spec.secret)?;
        self.check_stored_job(&spec.job).await?;
        if !self.store.add_webhook(&spec, by, now_ms())? {
            return Err(Error::BadInput(format!(
                "a webhook named `{}` exists: remove it first, or pick another name",
                spec.name
            )));
        }
        let detail = format!("{} ({})", spec.job.describe(), spec.auth);
        self.audit_as(by, "add", &format!("webhook:{}", spec.name), &detail)?;
        self.webhook(&spec.name)
    }

    /// Every webhook, by name.
    pub fn webhooks(&self) -> Result<Vec<Hook>> {
        Ok(self.store.webhooks()?)
    }

    /// The webhook called `name`.
    pub fn webhook(&self, name: &str) -> Result<Hook> {
        self.store.webhook(name)?.ok_or_else(|| no_hook(name))
    }

    /// Removes a webhook (its jobs stay in the history).
    pub fn remove_webhook(&self, name: &str, by: &Actor) -> Result<()> {
        if !self.store.remove_webhook(name)? {
            return Err(no_hook(name));
        }
        self.audit_as(by, "remove", &format!("webhook:{name}"), "")
    }

    /// Checks a delivery to the hook `name` at `now_ms` and records it:
    /// the job to start, a repeat to ignore, or why it is refused.
    pub fn accept_delivery(
        &self,
        name: &str,
        delivery: &Delivery<'_>,
        now_ms: i64,
    ) -> Result<std::result::Result<Accepted, DeliveryRefused>> {
        let spec = self
            .store
            .webhook_spec(name)?
            .ok_or_else(|| no_hook(name))?;
        let secret = self.secret_value(&spec.secret)?;
        let refused = match spec.auth {
            HookAuth::Hmac => check_signature(&secret, delivery),
            HookAuth::Token => check_token(&secret, delivery, now_ms),
        };
        if let Err(why) = refused {
            return Ok(Err(why));
        }
        let id = delivery_id(delivery);
        if !self.store.first_delivery(name, &id, now_ms)? {
            return Ok(Ok(Accepted::Repeat { delivery: id }));
        }
        let mut job = spec.job;
        if let ScheduledJob::Playbook { playbook } = &mut job {
            let payload = serde_json::from_slice::<Value>(delivery.body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(delivery.body).into()));
            let webhook = json!({
                "name": name,
                "event": delivery.event.unwrap_or(""),
                "delivery": id,
                "payload": payload,
            });
            playbook
                .extra_vars
                .insert("webhook".into(), unsafe_json(&webhook));
        }
        Ok(Ok(Accepted::Start {
            job: Box::new(job),
            delivery: id,
        }))
    }

    /// Records the job a delivery started.
    pub fn delivery_started(&self, name: &str, delivery: &str, job_id: i64) -> Result<()> {
        Ok(self.store.delivery_started(name, delivery, job_id)?)
    }
}

/// The HMAC-SHA256 of the body under `secret`, compared in constant time.
fn check_signature(
    secret: &str,
    delivery: &Delivery<'_>,
) -> std::result::Result<(), DeliveryRefused> {
    let given = delivery.signature.ok_or(DeliveryRefused::BadSignature)?;
    let hex_digest = given.strip_prefix("sha256=").unwrap_or(given);
    let tag = crate::hex::decode(hex_digest.trim()).ok_or(DeliveryRefused::BadSignature)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::verify(&key, delivery.body, &tag).map_err(|_| DeliveryRefused::BadSignature)
}

/// The shared token (compared in constant time) and a fresh timestamp.
fn check_token(
    secret: &str,
    delivery: &Delivery<'_>,
    now_ms: i64,
) -> std::result::Result<(), DeliveryRefused> {
    let given = delivery.token.ok_or(DeliveryRefused::BadToken)?;
    // Both sides through one HMAC: equal tags iff equal tokens, compared
    // without a timing leak.
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"capstan-webhook-token");
    let expected = hmac::sign(&key, secret.as_bytes());
    hmac::verify(&key, given.as_bytes(), expected.as_ref())
        .map_err(|_| DeliveryRefused::BadToken)?;
    let at_ms = delivery
        .timestamp
        .and_then(|t| t.trim().parse::<i64>().ok())
        .ok_or(DeliveryRefused::Stale)?
        .saturating_mul(1_000);
    if (now_ms - at_ms).abs() > TIMESTAMP_WINDOW_MS {
        return Err(DeliveryRefused::Stale);
    }
    Ok(())
}

/// The delivery's own id, or one made from its timestamp and body.
fn delivery_id(delivery: &Delivery<'_>) -> String {
    match delivery
        .delivery_id
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        Some(id) => id.chars().take(128).collect(),
        None => {
            let mut bytes = delivery.timestamp.unwrap_or("").as_bytes().to_vec();
            bytes.push(b'\n');
            bytes.extend_from_slice(delivery.body);
            format!("sha256:{}", capstan_plugin_host::plugin::sha256_of(&bytes))
        }
    }
}

/// Every string in `value` written so that rendering gives back exactly
/// its text: a payload is data, never a template.
fn unsafe_json(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(capstan_yaml::unsafe_text(s)),
        Value::Array(items) => Value::Array(items.iter().map(unsafe_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), unsafe_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn no_hook(name: &str) -> Error {
    Error::NotFound(format!(
        "no webhook named `{name}` (`capstan webhooks list` shows them)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let tag = hmac::sign(&key, body);
        format!(
            "sha256={}",
            tag.as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    }

    #[test]
    fn a_signature_must_be_the_bodys_hmac_under_the_secret() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let good = sign("k3y", body);
        let check = |secret: &str, signature: Option<&str>| {
            check_signature(
                secret,
                &Delivery {
                    body,
                    signature,
                    ..Default::default()
                },
            )
        };
        assert_eq!(check("k3y", Some(&good)), Ok(()));
        let bare = good.trim_start_matches("sha256=").to_string();
        assert_eq!(check("k3y", Some(&bare)), Ok(()), "Gitea's form");
        for bad in [None, Some("sha256=00"), Some("sha256=zz")] {
            assert_eq!(
                check("k3y", bad),
                Err(DeliveryRefused::BadSignature),
                "{bad:?}"
            );
        }
        assert_eq!(
            check("other", Some(&good)),
            Err(DeliveryRefused::BadSignature)
        );
    }

    #[test]
    fn a_token_needs_a_timestamp_within_the_window() {
        let now = 1_800_000_000_000;
        let at = |seconds: i64| (now / 1_000 + seconds).to_string();
        let fresh = at(-60);
        let check = |token: Option<&str>, timestamp: Option<&str>| {
            check_token(
                "t0k",
                &Delivery {
                    body: b"{}",
                    token,
                    timestamp,
                    ..Default::default()
                },
                now,
            )
        };
        assert_eq!(check(Some("t0k"), Some(&fresh)), Ok(()));
        assert_eq!(
            check(Some("nope"), Some(&fresh)),
            Err(DeliveryRefused::BadToken)
        );
        assert_eq!(
            check(Some("t0k"), Some(&at(-301))),
            Err(DeliveryRefused::Stale)
        );
        assert_eq!(check(Some("t0k"), None), Err(DeliveryRefused::Stale));
    }

    #[test]
    fn payload_strings_never_render_as_templates() {
        let marked = unsafe_json(&json!({"msg": "{{ lookup('pipe', 'id') }}", "n": 1}));
        assert!(
            marked["msg"].as_str().unwrap().starts_with("{{ '"),
            "{marked}"
        );
        assert_eq!(marked["n"], 1);
    }
}
