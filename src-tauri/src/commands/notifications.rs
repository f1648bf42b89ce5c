//! The Notifications page: channels, the rules that send to them, the
//! SMTP server e-mail goes through, and every delivery with its attempts.
//! Changes are audited as the OS user running the window.

use std::sync::Arc;

use capstan_engine::Capstan;
use capstan_wire::notifications::{
    Channel, ChannelSpec, NotificationDelivery, Rule, RuleSpec, SmtpSettings,
};

use crate::error::UiResult;

/// Deliveries the page lists, newest first.
const SHOWN_DELIVERIES: usize = 50;

/// Every channel.
#[tauri::command]
pub fn channels(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Vec<Channel>> {
    Ok(capstan.channels()?)
}

/// Adds a channel (its plugin granted exactly the host it sends to).
#[tauri::command]
pub async fn add_channel(
    capstan: tauri::State<'_, Arc<Capstan>>,
    spec: ChannelSpec,
) -> UiResult<Channel> {
    Ok(capstan.add_channel(spec, &capstan.actor()).await?)
}

/// Removes a channel no rule sends to.
#[tauri::command]
pub async fn remove_channel(capstan: tauri::State<'_, Arc<Capstan>>, name: String) -> UiResult<()> {
    Ok(capstan.remove_channel(&name, &capstan.actor()).await?)
}

/// Every rule.
#[tauri::command]
pub fn rules(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Vec<Rule>> {
    Ok(capstan.rules()?)
}

/// Adds a rule sending to an existing channel.
#[tauri::command]
pub fn add_rule(capstan: tauri::State<'_, Arc<Capstan>>, spec: RuleSpec) -> UiResult<Rule> {
    Ok(capstan.add_rule(spec, &capstan.actor())?)
}

/// Removes a rule; its deliveries stay recorded.
#[tauri::command]
pub fn remove_rule(capstan: tauri::State<'_, Arc<Capstan>>, name: String) -> UiResult<()> {
    Ok(capstan.remove_rule(&name, &capstan.actor())?)
}

/// The newest deliveries, each with its attempts.
#[tauri::command]
pub fn notification_deliveries(
    capstan: tauri::State<'_, Arc<Capstan>>,
) -> UiResult<Vec<NotificationDelivery>> {
    Ok(capstan.notification_deliveries(SHOWN_DELIVERIES)?)
}

/// The SMTP server e-mail channels send through, if one is set.
#[tauri::command]
pub fn smtp(capstan: tauri::State<'_, Arc<Capstan>>) -> UiResult<Option<SmtpSettings>> {
    Ok(capstan.smtp()?)
}

/// Sets the SMTP server.
#[tauri::command]
pub fn set_smtp(capstan: tauri::State<'_, Arc<Capstan>>, settings: SmtpSettings) -> UiResult<()> {
    Ok(capstan.set_smtp(settings, &capstan.actor())?)
}
