//! JSON as Python's `json.dumps` writes it, for Ansible's `to_json` and
//! `to_nice_json` filters: its separators (`", "` and `": "` on one line,
//! `","` and a newline with `indent`), keys sorted on request, and
//! characters beyond ASCII escaped unless `ensure_ascii=False`.

use minijinja::value::{Kwargs, Value};
use serde_json::Value as Json;

/// How `json.dumps` was asked to write.
struct Layout {
    indent: Option<usize>,
    sort_keys: bool,
    ensure_ascii: bool,
}

/// `to_json(indent=None, sort_keys=False, ensure_ascii=True)`.
pub(crate) fn to_json(value: Value, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    dumps(&value, &kwargs, None, false)
}

/// `to_nice_json(indent=4, sort_keys=True)`.
pub(crate) fn to_nice_json(value: Value, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    dumps(&value, &kwargs, Some(4), true)
}

fn dumps(
    value: &Value,
    kwargs: &Kwargs,
    indent: Option<usize>,
    sort_keys: bool,
) -> Result<String, minijinja::Error> {
    let indent = match kwargs.get::<Option<Value>>("indent")? {
        Some(n) if n.is_none() => None,
        Some(n) => Some(usize::try_from(n.clone()).map_err(|_| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("indent must be a whole number, not {n}"),
            )
        })?),
        None => indent,
    };
    let layout = Layout {
        indent,
        sort_keys: kwargs
            .get::<Option<bool>>("sort_keys")?
            .unwrap_or(sort_keys),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true),
    };
    // Options of Python's encoder that change nothing here.
    for ignored in ["separators", "skipkeys", "check_circular", "allow_nan"] {
        let _: Option<Value> = kwargs.get(ignored)?;
    }
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(value).unwrap_or(Json::Null);
    let mut out = String::new();
    write(&json, &layout, 0, &mut out);
    Ok(out)
}

fn write(value: &Json, layout: &Layout, depth: usize, out: &mut String) {
    match value {
        Json::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separate(layout, depth + 1, i == 0, out);
                write(item, layout, depth + 1, out);
            }
            close(layout, depth, out);
            out.push(']');
        }
        Json::Object(map) if !map.is_empty() => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            if layout.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                separate(layout, depth + 1, i == 0, out);
                string(key, layout, out);
                out.push_str(": ");
                write(item, layout, depth + 1, out);
            }
            close(layout, depth, out);
            out.push('}');
        }
        Json::String(text) => string(text, layout, out),
        other => out.push_str(&other.to_string()),
    }
}

/// What goes before an item: a comma after the first, then a space on one
/// line or a newline and the item's indentation.
fn separate(layout: &Layout, depth: usize, first: bool, out: &mut String) {
    match layout.indent {
        None if !first => out.push_str(", "),
        None => {}
        Some(width) => {
            if !first {
                out.push(',');
            }
            out.push('\n');
            out.push_str(&" ".repeat(width * depth));
        }
    }
}

/// What goes before a closing bracket: with `indent`, a newline and the
/// bracket's own indentation.
fn close(layout: &Layout, depth: usize, out: &mut String) {
    if let Some(width) = layout.indent {
        out.push('\n');
        out.push_str(&" ".repeat(width * depth));
    }
}

/// A JSON string; with `ensure_ascii`, every character beyond ASCII as
/// `\uXXXX` (two, a surrogate pair, beyond the first plane).
fn string(text: &str, layout: &Layout, out: &mut String) {
    let quoted = Json::String(text.to_string()).to_string();
    if !layout.ensure_ascii || quoted.is_ascii() {
        out.push_str(&quoted);
        return;
    }
    for c in quoted.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;
    use serde_json::json;

    fn render(template: &str, value: serde_json::Value) -> String {
        let mut env = Environment::new();
        env.add_filter("to_json", super::to_json);
        env.add_filter("to_nice_json", super::to_nice_json);
        env.render_str(template, minijinja::context! { v => value })
            .unwrap()
    }

    #[test]
    fn written_as_python_writes_it() {
        let v = json!({"b": [1, "é"], "a": {}});
        assert_eq!(render("{{ v.b | to_json }}", v.clone()), r#"[1, "\u00e9"]"#);
        assert_eq!(
            render(
                "{{ v | to_json(ensure_ascii=False, sort_keys=True) }}",
                v.clone()
            ),
            r#"{"a": {}, "b": [1, "é"]}"#
        );
        assert_eq!(
            render("{{ v | to_nice_json(indent=2) }}", v),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    \"\\u00e9\"\n  ]\n}"
        );
    }
}
