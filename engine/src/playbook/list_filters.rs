//! Ansible's filters on lists and for inspection: the set operations
//! (`difference`, `intersect`, `union`, `symmetric_difference`), `zip`,
//! `type_debug` (Python's type names) and `regex_escape`.

use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error};

/// Adds these filters to a template engine.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("difference", |a: Value, b: Value| {
        set_op(&a, &b, |in_a, in_b| in_a && !in_b)
    });
    env.add_filter("intersect", |a: Value, b: Value| {
        set_op(&a, &b, |in_a, in_b| in_a && in_b)
    });
    env.add_filter("union", |a: Value, b: Value| set_op(&a, &b, |_, _| true));
    env.add_filter("symmetric_difference", |a: Value, b: Value| {
        set_op(&a, &b, |in_a, in_b| in_a != in_b)
    });
    env.add_filter("zip", zip);
    env.add_filter("type_debug", type_debug);
    env.add_filter("regex_escape", |s: String| regex::escape(&s));
}

fn items(value: &Value) -> Result<Vec<Value>, Error> {
    Ok(value.try_iter()?.collect())
}

/// The unique items of `a` then `b`, in first-seen order, kept where
/// `keep(in a, in b)` says so.
fn set_op(a: &Value, b: &Value, keep: fn(bool, bool) -> bool) -> Result<Value, Error> {
    let (a, b) = (items(a)?, items(b)?);
    let mut out: Vec<Value> = Vec::new();
    for item in a.iter().chain(&b) {
        if out.contains(item) {
            continue;
        }
        if keep(a.contains(item), b.contains(item)) {
            out.push(item.clone());
        }
    }
    Ok(Value::from(out))
}

/// `a | zip(b, c)`: lists of the n-th items, as long as the shortest.
fn zip(first: Value, others: Rest<Value>) -> Result<Value, Error> {
    let mut lists = vec![items(&first)?];
    for other in others.iter() {
        lists.push(items(other)?);
    }
    let len = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::from(
        (0..len)
            .map(|i| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    ))
}

/// The Python type name Ansible would print for a value.
fn type_debug(value: Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[i64]) -> Value {
        Value::from(items.to_vec())
    }

    #[test]
    fn set_operations_keep_first_seen_order_without_repeats() {
        let (a, b) = (list(&[3, 1, 1, 2]), list(&[2, 4]));
        let op = |keep| set_op(&a, &b, keep).unwrap().to_string();
        assert_eq!(op(|a, b| a && !b), "[3, 1]");
        assert_eq!(op(|a, b| a && b), "[2]");
        assert_eq!(op(|_, _| true), "[3, 1, 2, 4]");
        assert_eq!(op(|a, b| a != b), "[3, 1, 4]");
    }

    #[test]
    fn type_debug_names_python_types() {
        assert_eq!(type_debug(Value::from(1)), "int");
        assert_eq!(type_debug(Value::from(1.5)), "float");
        assert_eq!(type_debug(Value::from("x")), "str");
        assert_eq!(type_debug(list(&[1])), "list");
    }
}
