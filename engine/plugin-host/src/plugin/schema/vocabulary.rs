//! The keywords Capstan checks, and the refusal at install of a schema
//! that relies on any other: a keyword the checker skipped would leave a
//! field unchecked without anyone knowing.

use serde_json::Value;

use super::resolve;

/// Keywords that describe rather than constrain: allowed, not checked.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "definitions",
    "title",
    "description",
    "default",
    "examples",
    "format",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
    // Capstan's own: the value is masked in logs and history.
    "secret",
];

/// Keywords [`super::validate_params`] enforces.
const CHECKED: &[&str] = &[
    "$ref",
    "type",
    "enum",
    "const",
    "allOf",
    "anyOf",
    "oneOf",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
];

const TYPES: &[&str] = &[
    "object", "array", "string", "boolean", "null", "number", "integer",
];

/// Checks a params schema only uses what Capstan can enforce, in the
/// shapes the checker reads; the error names the keyword and where it is
/// (`properties.mode.not`).
pub fn check_vocabulary(schema: &Value) -> Result<(), String> {
    Walk { root: schema }.schema(schema, "schema")
}

struct Walk<'a> {
    root: &'a Value,
}

impl Walk<'_> {
    fn schema(&self, schema: &Value, at: &str) -> Result<(), String> {
        let object = match schema {
            Value::Object(object) => object,
            Value::Bool(_) => return Ok(()),
            other => return Err(format!("{at} is {other}, not a schema")),
        };
        for (keyword, value) in object {
            let here = format!("{at}.{keyword}");
            if keyword.starts_with("x-") || ANNOTATIONS.contains(&keyword.as_str()) {
                if keyword == "$defs" || keyword == "definitions" {
                    self.schemas_by_name(value, &here)?;
                }
                continue;
            }
            if !CHECKED.contains(&keyword.as_str()) {
                return Err(format!(
                    "{here}: Capstan cannot check `{keyword}`, so the field would go unchecked \
                     (it checks {})",
                    CHECKED.join(", ")
                ));
            }
            self.keyword(keyword, value, &here)?;
        }
        Ok(())
    }

    fn keyword(&self, keyword: &str, value: &Value, at: &str) -> Result<(), String> {
        match keyword {
            "$ref" => {
                let reference = value.as_str().ok_or_else(|| format!("{at} must be text"))?;
                if resolve(self.root, reference).is_none() {
                    return Err(format!(
                        "{at}: `{reference}` leads nowhere (only references inside the schema, \
                         such as #/$defs/Name, are followed)"
                    ));
                }
                Ok(())
            }
            "type" => {
                let names: Vec<&Value> = match value {
                    Value::Array(names) if !names.is_empty() => names.iter().collect(),
                    Value::String(_) => vec![value],
                    _ => return Err(format!("{at} must be a type name or a list of them")),
                };
                for name in names {
                    if !name.as_str().is_some_and(|n| TYPES.contains(&n)) {
                        return Err(format!("{at}: {name} is not a JSON Schema type"));
                    }
                }
                Ok(())
            }
            "enum" => match value {
                Value::Array(values) if !values.is_empty() => Ok(()),
                _ => Err(format!("{at} must be a list of values")),
            },
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => match value {
                Value::Array(schemas) if !schemas.is_empty() || keyword == "prefixItems" => {
                    for (i, sub) in schemas.iter().enumerate() {
                        self.schema(sub, &format!("{at}[{i}]"))?;
                    }
                    Ok(())
                }
                _ => Err(format!("{at} must be a list of schemas")),
            },
            "properties" => self.schemas_by_name(value, at),
            "additionalProperties" | "items" => self.schema(value, at),
            "required" => match value {
                Value::Array(names) if names.iter().all(Value::is_string) => Ok(()),
                _ => Err(format!("{at} must be a list of field names")),
            },
            "uniqueItems" => match value {
                Value::Bool(_) => Ok(()),
                _ => Err(format!("{at} must be true or false")),
            },
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => value
                .as_f64()
                .map(|_| ())
                .ok_or_else(|| format!("{at} must be a number")),
            "minItems" | "maxItems" | "minLength" | "maxLength" => value
                .as_u64()
                .map(|_| ())
                .ok_or_else(|| format!("{at} must be a whole number")),
            "pattern" => {
                let pattern = value.as_str().ok_or_else(|| format!("{at} must be text"))?;
                super::pattern(pattern)
                    .map(|_| ())
                    .ok_or_else(|| format!("{at}: the pattern `{pattern}` does not compile"))
            }
            // `const`: any value.
            _ => Ok(()),
        }
    }

    fn schemas_by_name(&self, value: &Value, at: &str) -> Result<(), String> {
        let Some(named) = value.as_object() else {
            return Err(format!("{at} must map names to schemas"));
        };
        named
            .iter()
            .try_for_each(|(name, sub)| self.schema(sub, &format!("{at}.{name}")))
    }
}
