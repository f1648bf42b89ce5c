//! A value's truth as Jinja and Ansible's `bool` see it, shared by the
//! template engine, the template options and module options, below all
//! of them.

use minijinja::value::Value;
use serde_json::Value as Json;

/// [`truthy`] of a module option's JSON value (`yes`, `"true"`, 1).
pub fn truthy_json(value: &Json) -> bool {
    truthy(&Value::from_serialize(value))
}

/// A value's truth as Jinja (and Ansible's `bool`) sees it; the strings
/// "yes", "true", "on" and "1" are true, "no", "false", "off", "0" false.
pub fn truthy(value: &Value) -> bool {
    if let Some(s) = value.as_str() {
        return match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" | "y" => true,
            "no" | "false" | "off" | "0" | "n" | "" => false,
            _ => true,
        };
    }
    value.is_true()
}
