//! Ansible's filters beyond Jinja's own: reshaping data (`dict2items`,
//! `items2dict`, `combine`, `flatten`), encodings (`b64encode`,
//! `b64decode`, `from_json`, `from_yaml`, `to_yaml`, `to_nice_yaml`),
//! digests (`hash`, `checksum`, `password_hash` as sha512-crypt),
//! `regex_findall` and `random`.

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind};
use serde_json::Value as Json;

/// Adds these filters to a template engine.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("combine", combine);
    env.add_filter("flatten", flatten);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("from_json", from_json);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_nice_yaml);
    env.add_filter("hash", hash);
    env.add_filter("checksum", checksum);
    env.add_filter("password_hash", password_hash);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("random", random);
}

/// `random`: an element of a list (or a character of a text), or for a
/// number N one of `range(start, N, step)`. A `seed` makes the pick the
/// same each time (from the seed's SHA-256, not Python's generator).
fn random(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let start: Option<i64> = kwargs.get("start")?;
    let step: Option<i64> = kwargs.get("step")?;
    let seed: Option<Value> = kwargs.get("seed")?;
    kwargs.assert_all_used()?;
    let draw = |bound: u64| -> Result<u64, Error> {
        let bytes: [u8; 8] = match &seed {
            Some(seed) => {
                let digest =
                    ring::digest::digest(&ring::digest::SHA256, seed.to_string().as_bytes());
                digest.as_ref()[..8].try_into().expect("eight bytes")
            }
            None => {
                let mut bytes = [0u8; 8];
                getrandom::fill(&mut bytes).map_err(|e| bad(format!("no randomness: {e}")))?;
                bytes
            }
        };
        Ok(u64::from_le_bytes(bytes) % bound.max(1))
    };
    if let Some(end) = value.as_i64() {
        let (start, step) = (start.unwrap_or(0), step.unwrap_or(1));
        if step <= 0 || end <= start {
            return Err(bad(format!(
                "random: no number in range({start}, {end}, {step})"
            )));
        }
        let count = ((end - start) + step - 1) / step;
        return Ok(Value::from(start + draw(count as u64)? as i64 * step));
    }
    let items: Vec<Value> = match value.as_str() {
        Some(text) => text.chars().map(|c| Value::from(c.to_string())).collect(),
        None => value
            .try_iter()
            .map_err(|_| bad("random takes a list, a text or a number"))?
            .collect(),
    };
    if items.is_empty() {
        return Err(bad("random: the sequence is empty"));
    }
    let index = draw(items.len() as u64)? as usize;
    Ok(items[index].clone())
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

fn to_json(value: &Value) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

/// `dict2items`: `[{key, value}]` (names set by `key_name`/`value_name`).
fn dict2items(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: Option<String> = kwargs.get("key_name")?;
    let value_name: Option<String> = kwargs.get("value_name")?;
    kwargs.assert_all_used()?;
    let Json::Object(map) = to_json(&value) else {
        return Err(bad(format!("dict2items needs a mapping, not `{value}`")));
    };
    let (k, v) = (
        key_name.unwrap_or_else(|| "key".into()),
        value_name.unwrap_or_else(|| "value".into()),
    );
    let items: Vec<Json> = map
        .into_iter()
        .map(|(key, value)| {
            let mut item = serde_json::Map::new();
            item.insert(k.clone(), Json::String(key));
            item.insert(v.clone(), value);
            Json::Object(item)
        })
        .collect();
    Ok(Value::from_serialize(&items))
}

/// `items2dict`: the reverse of `dict2items`.
fn items2dict(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: String = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or("key".into());
    let value_name: String = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or("value".into());
    kwargs.assert_all_used()?;
    let Json::Array(items) = to_json(&value) else {
        return Err(bad(format!("items2dict needs a list, not `{value}`")));
    };
    let mut map = serde_json::Map::new();
    for item in items {
        let (Some(key), Some(value)) = (item.get(&key_name), item.get(&value_name)) else {
            return Err(bad(format!(
                "items2dict: `{item}` has no `{key_name}` or `{value_name}`"
            )));
        };
        let key = match key {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        map.insert(key, value.clone());
    }
    Ok(Value::from_serialize(&map))
}

/// `combine`: mappings merged left to right; `recursive=True` merges
/// nested mappings; `list_merge` is `replace` (default), `keep`,
/// `append`, `prepend`, `append_rp` or `prepend_rp`.
fn combine(value: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge: String = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or("replace".into());
    kwargs.assert_all_used()?;
    if ![
        "replace",
        "keep",
        "append",
        "prepend",
        "append_rp",
        "prepend_rp",
    ]
    .contains(&list_merge.as_str())
    {
        return Err(bad(format!(
            "combine: list_merge `{list_merge}` is unknown"
        )));
    }
    let mut merged = to_json(&value);
    let mut layers: Vec<Json> = Vec::new();
    for other in others.iter() {
        match to_json(other) {
            // A list of mappings counts as each of them.
            Json::Array(items) => layers.extend(items),
            one => layers.push(one),
        }
    }
    for layer in std::iter::once(merged.clone()).chain(layers).skip(1) {
        if !layer.is_object() || !merged.is_object() {
            return Err(bad(format!("combine needs mappings, not `{layer}`")));
        }
        merge(&mut merged, layer, recursive, &list_merge);
    }
    Ok(Value::from_serialize(&merged))
}

/// Ansible's recursive hash merge (`hash_behaviour: merge`): nested
/// mappings merged, anything else (lists too) replaced.
pub(crate) fn merge_recursively(into: &mut Json, from: Json) {
    merge(into, from, true, "replace");
}

fn merge(into: &mut Json, from: Json, recursive: bool, list_merge: &str) {
    let (Json::Object(into), Json::Object(from)) = (into, from) else {
        return;
    };
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(old @ Json::Object(_)), new @ Json::Object(_)) if recursive => {
                merge(old, new, recursive, list_merge);
            }
            (Some(Json::Array(old)), Json::Array(new)) => match list_merge {
                "keep" => {}
                "append" => old.extend(new),
                "prepend" => {
                    let mut joined = new;
                    joined.append(old);
                    *old = joined;
                }
                "append_rp" => {
                    old.retain(|o| !new.contains(o));
                    old.extend(new);
                }
                "prepend_rp" => {
                    let mut joined = new.clone();
                    joined.extend(old.drain(..).filter(|o| !new.contains(o)));
                    *old = joined;
                }
                _ => *old = new,
            },
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// `flatten`: nested lists into one (`levels=N` stops after N levels);
/// `null`s are dropped, as Ansible's `skip_nulls` default does.
fn flatten(value: Value, levels: Option<usize>) -> Result<Value, Error> {
    fn walk(items: Vec<Json>, levels: Option<usize>, out: &mut Vec<Json>) {
        for item in items {
            match item {
                Json::Array(inner) if levels != Some(0) => {
                    walk(inner, levels.map(|l| l - 1), out);
                }
                Json::Null => {}
                other => out.push(other),
            }
        }
    }
    let Json::Array(items) = to_json(&value) else {
        return Err(bad(format!("flatten needs a list, not `{value}`")));
    };
    let mut out = Vec::new();
    walk(items, levels, &mut out);
    Ok(Value::from_serialize(&out))
}

fn b64encode(text: String) -> String {
    capstan_wire::base64::encode(text.as_bytes())
}

fn b64decode(text: String) -> Result<String, Error> {
    let bytes = capstan_wire::base64::decode(&text)
        .ok_or_else(|| bad("b64decode: the text is not base64"))?;
    String::from_utf8(bytes).map_err(|_| bad("b64decode: the decoded bytes are not UTF-8 text"))
}

fn from_json(text: String) -> Result<Value, Error> {
    let json: Json = serde_json::from_str(&text).map_err(|e| bad(format!("from_json: {e}")))?;
    Ok(Value::from_serialize(&json))
}

fn from_yaml(text: String) -> Result<Value, Error> {
    let node = capstan_yaml::parse("from_yaml", &text, capstan_yaml::TopLevel::Any)
        .map_err(|e| bad(format!("from_yaml: {}", e.message)))?;
    Ok(Value::from_serialize(node.to_json()))
}

/// `to_yaml`: as PyYAML writes it for Ansible: block style, but a list or
/// mapping holding only plain values in flow style (`[a, b]`).
fn to_yaml(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let _: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    Ok(crate::playbook::yaml_out::emit(&to_json(&value), 2, true))
}

/// `to_nice_yaml`: block style throughout, indented by `indent` (4).
fn to_nice_yaml(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs
        .get::<Option<usize>>("indent")?
        .unwrap_or(4)
        .clamp(1, 16);
    kwargs.assert_all_used()?;
    Ok(crate::playbook::yaml_out::emit(
        &to_json(&value),
        indent,
        false,
    ))
}

fn text_of(value: &Value) -> String {
    match value.as_str() {
        Some(text) => text.to_string(),
        None => value.to_string(),
    }
}

/// `hash(ALGO)`: the hex digest of the text (`sha1` by default;
/// `md5`, `sha256`, `sha384`, `sha512`).
fn hash(value: Value, algo: Option<String>) -> Result<String, Error> {
    let algo = algo.unwrap_or_else(|| "sha1".into());
    let which = match algo.as_str() {
        "md5" => return Ok(format!("{:x}", md5::compute(text_of(&value).as_bytes()))),
        "sha1" => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        "sha256" => &ring::digest::SHA256,
        "sha384" => &ring::digest::SHA384,
        "sha512" => &ring::digest::SHA512,
        other => {
            return Err(bad(format!(
                "hash `{other}` is not supported (md5, sha1, sha256, sha384, sha512)"
            )));
        }
    };
    Ok(crate::hex::encode(
        ring::digest::digest(which, text_of(&value).as_bytes()).as_ref(),
    ))
}

/// `checksum`: the text's SHA-1, as Ansible's.
fn checksum(value: Value) -> Result<String, Error> {
    hash(value, None)
}

/// `password_hash('sha512')`: a sha512-crypt hash (`$6$salt$…`) for
/// `/etc/shadow`; a random salt unless `salt=` is given (so the same
/// password gives another hash on each run, as in Ansible).
fn password_hash(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let mut args = args.iter();
    let scheme = args
        .next()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "sha512".into());
    let positional_salt = args.next().and_then(|v| v.as_str().map(String::from));
    let salt = kwargs.get::<Option<String>>("salt")?.or(positional_salt);
    let rounds = kwargs.get::<Option<u32>>("rounds")?;
    kwargs.assert_all_used()?;
    if !matches!(scheme.as_str(), "sha512" | "sha512_crypt") {
        return Err(bad(format!(
            "password_hash `{scheme}` is not supported; Capstan makes sha512 hashes"
        )));
    }
    let salt = match salt {
        Some(salt) => salt,
        None => random_salt()?,
    };
    Ok(crate::playbook::sha512_crypt::hash(
        text_of(&value).as_bytes(),
        &salt,
        rounds,
    ))
}

fn random_salt() -> Result<String, Error> {
    const SALT_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| bad(format!("no randomness: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| SALT_CHARS[(*b as usize) % SALT_CHARS.len()] as char)
        .collect())
}

/// `regex_findall(PATTERN)`: every match; with one group its text, with
/// several a list of them (as Python's `re.findall`).
fn regex_findall(value: String, pattern: String) -> Result<Value, Error> {
    let re = regex::Regex::new(&pattern)
        .map_err(|e| bad(format!("bad regular expression `{pattern}`: {e}")))?;
    let groups = re.captures_len() - 1;
    let found: Vec<Json> = re
        .captures_iter(&value)
        .map(|c| match groups {
            0 => Json::String(c[0].to_string()),
            1 => Json::String(c.get(1).map_or("", |m| m.as_str()).to_string()),
            _ => Json::Array(
                (1..=groups)
                    .map(|i| Json::String(c.get(i).map_or("", |m| m.as_str()).to_string()))
                    .collect(),
            ),
        })
        .collect();
    Ok(Value::from_serialize(&found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::template::{Scope, Templates};
    use serde_json::json;

    fn render(expr: &str, vars: Json) -> Json {
        Templates::new()
            .render_value(&format!("{{{{ {expr} }}}}"), &Scope::new(vars))
            .unwrap()
    }

    #[test]
    fn reshaping_filters_work_as_ansibles() {
        let vars = json!({"d": {"a": 1, "b": {"x": 1}}, "l": [1, [2, [3, null]]]});
        assert_eq!(
            render("d | dict2items", vars.clone()),
            json!([{"key": "a", "value": 1}, {"key": "b", "value": {"x": 1}}])
        );
        assert_eq!(
            render("d | dict2items | items2dict", vars.clone()),
            vars["d"]
        );
        assert_eq!(
            render("d | combine({'b': {'y': 2}}, recursive=True)", vars.clone()),
            json!({"a": 1, "b": {"x": 1, "y": 2}})
        );
        assert_eq!(
            render("d | combine({'b': {'y': 2}})", vars.clone()),
            json!({"a": 1, "b": {"y": 2}})
        );
        assert_eq!(
            render(
                "{'l': [1, 2]} | combine({'l': [2, 3]}, list_merge='append_rp')",
                json!({})
            ),
            json!({"l": [1, 2, 3]})
        );
        assert_eq!(render("l | flatten", vars.clone()), json!([1, 2, 3]));
        assert_eq!(render("l | flatten(1)", vars), json!([1, 2, [3, null]]));
    }

    #[test]
    fn encodings_and_digests_round_trip() {
        assert_eq!(render("'hello!' | b64encode", json!({})), json!("aGVsbG8h"));
        assert_eq!(render("'aGVsbG8h' | b64decode", json!({})), json!("hello!"));
        assert_eq!(
            render("'abc' | hash('sha256')", json!({})),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            render("'abc' | hash('md5')", json!({})),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            render("'abc' | checksum", json!({})),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            render("'{\"a\": [1]}' | from_json", json!({})),
            json!({"a": [1]})
        );
        assert_eq!(
            render("'a: [1, 2]' | from_yaml", json!({})),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            render("'x=1 y=22' | regex_findall('(\\\\w)=(\\\\d+)')", json!({})),
            json!([["x", "1"], ["y", "22"]])
        );
    }

    #[test]
    fn a_password_hash_is_sha512_crypt() {
        let hashed = render("'secret' | password_hash('sha512', 'saltsalt')", json!({}));
        let text = hashed.as_str().unwrap();
        assert!(text.starts_with("$6$saltsalt$"), "{text}");
        assert_eq!(text.len(), "$6$saltsalt$".len() + 86);
        let err = Templates::new()
            .render_text("{{ 'x' | password_hash('md5') }}", &Scope::new(json!({})))
            .unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
    }
}
