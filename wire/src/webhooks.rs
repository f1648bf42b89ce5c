//! Webhooks in: `POST /api/v1/hooks/{name}` starts a configured job when
//! the delivery proves it knows the hook's secret, once per delivery id.

use serde::{Deserialize, Serialize};

use crate::schedules::ScheduledJob;

named_enum! {
    /// How a delivery proves it knows the hook's secret.
    pub enum HookAuth {
        /// GitHub's and Gitea's `X-Hub-Signature-256: sha256=HEX` (or
        /// Gitea's `X-Gitea-Signature: HEX`): an HMAC-SHA256 of the body
        /// keyed with the secret.
        Hmac = "hmac",
        /// `X-Capstan-Token: SECRET` with `X-Capstan-Timestamp` (Unix
        /// seconds) within five minutes of the service's clock.
        Token = "token",
    }
}

/// A webhook to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HookSpec {
    /// Its name: `POST /api/v1/hooks/NAME`; its jobs are launched by
    /// `webhook:NAME`.
    pub name: String,
    /// How deliveries are checked.
    pub auth: HookAuth,
    /// The secrets store's entry holding its key or token.
    pub secret: String,
    /// What it runs. A playbook gets the delivery as the variable
    /// `webhook`: `{name, event, delivery, payload}`.
    pub job: ScheduledJob,
}

/// A webhook as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hook {
    /// What was asked for.
    #[serde(flatten)]
    pub spec: HookSpec,
    /// Who added it.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_by: crate::Actor,
    /// When (ms since the epoch).
    pub created_at_ms: i64,
    /// Deliveries accepted.
    pub deliveries: u64,
    /// When the last was.
    pub last_delivery_ms: Option<i64>,
    /// The job the last one started.
    pub last_job_id: Option<i64>,
}
