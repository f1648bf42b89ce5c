//! Property tests of the YAML reader: whatever the text, it answers with a
//! node or a named error, never a panic or a hang. The budget is
//! proptest's (256 cases each); `bench/fuzz.sh` runs far more.

use capstan_yaml::{TopLevel, Yaml, parse};
use proptest::prelude::*;
use serde_json::Value;

/// Text made mostly of the characters YAML gives a meaning to.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("<<: ".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("!unsafe ".to_string()),
        Just("!!str ".to_string()),
        Just("{{ x }}".to_string()),
        Just("---\n".to_string()),
        Just("|\n".to_string()),
        Just(">-\n".to_string()),
        "[\\[\\]{},:#'\"?%@`!&*|>-]".prop_map(String::from),
        "[a-z0-9 ]{1,6}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..120).prop_map(|pieces| pieces.concat())
}

/// JSON values without floats (whose text YAML may round differently).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "(yes|no|on|off|~|null|0644|1\\.5|-|:|#|\\{\\{ x \\}\\})".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 200, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z<!&*]{1,5}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_yamlish_text_is_a_node_or_a_named_error(text in yamlish()) {
        for top in [TopLevel::Sequence, TopLevel::Mapping] {
            if let Err(e) = parse("fuzz.yml", &text, top) {
                prop_assert!(e.to_string().starts_with("fuzz.yml"), "{e}");
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn any_unicode_text_is_a_node_or_a_named_error(text in any::<String>()) {
        let _ = parse("fuzz.yml", &text, TopLevel::Mapping);
    }

    #[test]
    fn json_text_reads_back_as_the_same_value(value in json_value()) {
        let text = serde_json::to_string(&serde_json::json!({ "v": value })).unwrap();
        let node = parse("fuzz.yml", &text, TopLevel::Mapping).unwrap();
        prop_assert_eq!(&node.to_json()["v"], &value);
    }

    #[test]
    fn aliases_expand_to_copies_or_are_refused(width in 1usize..12, depth in 1usize..8) {
        let mut text = String::from("a0: &a0 [x]\n");
        for i in 1..depth {
            let items = vec![format!("*a{}", i - 1); width].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        match parse("alias.yml", &text, TopLevel::Mapping) {
            Ok(node) => {
                let Yaml::Map(entries) = &node.value else { panic!() };
                prop_assert_eq!(entries.len(), depth);
            }
            Err(e) => prop_assert!(e.message.contains("alias bomb"), "{}", e),
        }
    }
}
