//! Jinja templating as Ansible does it, on minijinja: strict about
//! undefined variables (the error names the variable), Python-style
//! printing of lists, mappings and booleans, and the filters and tests
//! playbooks use most.

use std::collections::HashSet;

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::Value as Json;

/// How many times a variable holding a template is rendered in turn.
const MAX_DEPTH: usize = 8;

/// The template engine for one playbook run.
pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// Variables a template sees.
#[derive(Clone, Debug)]
pub struct Scope {
    value: Value,
    json: Json,
}

impl Scope {
    /// Variables from a JSON object.
    pub fn new(vars: Json) -> Scope {
        Scope {
            value: Value::from_serialize(&vars),
            json: vars,
        }
    }

    /// The variables as JSON.
    pub fn json(&self) -> &Json {
        &self.json
    }

    /// This scope with `name` (re)bound to `value`.
    pub fn with(&self, name: &str, value: Json) -> Scope {
        let mut json = self.json.clone();
        if let Json::Object(map) = &mut json {
            map.insert(name.to_string(), value);
        }
        Scope::new(json)
    }
}

impl Templates {
    /// An engine with Ansible's filters and tests.
    pub fn new() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(true);
        env.set_formatter(|out, state, value| match value.kind() {
            ValueKind::Seq | ValueKind::Map | ValueKind::Bool | ValueKind::None => {
                let json = serde_json::to_value(value).unwrap_or(Json::Null);
                out.write_str(&python_repr(&json))
                    .map_err(|_| minijinja::Error::from(ErrorKind::WriteFailure))
            }
            _ => minijinja::escape_formatter(out, state, value),
        });
        env.add_filter("bool", to_bool);
        env.add_filter("to_json", to_json);
        env.add_filter("to_nice_json", to_nice_json);
        env.add_filter("regex_replace", regex_replace);
        env.add_filter("regex_search", regex_search);
        env.add_filter("ternary", ternary);
        env.add_filter("basename", basename);
        env.add_filter("dirname", dirname);
        env.add_filter("quote", quote);
        env.add_filter("mandatory", mandatory);
        env.add_test("changed", |v: Value| field_true(&v, "changed"));
        env.add_test("failed", |v: Value| field_true(&v, "failed"));
        env.add_test("skipped", |v: Value| field_true(&v, "skipped"));
        env.add_test("succeeded", |v: Value| !field_true(&v, "failed"));
        env.add_test("success", |v: Value| !field_true(&v, "failed"));
        Templates { env }
    }

    /// Whether a string has anything to template.
    pub fn is_template(text: &str) -> bool {
        text.contains("{{") || text.contains("{%")
    }

    /// Renders a string. A string that is one `{{ expression }}` and nothing
    /// else keeps the expression's type (a list stays a list), as Ansible does.
    pub fn render_value(&self, text: &str, scope: &Scope) -> Result<Json, String> {
        self.render_value_at(text, scope, 0)
    }

    fn render_value_at(&self, text: &str, scope: &Scope, depth: usize) -> Result<Json, String> {
        if !Self::is_template(text) {
            return Ok(Json::String(text.to_string()));
        }
        if let Some(expr) = single_expression(text) {
            let value = self.eval(expr, scope)?;
            let json = serde_json::to_value(&value).unwrap_or(Json::Null);
            // A variable holding a template is rendered in turn, as
            // Ansible's lazy variables are.
            if let Json::String(inner) = &json
                && Self::is_template(inner)
                && depth < MAX_DEPTH
            {
                return self.render_value_at(inner, scope, depth + 1);
            }
            return Ok(json);
        }
        let out = self.render_text_at(text, scope, depth)?;
        Ok(python_literal(&out).unwrap_or(Json::String(out)))
    }

    /// Renders a string to text.
    pub fn render_text(&self, text: &str, scope: &Scope) -> Result<String, String> {
        self.render_text_at(text, scope, 0)
    }

    fn render_text_at(&self, text: &str, scope: &Scope, depth: usize) -> Result<String, String> {
        let template = self
            .env
            .template_from_str(text)
            .map_err(|e| describe(&e, None))?;
        let out = template
            .render(&scope.value)
            .map_err(|e| describe(&e, Some((&template.undeclared_variables(true), scope))))?;
        if Self::is_template(&out) && out != text && depth < MAX_DEPTH {
            return self.render_text_at(&out, scope, depth + 1);
        }
        Ok(out)
    }

    /// Evaluates a bare expression (a `when:` condition, `that:` item).
    pub fn eval(&self, expr: &str, scope: &Scope) -> Result<Value, String> {
        let expr = expr.trim();
        let expr = single_expression(expr).unwrap_or(expr);
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| describe(&e, None))?;
        let value = compiled
            .eval(&scope.value)
            .map_err(|e| describe(&e, Some((&compiled.undeclared_variables(true), scope))))?;
        if value.is_undefined() {
            let names = compiled.undeclared_variables(true);
            return Err(undefined_message(&names, scope)
                .unwrap_or_else(|| format!("`{expr}` is undefined")));
        }
        Ok(value)
    }

    /// Evaluates a condition to true or false.
    pub fn condition(&self, expr: &str, scope: &Scope) -> Result<bool, String> {
        Ok(truthy(&self.eval(expr, scope)?))
    }

    /// Templates every string inside a JSON value.
    pub fn render_json(&self, value: &Json, scope: &Scope) -> Result<Json, String> {
        Ok(match value {
            Json::String(s) => self.render_value(s, scope)?,
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|v| self.render_json(v, scope))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_json(v, scope)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }
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

/// Ansible turns a rendered text that reads as a Python number or
/// boolean (`"1\n"`, `"True"`) into that value; text stays text.
fn python_literal(text: &str) -> Option<Json> {
    let t = text.trim();
    match t {
        "True" => return Some(Json::Bool(true)),
        "False" => return Some(Json::Bool(false)),
        _ => {}
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > 1 && digits.starts_with('0') {
            return None;
        }
        return t.parse::<i64>().ok().map(Json::from);
    }
    None
}

/// `{{ expr }}` alone, without other text: its inner expression.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then_some(inner)
}

