//! Stored secrets as faces list them: names and dates, never values.

use serde::{Deserialize, Serialize};

/// A secret in the encrypted store (its value is never sent back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretInfo {
    /// Its name, as runs and schedules refer to it.
    pub name: String,
    /// Who set it last.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub updated_by: crate::Actor,
    /// When it was first set (ms since the epoch).
    pub created_at_ms: i64,
    /// When it was set last.
    pub updated_at_ms: i64,
}
