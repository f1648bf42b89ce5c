//! Desktop notifications: a job's end shown by the desktop of the user
//! Capstan runs as, through the freedesktop notification service on the
//! session bus (`org.freedesktop.Notifications.Notify`). Where there is no
//! session bus (a server, Windows, macOS), sending fails with a message
//! that says so, and the delivery records it.

#[cfg(unix)]
pub mod dbus;

/// The notification service's bus name, object and interface.
pub const SERVICE: &str = "org.freedesktop.Notifications";
const OBJECT: &str = "/org/freedesktop/Notifications";

/// Shows `summary` and `body` as a desktop notification; the service's
/// id for it. Blocking: call it off the async runtime's threads.
#[cfg(unix)]
pub fn notify(summary: &str, body: &str) -> Result<u32, String> {
    use dbus::{Connection, Value};
    let mut bus = Connection::session().map_err(|e| e.to_string())?;
    let answer = bus
        .call(
            SERVICE,
            OBJECT,
            SERVICE,
            "Notify",
            &[
                Value::Str("Capstan".into()),
                Value::U32(0),
                Value::Str(String::new()),
                Value::Str(summary.into()),
                Value::Str(body.into()),
                Value::Strings(Vec::new()),
                Value::EmptyDict,
                Value::I32(-1),
            ],
        )
        .map_err(|e| match e {
            dbus::DbusError::Remote { name, .. }
                if name == "org.freedesktop.DBus.Error.ServiceUnknown" =>
            {
                "the session bus has no notification service (no desktop is running)".to_string()
            }
            other => other.to_string(),
        })?;
    match answer.body.first() {
        Some(Value::U32(id)) => Ok(*id),
        _ => Err("the notification service answered without an id".into()),
    }
}

/// Desktop notifications need a D-Bus session bus, which this platform
/// does not have.
#[cfg(not(unix))]
pub fn notify(_summary: &str, _body: &str) -> Result<u32, String> {
    Err("desktop notifications need a D-Bus session bus (Linux or BSD)".into())
}
