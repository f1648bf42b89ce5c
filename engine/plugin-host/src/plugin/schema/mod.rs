//! Checks action parameters against a plugin's JSON Schema, so a typo is
//! refused before anything runs. The vocabulary is what a derived schema
//! uses (`type`, `properties`, `required`, `additionalProperties`, `items`,
//! `prefixItems`, `enum`, `const`, `$ref`, `allOf`, `anyOf`, `oneOf`, and
//! bounds on numbers, texts and lists); a plugin whose schema needs any
//! other keyword is refused at install ([`check_vocabulary`]), so no field
//! goes unchecked without anyone knowing.

mod check;
mod coerce;
mod vocabulary;

use serde_json::Value;

pub use crate::param_error::{ParamError, ParamProblem};
pub use check::validate_params;
pub use coerce::coerce_params;
pub use vocabulary::check_vocabulary;

/// How many `$ref`s may lead one to another before the check gives up (a
/// schema whose references loop would otherwise never end).
const MAX_REF_DEPTH: usize = 32;

/// The schema a local `$ref` (`#`, `#/$defs/Name`) points to in `root`.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

/// A schema's `pattern`, compiled within a size limit (a plugin's schema
/// must not make the host build a huge automaton).
fn pattern(text: &str) -> Option<regex::Regex> {
    regex::RegexBuilder::new(text)
        .size_limit(1 << 20)
        .build()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "argv": { "type": "array", "items": { "type": "string" } },
                "state": { "enum": ["present", "absent"] }
            },
            "required": ["argv"],
            "additionalProperties": false
        })
    }

    #[test]
    fn accepts_what_fits() {
        validate_params(
            &schema(),
            &json!({ "argv": ["ls", "-l"], "state": "present" }),
        )
        .unwrap();
    }

    #[test]
    fn names_the_field_that_does_not_fit() {
        let err = |v: Value| validate_params(&schema(), &v).unwrap_err().to_string();
        assert_eq!(
            validate_params(&schema(), &json!({})).unwrap_err(),
            ParamError {
                at: "params".into(),
                problem: ParamProblem::Missing("argv".into())
            }
        );
        assert_eq!(err(json!({})), "params: `argv` is required");
        assert_eq!(
            err(json!({ "argv": ["ls", 3] })),
            "params.argv[1]: expected string, got a number"
        );
        assert!(
            err(json!({ "argv": [], "sate": "x" })).starts_with("params: unknown field `sate`")
        );
        assert!(err(json!({ "argv": [], "state": "gone" })).contains("is not one of"));
        assert_eq!(err(json!([1])), "params: expected object, got an array");
    }

    #[test]
    fn coerces_like_ansible_argument_specs() {
        let schema = json!({
            "type": "object",
            "properties": {
                "create": { "type": "boolean" },
                "names": { "type": "array", "items": { "type": "string" } },
                "uid": { "type": "integer" },
                "line": { "type": "string" },
                "state": { "enum": ["present", "absent"] }
            }
        });
        let mut v = json!({"create": "yes", "names": "git, curl", "uid": "1001", "line": 42, "state": "present"});
        coerce_params(&schema, &mut v);
        assert_eq!(
            v,
            json!({"create": true, "names": ["git", "curl"], "uid": 1001, "line": "42", "state": "present"})
        );
        let mut v = json!({"create": "maybe"});
        coerce_params(&schema, &mut v);
        assert!(
            validate_params(&schema, &v)
                .unwrap_err()
                .at
                .starts_with("params.create")
        );
    }

    /// A schema as schemars derives one: definitions behind `$ref`, a
    /// tagged enum as `oneOf` with `const` tags, an `Option` as `anyOf`
    /// with null, unsigned integers with a minimum.
    fn derived() -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Params",
            "type": "object",
            "properties": {
                "port": { "type": "integer", "format": "uint16", "minimum": 0, "maximum": 65535 },
                "owner": { "anyOf": [{ "$ref": "#/$defs/Owner" }, { "type": "null" }] },
                "state": {
                    "oneOf": [
                        { "type": "object", "properties": { "kind": { "const": "absent" } }, "required": ["kind"], "additionalProperties": false },
                        {
                            "type": "object",
                            "properties": { "kind": { "const": "present" }, "mode": { "type": "string", "pattern": "^[0-7]{3,4}$" } },
                            "required": ["kind", "mode"],
                            "additionalProperties": false
                        }
                    ]
                },
                "tags": { "type": "array", "items": { "type": "string", "minLength": 1 }, "uniqueItems": true, "maxItems": 3 },
                "env": { "type": "object", "additionalProperties": { "type": "string" } }
            },
            "additionalProperties": false,
            "$defs": {
                "Owner": {
                    "type": "object",
                    "properties": { "name": { "type": "string" }, "uid": { "type": ["integer", "null"] } },
                    "required": ["name"]
                }
            }
        })
    }

    #[test]
    fn checks_everything_a_derived_schema_says() {
        let schema = derived();
        check_vocabulary(&schema).unwrap();
        let ok = json!({
            "port": 22,
            "owner": { "name": "deploy", "uid": null },
            "state": { "kind": "present", "mode": "0644" },
            "tags": ["a", "b"],
            "env": { "PATH": "/bin" }
        });
        validate_params(&schema, &ok).unwrap();
        validate_params(
            &schema,
            &json!({ "owner": null, "state": { "kind": "absent" } }),
        )
        .unwrap();

        let err = |v: Value| validate_params(&schema, &v).unwrap_err().to_string();
        assert_eq!(
            err(json!({ "port": 70000 })),
            "params.port: 70000 is out of range: it must be at most 65535"
        );
        assert_eq!(
            err(json!({ "owner": { "uid": 3 } })),
            "params.owner: `name` is required",
            "the `$ref` is followed, and the null shape's type mismatch is not the news"
        );
        assert_eq!(
            err(json!({ "owner": 3 })),
            "params.owner: expected object or null, got a number"
        );
        assert_eq!(
            err(json!({ "state": { "kind": "present", "mode": "rwx" } })),
            "params.state.mode: \"rwx\" does not match the pattern `^[0-7]{3,4}$`",
            "the shape whose tag fits is the one reported"
        );
        assert_eq!(
            err(json!({ "state": { "kind": "gone" } })),
            "params.state: fits none of the allowed shapes: params.state.kind: \"gone\" is not \"absent\"; or params.state.kind: \"gone\" is not \"present\""
        );
        assert_eq!(
            err(json!({ "tags": ["a", "a"] })),
            "params.tags: the items must all differ, but \"a\" appears more than once"
        );
        assert_eq!(
            err(json!({ "tags": ["a", "b", "c", "d"] })),
            "params.tags: has 4 items, but must have at most 3"
        );
        assert_eq!(
            err(json!({ "tags": [""] })),
            "params.tags[0]: has 0 characters, but must have at least 1"
        );
        assert_eq!(
            err(json!({ "env": { "PATH": 1 } })),
            "params.env.PATH: expected string, got a number"
        );
    }

    #[test]
    fn one_of_refuses_a_value_two_shapes_fit() {
        let schema = json!({ "oneOf": [{ "type": "integer" }, { "minimum": 0 }] });
        assert_eq!(
            validate_params(&schema, &json!(3)).unwrap_err().problem,
            ParamProblem::Ambiguous(2)
        );
        validate_params(&schema, &json!(-3)).unwrap();
    }

    #[test]
    fn references_that_loop_or_lead_nowhere_are_named_not_followed_forever() {
        let looping = json!({ "$ref": "#/$defs/A", "$defs": { "A": { "$ref": "#/$defs/A" } } });
        let err = validate_params(&looping, &json!({})).unwrap_err();
        assert!(matches!(err.problem, ParamProblem::BadSchema(_)), "{err}");
        let nowhere = json!({ "$ref": "#/$defs/Missing" });
        assert!(validate_params(&nowhere, &json!({})).is_err());
        assert!(
            check_vocabulary(&nowhere)
                .unwrap_err()
                .contains("`#/$defs/Missing` leads nowhere")
        );
        assert!(check_vocabulary(&json!({ "$ref": "https://example.com/s.json" })).is_err());
    }

    #[test]
    fn a_schema_needing_what_capstan_cannot_check_is_refused() {
        let err = check_vocabulary(&json!({
            "type": "object",
            "properties": { "mode": { "type": "string", "not": { "const": "777" } } }
        }))
        .unwrap_err();
        assert!(
            err.starts_with("schema.properties.mode.not: Capstan cannot check `not`"),
            "{err}"
        );
        for (schema, says) in [
            (json!({ "type": "text" }), "not a JSON Schema type"),
            (json!({ "required": "name" }), "list of field names"),
            (json!({ "pattern": "(" }), "does not compile"),
            (json!({ "anyOf": [] }), "list of schemas"),
            (json!({ "properties": { "a": 3 } }), "not a schema"),
            (json!({ "if": {} }), "cannot check `if`"),
        ] {
            let err = check_vocabulary(&schema).unwrap_err();
            assert!(err.contains(says), "{schema}: {err}");
        }
        // Descriptions, examples and extensions are fine.
        check_vocabulary(&json!({ "description": "x", "examples": [1], "x-ui": {} })).unwrap();
    }

    #[test]
    fn coercion_reaches_through_references_and_shapes() {
        let schema = derived();
        let mut v =
            json!({ "port": "8080", "owner": { "name": 7, "uid": "1001" }, "tags": "a, b" });
        coerce_params(&schema, &mut v);
        assert_eq!(
            v,
            json!({ "port": 8080, "owner": { "name": "7", "uid": 1001 }, "tags": ["a", "b"] })
        );
        validate_params(&schema, &v).unwrap();
        let numbers = json!({ "enum": [1, 2] });
        let mut one = json!(1);
        coerce_params(&numbers, &mut one);
        assert_eq!(one, json!(1), "a number in a numeric enum stays a number");
    }

    /// JSON values of the shapes schemas and params take.
    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "(object|array|string|boolean|integer|number|null|yes|no|1,2|x)"
                .prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 120, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    "(type|properties|required|items|enum|additionalProperties|anyOf|oneOf|allOf|const|\\$ref|minimum|maxLength|pattern|a|b)",
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever a plugin's schema and a user's params, checking and
        /// coercing answers without a panic, and an error names a field.
        #[test]
        fn any_schema_and_params_check_without_panic(
            schema in json_value(),
            mut params in json_value(),
        ) {
            coerce_params(&schema, &mut params);
            if let Err(e) = validate_params(&schema, &params) {
                proptest::prop_assert!(e.at.starts_with("params"), "{}", e);
            }
        }
    }
}
