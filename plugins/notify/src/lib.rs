//! Notification channels that speak HTTP: a Slack-compatible incoming
//! webhook, and a generic webhook (JSON, with the headers Capstan gives it,
//! such as its HMAC signature, which Capstan computes: the signing key
//! never enters the plugin). It reaches only the hosts granted to it,
//! which Capstan grants as channels are added (`http:HOST`).

use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, http,
    register_plugin,
};
use serde::Deserialize;

/// Parameters of `slack`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SlackParams {
    /// The incoming webhook's URL (it holds a credential: masked).
    #[schemars(extend("writeOnly" = true))]
    url: String,
    /// The message, in Slack's mrkdwn.
    text: String,
}

/// Parameters of `webhook`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WebhookParams {
    /// Where to POST.
    url: String,
    /// The JSON document to send, as text (sent byte for byte, so a
    /// signature over it holds).
    body: String,
    /// Extra headers, e.g. the signature.
    #[serde(default)]
    headers: Vec<(String, String)>,
}

fn slack(params: SlackParams, _ctx: &Context) -> Result<Outcome, Error> {
    let answer = http::post_json(
        &params.url,
        &serde_json::json!({ "text": params.text }),
        &[],
    )?;
    settle(answer, "Slack")
}

fn webhook(params: WebhookParams, _ctx: &Context) -> Result<Outcome, Error> {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(params.headers);
    let answer = http::send(&http::Request {
        method: http::Method::Post,
        url: params.url,
        headers,
        body: params.body.into_bytes(),
        timeout_ms: Some(10_000),
    })?;
    settle(answer, "the webhook")
}

/// Sent when the receiver said 2xx; otherwise failed, with its status and
/// the start of what it said (so the delivery record shows why).
fn settle(answer: http::Response, who: &str) -> Result<Outcome, Error> {
    if answer.is_success() {
        return Ok(Outcome::changed(format!(
            "{who} answered {}",
            answer.status
        )));
    }
    let said: String = String::from_utf8_lossy(&answer.body)
        .chars()
        .take(200)
        .collect();
    Err(Error::msg(format!(
        "{who} answered {}: {}",
        answer.status,
        said.trim()
    )))
}

struct Notify;

impl Plugin for Notify {
    fn manifest() -> Manifest {
        Manifest::new(
            "notify",
            env!("CARGO_PKG_VERSION"),
            "Send notifications to Slack-compatible and generic webhooks.",
        )
        .capability(Capability::Http)
        .action(
            Action::new(
                "slack",
                "Post a message to a Slack-compatible incoming webhook.",
            )
            .run(slack),
        )
        .action(
            Action::new(
                "webhook",
                "POST a JSON document, with the headers given, to a URL.",
            )
            .run(webhook),
        )
    }
}

register_plugin!(Notify);
