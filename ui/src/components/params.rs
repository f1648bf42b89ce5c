//! A form built from an action's JSON Schema: a text box per string or
//! number, a choice for an enum or a boolean, one item per line for a
//! list of strings, JSON for the rest. What is typed is kept as text and
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
            kind: kind_of(spec),
            required: required.contains(&name.as_str()),
            description: spec["description"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    params.sort_by_key(|p| !p.required);
    Some(params)
}

fn kind_of(spec: &Value) -> Kind {
    if let Some(choices) = spec["enum"].as_array() {
        return Kind::Choice(
            choices
                .iter()
                .map(|c| c.as_str().map_or(c.to_string(), String::from))
                .collect(),
        );
    }
    match spec["type"].as_str() {
        Some("string") => Kind::Text,
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("array") if spec["items"]["type"] == "string" => Kind::Lines,
        _ => Kind::Json,
    }
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
