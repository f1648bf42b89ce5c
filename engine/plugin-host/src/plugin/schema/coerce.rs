//! Converting parameters the way Ansible's argument specs do, before they
//! are checked.

use serde_json::Value;

use super::check::{Checker, has_type, list, types};
use super::{MAX_REF_DEPTH, resolve};

/// Converts values the way Ansible's argument specs do before checking
/// them: "yes"/"no" text to booleans, numeric text to integers, a
/// comma-separated string to a list, numbers and booleans to text where
/// text is wanted. Values that cannot convert are left for
/// [`super::validate_params`] to name.
pub fn coerce_params(schema: &Value, value: &mut Value) {
    Coercer {
        checker: Checker { root: schema },
    }
    .coerce(schema, value, 0);
}

struct Coercer<'a> {
    checker: Checker<'a>,
}

impl Coercer<'_> {
    fn coerce(&self, schema: &Value, value: &mut Value, depth: usize) {
        let Some(object) = schema.as_object() else {
            return;
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str)
            && depth < MAX_REF_DEPTH
            && let Some(target) = resolve(self.checker.root, reference)
        {
            self.coerce(target, value, depth + 1);
        }
        for sub in list(object, "allOf") {
            self.coerce(sub, value, depth);
        }
        for keyword in ["anyOf", "oneOf"] {
            self.coerce_into_a_shape(&list(object, keyword), value, depth);
        }
        let types = types(object);
        if !types.is_empty()
            && !types.iter().any(|t| has_type(value, t))
            && let Some(converted) = types.iter().find_map(|t| convert(value, t))
        {
            *value = converted;
        }
        let allowed: Vec<&Value> = match (object.get("enum"), object.get("const")) {
            (Some(Value::Array(values)), _) => values.iter().collect(),
            (_, Some(only)) => vec![only],
            _ => Vec::new(),
        };
        if !allowed.contains(&&*value)
            && let Some(text) = scalar_text(value)
            && allowed.iter().any(|a| a.as_str() == Some(text.as_str()))
        {
            *value = Value::String(text);
        }
        match value {
            Value::Object(fields) => {
                let properties = object.get("properties").and_then(Value::as_object);
                for (name, field) in fields.iter_mut() {
                    let sub = properties
                        .and_then(|p| p.get(name))
                        .or_else(|| object.get("additionalProperties"));
                    if let Some(sub) = sub {
                        self.coerce(sub, field, depth);
                    }
                }
            }
            Value::Array(items) => {
                let prefix = list(object, "prefixItems");
                for (i, item) in items.iter_mut().enumerate() {
                    if let Some(sub) = prefix.get(i).copied().or_else(|| object.get("items")) {
                        self.coerce(sub, item, depth);
                    }
                }
            }
            _ => {}
        }
    }

    /// Leaves a value that fits one of `shapes` as it is; else converts
    /// it into the first shape it can be made to fit.
    fn coerce_into_a_shape(&self, shapes: &[&Value], value: &mut Value, depth: usize) {
        let fits = |shape: &Value, value: &Value| {
            self.checker.check(shape, value, "params", depth).is_ok()
        };
        if shapes.is_empty() || shapes.iter().any(|shape| fits(shape, value)) {
            return;
        }
        for shape in shapes {
            let mut candidate = value.clone();
            self.coerce(shape, &mut candidate, depth);
            if fits(shape, &candidate) {
                *value = candidate;
                return;
            }
        }
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A JSON value as Python's `str()` prints the same data.
fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        python_repr(&Value::String(k.clone())),
                        python_repr(v)
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

fn convert(value: &Value, to: &str) -> Option<Value> {
    match (to, value) {
        ("boolean", Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" | "y" => Some(Value::Bool(true)),
            "no" | "false" | "off" | "0" | "n" => Some(Value::Bool(false)),
            _ => None,
        },
        ("boolean", Value::Number(n)) => n.as_i64().map(|i| Value::Bool(i != 0)),
        ("integer", Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        ("number", Value::String(s)) => s.trim().parse::<f64>().ok().map(Value::from),
        ("string", Value::Number(_) | Value::Bool(_)) => scalar_text(value).map(Value::String),
        // Ansible's modules take a mapping or list given for a string as
        // Python prints it (`path: "{{ item }}"` with a `find` result).
        ("string", Value::Object(_) | Value::Array(_)) => Some(Value::String(python_repr(value))),
        ("array", Value::String(s)) => Some(Value::Array(
            s.split(',')
                .map(|p| Value::String(p.trim().to_string()))
                .filter(|p| p != "")
                .collect(),
        )),
        ("array", Value::Number(_) | Value::Bool(_)) => Some(Value::Array(vec![value.clone()])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::python_repr;
    use serde_json::json;

    #[test]
    fn a_mapping_given_for_a_string_reads_as_python_prints_it() {
        let value = json!({"path": "/tmp/it's", "isdir": false, "n": [1, null]});
        assert_eq!(
            python_repr(&value),
            r"{'isdir': False, 'n': [1, None], 'path': '/tmp/it\'s'}"
        );
    }
}
