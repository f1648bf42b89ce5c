//! Ansible's Jinja tests (`x is ...`) beyond Jinja's own: task results
//! (`successful`, `failure`, `reachable`, `finished`…), `contains`,
//! regular expressions (`match`, `search`, `regex`), sets (`subset`,
//! `superset`), `truthy`/`falsy`, `version` comparisons, and paths
//! (`abs`, `exists`, `file`, `directory`, `link`, `same_file`), which
//! answer about the controller's file system as Ansible's do.

use std::cmp::Ordering;
use std::path::Path;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};

use super::template::truthy;

/// Adds these tests to a template engine.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_test("changed", |v: Value| field_true(&v, "changed"));
    env.add_test("change", |v: Value| field_true(&v, "changed"));
    env.add_test("failed", |v: Value| field_true(&v, "failed"));
    env.add_test("failure", |v: Value| field_true(&v, "failed"));
    env.add_test("skipped", |v: Value| field_true(&v, "skipped"));
    env.add_test("skip", |v: Value| field_true(&v, "skipped"));
    for name in ["succeeded", "success", "successful"] {
        env.add_test(name, |v: Value| !field_true(&v, "failed"));
    }
    env.add_test("unreachable", |v: Value| field_true(&v, "unreachable"));
    env.add_test("reachable", |v: Value| !field_true(&v, "unreachable"));
    // Async results: a result without the field counts as finished.
    env.add_test("finished", |v: Value| field_or(&v, "finished", true));
    env.add_test("started", |v: Value| field_or(&v, "started", true));
    env.add_test("contains", contains);
    env.add_test("match", |v: String, p: String, k: Kwargs| {
        regex_test(&v, &p, k, Kind::Match)
    });
    env.add_test("search", |v: String, p: String, k: Kwargs| {
        regex_test(&v, &p, k, Kind::Search)
    });
    env.add_test("regex", regex_named);
    env.add_test("subset", |a: Value, b: Value| subset(&a, &b));
    env.add_test("superset", |a: Value, b: Value| subset(&b, &a));
    env.add_test("any", |v: Value| {
        iterate(&v).is_ok_and(|i| i.iter().any(truthy))
    });
    env.add_test("all", |v: Value| {
        iterate(&v).is_ok_and(|i| i.iter().all(truthy))
    });
    env.add_test("truthy", |v: Value, k: Kwargs| truthiness(&v, k));
    env.add_test("falsy", |v: Value, k: Kwargs| truthiness(&v, k).map(|t| !t));
    env.add_test("nan", |v: f64| v.is_nan());
    env.add_test("version", version);
    env.add_test("version_compare", version);
    env.add_test("vault_encrypted", |v: Value| {
        v.as_str()
            .is_some_and(|s| s.trim_start().starts_with("$ANSIBLE_VAULT;"))
    });
    env.add_test("abs", |p: String| Path::new(&p).is_absolute());
    env.add_test("exists", |p: String| Path::new(&p).exists());
    env.add_test("file", |p: String| Path::new(&p).is_file());
    env.add_test("directory", |p: String| Path::new(&p).is_dir());
    env.add_test("link", |p: String| Path::new(&p).is_symlink());
    env.add_test("same_file", |a: String, b: String| {
        match (Path::new(&a).canonicalize(), Path::new(&b).canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    });
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// Whether a task result's field is true (false when it is missing).
fn field_true(value: &Value, field: &str) -> bool {
    field_or(value, field, false)
}

fn field_or(value: &Value, field: &str, missing: bool) -> bool {
    match value.get_attr(field) {
        Ok(v) if !v.is_undefined() && !v.is_none() => truthy(&v),
        _ => missing,
    }
}

fn iterate(value: &Value) -> Result<Vec<Value>, Error> {
    Ok(value.try_iter()?.collect())
}

/// `container is contains(item)`: a list holds the item, a mapping the
/// key, a string the substring.
fn contains(container: Value, item: Value) -> Result<bool, Error> {
    if let (Some(text), Some(part)) = (container.as_str(), item.as_str()) {
        return Ok(text.contains(part));
    }
    Ok(iterate(&container)?.contains(&item))
}

#[derive(Clone, Copy)]
enum Kind {
    Match,
    Search,
}

/// `match` (from the start), `search` (anywhere), with Ansible's
/// `ignorecase` and `multiline` keywords.
fn regex_test(value: &str, pattern: &str, kwargs: Kwargs, kind: Kind) -> Result<bool, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let regex = regex::RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| bad(format!("`{pattern}` is not a regular expression: {e}")))?;
    Ok(match kind {
        Kind::Search => regex.is_match(value),
        Kind::Match => regex.find(value).is_some_and(|m| m.start() == 0),
    })
}

