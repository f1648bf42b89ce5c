//! JSON carried as its text: a value the store holds as JSON and a face
//! only shows goes from the database to the wire without being built into
//! a tree and written out again (a page of jobs has one per job).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// A JSON value kept as the text it was read from. It serialises as that
/// JSON (not as a string); two are equal when their values are.
#[derive(Debug, Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// `text` if it is one JSON value; the error says where it is not.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text.to_owned()).map(RawJson)
    }

    /// The JSON text of `value`.
    pub fn from_value(value: &Value) -> Self {
        let text = serde_json::to_string(value).expect("a JSON value serialises");
        RawJson(RawValue::from_string(text).expect("serde_json writes valid JSON"))
    }

    /// JSON's `null`.
    pub fn null() -> Self {
        RawJson::from_value(&Value::Null)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The value, parsed (for a caller that looks inside).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.get()).expect("a RawJson holds valid JSON")
    }
}

impl Default for RawJson {
    fn default() -> Self {
        RawJson::null()
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get() || self.to_value() == other.to_value()
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> Self {
        RawJson::from_value(&value)
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    /// Through a [`Value`], not a `Box<RawValue>`: a raw value can only be
    /// read by serde_json's own deserializer, and the window reads jobs
    /// through serde-wasm-bindgen. (Writing one, the hot path, is raw.)
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(|value| RawJson::from_value(&value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize, Deserialize)]
    struct Holder {
        params: RawJson,
    }

    #[test]
    fn it_is_written_as_the_json_it_holds_and_read_back_from_text_or_a_value() {
        let raw = RawJson::parse(r#"{"msg": "hi", "n": [1, 2]}"#).unwrap();
        let text = serde_json::to_string(&Holder {
            params: raw.clone(),
        })
        .unwrap();
        assert_eq!(
            text, r#"{"params":{"msg": "hi", "n": [1, 2]}}"#,
            "the text as held"
        );
        let from_text: Holder = serde_json::from_str(&text).unwrap();
        let from_value: Holder =
            serde_json::from_value(json!({ "params": { "n": [1, 2], "msg": "hi" } })).unwrap();
        assert_eq!(from_text.params, raw);
        assert_eq!(
            from_value.params, raw,
            "equal as values, though written apart"
        );
        assert_eq!(from_value.params.to_value()["n"][1], 2);
    }

    #[test]
    fn it_reads_from_a_deserializer_that_is_not_serde_jsons() {
        use serde::de::IntoDeserializer;
        let text: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            "hi".into_deserializer();
        assert_eq!(RawJson::deserialize(text).unwrap().get(), r#""hi""#);
    }

    #[test]
    fn text_that_is_not_one_json_value_is_refused() {
        assert!(RawJson::parse("{\"a\": ").is_err());
        assert!(RawJson::parse("1 2").is_err());
        assert_eq!(RawJson::default().get(), "null");
    }
}
