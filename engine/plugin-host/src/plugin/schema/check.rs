//! Checking a value against a schema, naming the first field that does
//! not fit.

use serde_json::{Map, Value};

use super::{MAX_REF_DEPTH, resolve};
use crate::param_error::{ParamError, ParamProblem};

/// Checks `value` against `schema`; the error names the offending field.
pub fn validate_params(schema: &Value, value: &Value) -> Result<(), ParamError> {
    Checker { root: schema }.check(schema, value, "params", 0)
}

/// Checks values against one schema document (the root `$ref`s point into).
pub(super) struct Checker<'a> {
    pub(super) root: &'a Value,
}

type Checked = Result<(), ParamError>;

fn refuse(at: &str, problem: ParamProblem) -> Checked {
    Err(ParamError {
        at: at.to_string(),
        problem,
    })
}

impl Checker<'_> {
    /// Checks `value`, found at `at`, against `schema`; `depth` counts the
    /// `$ref`s followed to get here.
    pub(super) fn check(&self, schema: &Value, value: &Value, at: &str, depth: usize) -> Checked {
        let schema = match schema {
            Value::Object(schema) => schema,
            Value::Bool(false) => return refuse(at, ParamProblem::Forbidden),
            _ => return Ok(()),
        };
        if let Some(reference) = schema.get("$ref") {
            if depth >= MAX_REF_DEPTH {
                return refuse(
                    at,
                    ParamProblem::BadSchema(format!(
                        "more than {MAX_REF_DEPTH} `$ref`s lead to one another"
                    )),
                );
            }
            let Some(target) = reference.as_str().and_then(|r| resolve(self.root, r)) else {
                return refuse(
                    at,
                    ParamProblem::BadSchema(format!("`$ref` {reference} leads nowhere")),
                );
            };
            self.check(target, value, at, depth + 1)?;
        }
        for sub in list(schema, "allOf") {
            self.check(sub, value, at, depth)?;
        }
        self.check_shapes(schema, value, at, depth)?;
        check_type(schema, value, at)?;
        check_allowed(schema, value, at)?;
        match value {
            Value::Number(_) => check_number(schema, value, at),
            Value::String(text) => check_text(schema, text, at),
            Value::Array(items) => self.check_items(schema, items, at, depth),
            Value::Object(fields) => self.check_fields(schema, fields, at, depth),
            _ => Ok(()),
        }
    }

    /// `anyOf` (at least one shape fits) and `oneOf` (exactly one does).
    fn check_shapes(
        &self,
        schema: &Map<String, Value>,
        value: &Value,
        at: &str,
        depth: usize,
    ) -> Checked {
        if schema.contains_key("anyOf") {
            let mut errors = Vec::new();
            for sub in list(schema, "anyOf") {
                match self.check(sub, value, at, depth) {
                    Ok(()) => {
                        errors.clear();
                        break;
                    }
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                return Err(closest(errors, at));
            }
        }
        if schema.contains_key("oneOf") {
            let mut errors = Vec::new();
            let mut fits = 0;
            for sub in list(schema, "oneOf") {
                match self.check(sub, value, at, depth) {
                    Ok(()) => fits += 1,
                    Err(e) => errors.push(e),
                }
            }
            match fits {
                0 => return Err(closest(errors, at)),
                1 => {}
                n => return refuse(at, ParamProblem::Ambiguous(n)),
            }
        }
        Ok(())
    }

    fn check_items(
        &self,
        schema: &Map<String, Value>,
        items: &[Value],
        at: &str,
        depth: usize,
    ) -> Checked {
        let prefix = list(schema, "prefixItems");
        for (i, item) in items.iter().enumerate() {
            if let Some(sub) = prefix.get(i).copied().or_else(|| schema.get("items")) {
                self.check(sub, item, &format!("{at}[{i}]"), depth)?;
            }
        }
        check_length(schema, items.len(), "items", "minItems", "maxItems", at)?;
        if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    return refuse(at, ParamProblem::Repeated(item.to_string()));
                }
            }
        }
        Ok(())
    }

    fn check_fields(
        &self,
        schema: &Map<String, Value>,
        fields: &Map<String, Value>,
        at: &str,
        depth: usize,
    ) -> Checked {
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, field) in fields {
            let field_at = format!("{at}.{name}");
            match (
                properties.and_then(|p| p.get(name)),
                schema.get("additionalProperties"),
            ) {
                (Some(sub), _) => self.check(sub, field, &field_at, depth)?,
                (None, Some(Value::Bool(false))) => {
                    let known: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    return refuse(
                        at,
                        ParamProblem::Unknown {
                            name: name.clone(),
                            known: known.join(", "),
                        },
                    );
                }
                (None, Some(other)) => self.check(other, field, &field_at, depth)?,
                (None, None) => {}
            }
        }
        // After the fields: a tagged shape's tag that differs says more
        // than a field of that shape that is missing.
        for name in list(schema, "required").iter().filter_map(|n| n.as_str()) {
            if !fields.contains_key(name) {
                return refuse(at, ParamProblem::Missing(name.to_string()));
            }
        }
        Ok(())
    }
}