/// `regex(pattern, match_type='search'|'match'|'fullmatch')`.
fn regex_named(value: String, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let match_type = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| "search".into());
    match match_type.as_str() {
        "search" => regex_test(&value, &pattern, kwargs, Kind::Search),
        "match" => regex_test(&value, &pattern, kwargs, Kind::Match),
        "fullmatch" => regex_test(&value, &format!("(?:{pattern})$"), kwargs, Kind::Match),
        other => Err(bad(format!(
            "regex: match_type `{other}` is unknown (search, match, fullmatch)"
        ))),
    }
}

fn subset(small: &Value, big: &Value) -> Result<bool, Error> {
    let big = iterate(big)?;
    Ok(iterate(small)?.iter().all(|item| big.contains(item)))
}

/// `truthy`/`falsy`, with `convert_bool=True` reading `"yes"`, `"off"`…
/// as booleans.
fn truthiness(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    Ok(if convert {
        truthy(value)
    } else {
        value.is_true()
    })
}

/// `version(other, operator='eq', strict=False, version_type=...)`:
/// compares dotted versions part by part, numbers as numbers.
fn version(
    value: Value,
    other: Value,
    operator: Option<String>,
    rest: Kwargs,
) -> Result<bool, Error> {
    let operator = match operator {
        Some(written) => written,
        None => rest
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let _strict = rest.get::<Option<bool>>("strict")?;
    let _kind = rest.get::<Option<String>>("version_type")?;
    rest.assert_all_used()?;
    let order = compare_versions(&value.to_string(), &other.to_string());
    Ok(match operator.as_str() {
        "==" | "=" | "eq" => order == Ordering::Equal,
        "!=" | "<>" | "ne" => order != Ordering::Equal,
        "<" | "lt" => order == Ordering::Less,
        "<=" | "le" => order != Ordering::Greater,
        ">" | "gt" => order == Ordering::Greater,
        ">=" | "ge" => order != Ordering::Less,
        other => return Err(bad(format!("version: operator `{other}` is unknown"))),
    })
}

/// Orders two versions: split at non-alphanumerics, numeric parts as
/// numbers, a number above a word (`1.0 > 1.0rc1`'s `rc`), a longer
/// version above its prefix.
fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut current = String::new();
        let mut digits = None;
        for c in v.chars() {
            if !c.is_ascii_alphanumeric() {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                digits = None;
                continue;
            }
            let is_digit = c.is_ascii_digit();
            if digits.is_some_and(|d| d != is_digit) && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            digits = Some(is_digit);
            current.push(c);
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    };
    let (a, b) = (parts(a), parts(b));
    for (x, y) in a.iter().zip(&b) {
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Ordering::Greater,
            (Err(_), Ok(_)) => Ordering::Less,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::compare_versions;
    use std::cmp::Ordering::*;

    #[test]
    fn versions_compare_part_by_part_with_numbers_as_numbers() {
        assert_eq!(compare_versions("1.10", "1.9"), Greater);
        assert_eq!(compare_versions("2.19.4", "2.19.4"), Equal);
        assert_eq!(compare_versions("1.0", "1.0.1"), Less);
        assert_eq!(compare_versions("1.0rc1", "1.0.1"), Less);
        assert_eq!(compare_versions("3.11", "3.9"), Greater);
    }
}