fn describe(error: &minijinja::Error, undefined: Option<(&HashSet<String>, &Scope)>) -> String {
    if error.kind() == ErrorKind::UndefinedError
        && let Some((names, scope)) = undefined
        && let Some(message) = undefined_message(names, scope)
    {
        return message;
    }
    let mut message = error.kind().to_string();
    if let Some(detail) = error.detail() {
        message = format!("{message}: {detail}");
    }
    message
}

/// Names the first variable (or attribute path) that the scope lacks.
fn undefined_message(names: &HashSet<String>, scope: &Scope) -> Option<String> {
    let mut names: Vec<&String> = names.iter().collect();
    names.sort();
    for name in names {
        let mut parts = name.split('.');
        let root = parts.next()?;
        let Some(mut value) = scope.json.get(root) else {
            return Some(format!("undefined variable `{root}`"));
        };
        let mut path = root.to_string();
        for part in parts {
            path = format!("{path}.{part}");
            match value.get(part) {
                Some(inner) => value = inner,
                None => return Some(format!("undefined variable `{path}`")),
            }
        }
    }
    None
}

fn field_true(value: &Value, field: &str) -> bool {
    value.get_attr(field).map(|v| truthy(&v)).unwrap_or(false)
}

fn to_bool(value: Value) -> bool {
    truthy(&value)
}

fn json_of(value: &Value) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

fn to_json(value: Value) -> String {
    python_json(&json_of(&value))
}

fn to_nice_json(value: Value) -> String {
    serde_json::to_string_pretty(&json_of(&value)).unwrap_or_default()
}