/// The schemas listed under `keyword` (`allOf`, `prefixItems`, ...).
pub(super) fn list<'a>(schema: &'a Map<String, Value>, keyword: &str) -> Vec<&'a Value> {
    match schema.get(keyword) {
        Some(Value::Array(items)) => items.iter().collect(),
        _ => Vec::new(),
    }
}

/// The one error to report when no shape fits. A shape that refused the
/// value's type outright, or whose tag (`const`) differs, is not the one
/// the user meant when another shape got further, so those are dropped.
fn closest(errors: Vec<ParamError>, at: &str) -> ParamError {
    let wrong_type =
        |e: &ParamError| e.at == at && matches!(e.problem, ParamProblem::WrongType { .. });
    if errors.iter().all(wrong_type) {
        let mut expected: Vec<String> = Vec::new();
        let mut got = "a value";
        for e in &errors {
            if let ParamProblem::WrongType {
                expected: e_expected,
                got: e_got,
            } = &e.problem
            {
                got = e_got;
                if !expected.contains(e_expected) {
                    expected.push(e_expected.clone());
                }
            }
        }
        return ParamError {
            at: at.to_string(),
            problem: ParamProblem::WrongType {
                expected: expected.join(" or "),
                got,
            },
        };
    }
    let mut further: Vec<ParamError> = errors.into_iter().filter(|e| !wrong_type(e)).collect();
    let other_tag = |e: &ParamError| matches!(e.problem, ParamProblem::Differs { .. });
    if further.iter().any(|e| !other_tag(e)) {
        further.retain(|e| !other_tag(e));
    }
    if further.len() == 1 {
        return further.remove(0);
    }
    ParamError {
        at: at.to_string(),
        problem: ParamProblem::NoShape(further.iter().map(ToString::to_string).collect()),
    }
}

/// The schema's `type` names (one, or a list).
pub(super) fn types(schema: &Map<String, Value>) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn check_type(schema: &Map<String, Value>, value: &Value, at: &str) -> Checked {
    let types = types(schema);
    if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
        return refuse(
            at,
            ParamProblem::WrongType {
                expected: types.join(" or "),
                got: type_name(value),
            },
        );
    }
    Ok(())
}

/// `const` and `enum`.
fn check_allowed(schema: &Map<String, Value>, value: &Value, at: &str) -> Checked {
    if let Some(only) = schema.get("const")
        && !same(only, value)
    {
        return refuse(
            at,
            ParamProblem::Differs {
                value: value.to_string(),
                expected: only.to_string(),
            },
        );
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.iter().any(|a| same(a, value))
    {
        let shown: Vec<String> = allowed.iter().map(Value::to_string).collect();
        return refuse(
            at,
            ParamProblem::NotAllowed {
                value: value.to_string(),
                allowed: shown.join(", "),
            },
        );
    }
    Ok(())
}

/// JSON Schema equality: numbers compare by value (`1` is `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn check_number(schema: &Map<String, Value>, value: &Value, at: &str) -> Checked {
    let Some(n) = value.as_f64() else {
        return Ok(());
    };
    let bound = |keyword: &str| schema.get(keyword).and_then(Value::as_f64);
    let broken = [
        bound("minimum")
            .filter(|b| n < *b)
            .map(|b| format!("at least {b}")),
        bound("maximum")
            .filter(|b| n > *b)
            .map(|b| format!("at most {b}")),
        bound("exclusiveMinimum")
            .filter(|b| n <= *b)
            .map(|b| format!("above {b}")),
        bound("exclusiveMaximum")
            .filter(|b| n >= *b)
            .map(|b| format!("below {b}")),
    ]
    .into_iter()
    .flatten()
    .next();
    match broken {
        Some(bound) => refuse(
            at,
            ParamProblem::OutOfRange {
                value: value.to_string(),
                bound,
            },
        ),
        None => Ok(()),
    }
}

fn check_text(schema: &Map<String, Value>, text: &str, at: &str) -> Checked {
    check_length(
        schema,
        text.chars().count(),
        "characters",
        "minLength",
        "maxLength",
        at,
    )?;
    if let Some(Value::String(pattern)) = schema.get("pattern") {
        let Some(regex) = super::pattern(pattern) else {
            return refuse(
                at,
                ParamProblem::BadSchema(format!("the pattern `{pattern}` does not compile")),
            );
        };
        if !regex.is_match(text) {
            return refuse(
                at,
                ParamProblem::Pattern {
                    value: Value::String(text.to_string()).to_string(),
                    pattern: pattern.clone(),
                },
            );
        }
    }
    Ok(())
}

fn check_length(
    schema: &Map<String, Value>,
    len: usize,
    unit: &'static str,
    min: &str,
    max: &str,
    at: &str,
) -> Checked {
    let bound = |keyword: &str| schema.get(keyword).and_then(Value::as_u64);
    let broken = [
        bound(min)
            .filter(|b| (len as u64) < *b)
            .map(|b| format!("at least {b}")),
        bound(max)
            .filter(|b| (len as u64) > *b)
            .map(|b| format!("at most {b}")),
    ]
    .into_iter()
    .flatten()
    .next();
    match broken {
        Some(bound) => refuse(at, ParamProblem::Length { len, unit, bound }),
        None => Ok(()),
    }
}

pub(super) fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        // Not `1.0`: a plugin's integer field would refuse it.
        "integer" => value.is_i64() || value.is_u64(),
        _ => true,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
