//! A form built from an action's JSON Schema: a text box per string or
//! number (or a value that may be either), a choice for an enum, a `const`
//! or a boolean, one item per line for a list of strings, JSON for the
//! rest (the host checks every field against the whole schema, whatever
//! the form drew). `$ref`s are followed and an optional value's null shape
//! is set aside. What is typed is kept as text and
//! turned into the params object only when the user runs the action, so
//! a mistake is named at its field and nothing typed is lost.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde_json::{Map, Value};

/// What a field holds, read from its schema.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Text,
    Integer,
    Number,
    Boolean,
    Choice(Vec<String>),
    Lines,
    Json,
}

/// One parameter of an action.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: String,
    kind: Kind,
    /// The schema says it is required.
    pub required: bool,
    description: String,
}

/// The parameters of a schema, required ones first. `None` when the schema
/// names no properties (the action then takes params as JSON).
pub fn params_of(schema: &Value) -> Option<Vec<Param>> {
    let root = schema;
    let schema = settle(root, schema);
    let properties = schema.get("properties")?.as_object()?;
    if properties.is_empty() {
        return None;
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut params: Vec<Param> = properties
        .iter()
        .map(|(name, spec)| Param {
            name: name.clone(),
            kind: kind_of(root, spec),
            required: required.contains(&name.as_str()),
            description: description(root, spec),
        })
        .collect();
    params.sort_by_key(|p| !p.required);
    Some(params)
}

/// The schema a field's form is drawn from: a `$ref` followed, a single
/// `allOf` opened, and an optional value's null shape set aside (an empty
/// field already means "not given"). Anything else is drawn as it is.
fn settle<'a>(root: &'a Value, spec: &'a Value) -> &'a Value {
    let mut spec = spec;
    for _ in 0..8 {
        if let Some(target) = spec["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| root.pointer(pointer))
        {
            spec = target;
            continue;
        }
        let shapes = ["anyOf", "oneOf", "allOf"]
            .iter()
            .find_map(|k| spec[*k].as_array())
            .map(|shapes| {
                shapes
                    .iter()
                    .filter(|s| s["type"] != "null")
                    .collect::<Vec<_>>()
            });
        match shapes.as_deref() {
            Some([only]) => spec = only,
            _ => return spec,
        }
    }
    spec
}

/// A field's description, wherever the schema put it.
fn description(root: &Value, spec: &Value) -> String {
    spec["description"]
        .as_str()
        .or_else(|| settle(root, spec)["description"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn kind_of(root: &Value, spec: &Value) -> Kind {
    let spec = settle(root, spec);
    let choices: Option<Vec<&Value>> = match (spec["enum"].as_array(), spec.get("const")) {
        (Some(values), _) => Some(values.iter().collect()),
        (None, Some(only)) => Some(vec![only]),
        _ => None,
    };
    if let Some(choices) = choices {
        return Kind::Choice(
            choices
                .into_iter()
                .filter(|c| !c.is_null())
                .map(|c| c.as_str().map_or(c.to_string(), String::from))
                .collect(),
        );
    }
    let types: Vec<&str> = match &spec["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => Vec::new(),
    };
    match types.as_slice() {
        ["string"] => Kind::Text,
        ["integer"] => Kind::Integer,
        ["number"] => Kind::Number,
        ["boolean"] => Kind::Boolean,
        ["array"] if settle(root, &spec["items"])["type"] == "string" => Kind::Lines,
        // Text or a number (a file mode): typed as text, which the host
        // reads as whichever fits.
        [_, _, ..]
            if types
                .iter()
                .all(|t| ["string", "integer", "number"].contains(t)) =>
        {
            Kind::Text
        }
        _ if scalar_shapes(root, spec) => Kind::Text,
        _ => Kind::Json,
    }
}

/// Whether every shape a value may take (`anyOf`, `oneOf`) is text or a
/// number, so a text box fits it.
fn scalar_shapes(root: &Value, spec: &Value) -> bool {
    let Some(shapes) = ["anyOf", "oneOf"].iter().find_map(|k| spec[*k].as_array()) else {
        return false;
    };
    shapes.iter().all(|shape| {
        let shape = settle(root, shape);
        matches!(
            shape["type"].as_str(),
            Some("string" | "integer" | "number" | "null")
        )
    })
}

/// Turns what was typed into the params object, or names the field that
/// does not read as its type.
pub fn build_params(
    params: &[Param],
    typed: &BTreeMap<String, String>,
) -> Result<Value, BTreeMap<String, String>> {
    let mut object = Map::new();
    let mut errors = BTreeMap::new();
    for param in params {
        let text = typed.get(&param.name).map(String::as_str).unwrap_or("");
        if text.trim().is_empty() {
            if param.required {
                errors.insert(param.name.clone(), format!("{} is required", param.name));
            }
            continue;
        }
        let value = match &param.kind {
            Kind::Text => Ok(Value::String(text.to_string())),
            Kind::Choice(choices) => Ok(choices
                .iter()
                .find(|c| c.as_str() == text)
                .map(|c| serde_json::from_str(c).unwrap_or(Value::String(c.clone())))
                .unwrap_or(Value::String(text.to_string()))),
            Kind::Integer => text
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("`{}` is not a whole number", text.trim())),
            Kind::Number => text
                .trim()
                .parse::<f64>()
                .map(Value::from)
                .map_err(|_| format!("`{}` is not a number", text.trim())),
            Kind::Boolean => match text {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                other => Err(format!("`{other}` is not yes or no")),
            },
            Kind::Lines => Ok(Value::Array(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.to_string()))
                    .collect(),
            )),
            Kind::Json => serde_json::from_str(text).map_err(|e| format!("not JSON: {e}")),
        };
        match value {
            Ok(value) => {
                object.insert(param.name.clone(), value);
            }
            Err(message) => {
                errors.insert(param.name.clone(), message);
            }
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(object))
    } else {
        Err(errors)
    }
}

/// The fields of `params`, bound to `typed`, with `errors` under each.
#[component]
pub fn ParamsForm(
    /// The parameters.
    params: Vec<Param>,
    /// What is typed, by name.
    typed: RwSignal<BTreeMap<String, String>>,
    /// Errors, by name.
    errors: RwSignal<BTreeMap<String, String>>,
) -> impl IntoView {
    params
        .into_iter()
        .map(|param| {
            let name = param.name.clone();
            let value = {
                let name = name.clone();
                move || typed.with(|t| t.get(&name).cloned().unwrap_or_default())
            };
            let set = {
                let name = name.clone();
                move |text: String| {
                    typed.update(|t| {
                        t.insert(name.clone(), text);
                    })
                }
            };
            let error = {
                let name = name.clone();
                move || errors.with(|e| e.get(&name).cloned())
            };
            let id = format!("param-{name}");
            let input = match &param.kind {
                Kind::Choice(choices) => {
                    let choices = choices.clone();
                    view! {
                        <select id=id.clone() prop:value=value on:change=move |ev| set(event_target_value(&ev))>
                            <option value="">"(default)"</option>
                            {choices.into_iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
                        </select>
                    }
                    .into_any()
                }
                Kind::Boolean => view! {
                    <select id=id.clone() prop:value=value on:change=move |ev| set(event_target_value(&ev))>
                        <option value="">"(default)"</option>
                        <option value="true">"yes"</option>
                        <option value="false">"no"</option>
                    </select>
                }
                .into_any(),
                Kind::Lines | Kind::Json => view! {
                    <textarea id=id.clone() rows="3" prop:value=value
                        placeholder=if param.kind == Kind::Lines { "one per line" } else { "JSON" }
                        on:input=move |ev| set(event_target_value(&ev))></textarea>
                }
                .into_any(),
                _ => view! {
                    <input id=id.clone() type="text" prop:value=value on:input=move |ev| set(event_target_value(&ev)) />
                }
                .into_any(),
            };
            let invalid = error.clone();
            view! {
                <div class="field" class:invalid=move || invalid().is_some()>
                    <label for=id>{name.clone()}{param.required.then_some(" *")}</label>
                    {input}
                    {move || match error() {
                        Some(message) => view! { <div class="field-error" role="alert">{message}</div> }.into_any(),
                        None => view! { <div class="field-hint">{param.description.clone()}</div> }.into_any(),
                    }}
                </div>
            }
        })
        .collect_view()
}