/// Python's `json.dumps` default layout: `", "` and `": "` separators.
fn python_json(value: &Json) -> String {
    match value {
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Json::String(k.clone()), python_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// How Python prints a value (`['a', 1]`, `{'k': True}`), which is what
/// Ansible writes when a list or mapping is templated into text.
fn python_repr(value: &Json) -> String {
    match value {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => python_str(s),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", python_str(k), python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn python_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn compile_regex(pattern: &str) -> Result<regex::Regex, minijinja::Error> {
    regex::Regex::new(pattern).map_err(|e| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("bad regular expression `{pattern}`: {e}"),
        )
    })
}

/// Python's replacement syntax (`\1`, `\g<name>`) in Rust's (`${1}`).
fn python_replacement(replacement: &str) -> String {
    let mut out = String::new();
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut group = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        group.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

fn regex_replace(
    value: String,
    pattern: String,
    replacement: Option<String>,
) -> Result<String, minijinja::Error> {
    let re = compile_regex(&pattern)?;
    let replacement = python_replacement(&replacement.unwrap_or_default());
    Ok(re.replace_all(&value, replacement.as_str()).into_owned())
}

fn regex_search(value: String, pattern: String) -> Result<Value, minijinja::Error> {
    let re = compile_regex(&pattern)?;
    Ok(re
        .find(&value)
        .map(|m| Value::from(m.as_str()))
        .unwrap_or(Value::from(())))
}

fn ternary(value: Value, yes: Value, no: Value) -> Value {
    if truthy(&value) { yes } else { no }
}

fn basename(path: String) -> String {
    path.rsplit('/').next().unwrap_or_default().to_string()
}

fn dirname(path: String) -> String {
    match path.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => path[..i].to_string(),
        None => String::new(),
    }
}

fn quote(value: String) -> String {
    crate::remote::quote(&value)
}

fn mandatory(value: Value) -> Result<Value, minijinja::Error> {
    if value.is_undefined() {
        return Err(minijinja::Error::new(
            ErrorKind::UndefinedError,
            "a mandatory variable is not defined",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        Scope::new(json!({
            "pkgs": ["git", "curl"], "name": "Web", "port": 80, "flag": "yes",
            "result": {"stdout": "hello", "changed": true}
        }))
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let t = Templates::new();
        assert_eq!(
            t.render_value("{{ pkgs }}", &scope()).unwrap(),
            json!(["git", "curl"])
        );
        assert_eq!(
            t.render_value("{{ port + 1 }}", &scope()).unwrap(),
            json!(81)
        );
        assert_eq!(
            t.render_value("port {{ port }}", &scope()).unwrap(),
            json!("port 80")
        );
        assert_eq!(
            t.render_value("{{ pkgs }} and {{ flag | bool }}", &scope())
                .unwrap(),
            json!("['git', 'curl'] and True")
        );
    }

    #[test]
    fn ansible_filters() {
        let t = Templates::new();
        let r = |s: &str| t.render_value(s, &scope()).unwrap();
        assert_eq!(r("{{ missing | default('x') }}"), json!("x"));
        assert_eq!(r("{{ missing | d(3) }}"), json!(3));
        assert_eq!(r("{{ pkgs | join(',') }}"), json!("git,curl"));
        assert_eq!(r("{{ name | lower }}-{{ name | upper }}"), json!("web-WEB"));
        assert_eq!(r("{{ name | replace('W', 'w') }}"), json!("web"));
        assert_eq!(
            r("{{ 'a-1' | regex_replace('(\\\\w)-(\\\\d)', '\\\\2\\\\1') }}"),
            json!("1a")
        );
        assert_eq!(r("{{ pkgs | to_json }}"), json!("[\"git\", \"curl\"]"));
        assert_eq!(r("{{ pkgs | length }}"), json!(2));
        assert_eq!(r("{{ flag | bool }}"), json!(true));
        assert_eq!(r("{{ result is changed }}"), json!(true));
    }

    #[test]
    fn undefined_variables_are_named() {
        let t = Templates::new();
        let err = t.render_value("x {{ nope }} y", &scope()).unwrap_err();
        assert_eq!(err, "undefined variable `nope`");
        let err = t
            .render_value("{{ result.stdout_lines }}", &scope())
            .unwrap_err();
        assert_eq!(err, "undefined variable `result.stdout_lines`");
        let err = t.condition("nope == 1", &scope()).unwrap_err();
        assert_eq!(err, "undefined variable `nope`");
        assert!(t.condition("nope is not defined", &scope()).unwrap());
    }
}
