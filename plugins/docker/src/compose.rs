//! Reads Compose files for `docker_stack`: the subset `docker stack
//! deploy` honours, each unsupported key refused with its file and line.

use std::collections::BTreeMap;

use capstan_plugin_sdk::Error;
use serde_json::{Map, Value};

use crate::service::{PublishDef, ServiceDef};

/// A Compose document as JSON, with the line of every key path.
pub struct Document {
    /// Where it came from (a path, or `compose[N]` for an inline one).
    pub source: String,
    /// The document.
    pub value: Value,
    /// `services.web.build` → line.
    lines: BTreeMap<String, usize>,
}

impl Document {
    /// Parses YAML text, keeping key positions.
    pub fn parse(source: &str, text: &str) -> Result<Document, Error> {
        let node = capstan_yaml::parse(source, text, capstan_yaml::TopLevel::Mapping)
            .map_err(|e| Error::InvalidParams(format!("not a Compose file: {e}")))?;
        let mut lines = BTreeMap::new();
        let value = to_json(&node, "", &mut lines);
        Ok(Document {
            source: source.to_string(),
            value,
            lines,
        })
    }

    /// An inline document (a mapping written in the task).
    pub fn inline(source: String, value: Value) -> Document {
        Document {
            source,
            value,
            lines: BTreeMap::new(),
        }
    }

    /// `file:line: `, or `source: ` when the line is unknown.
    fn at(&self, path: &str) -> String {
        match self.lines.get(path) {
            Some(line) => format!("{}:{line}: ", self.source),
            None => format!("{}: ", self.source),
        }
    }

    fn refuse(&self, path: &str, why: &str) -> Error {
        Error::InvalidParams(format!("{}`{path}` {why}", self.at(path)))
    }
}

fn to_json(node: &capstan_yaml::Node, path: &str, lines: &mut BTreeMap<String, usize>) -> Value {
    use capstan_yaml::Yaml;
    match &node.value {
        Yaml::Seq(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| to_json(n, &format!("{path}[{i}]"), lines))
                .collect(),
        ),
        Yaml::Map(entries) => {
            let mut out = Map::new();
            for (key, value) in entries {
                let key_path = if path.is_empty() {
                    key.name.clone()
                } else {
                    format!("{path}.{}", key.name)
                };
                lines.insert(key_path.clone(), key.pos.line);
                out.insert(key.name.clone(), to_json(value, &key_path, lines));
            }
            Value::Object(out)
        }
        _ => node.to_json(),
    }
}

const TOP_KEYS: &[&str] = &["version", "services", "networks", "name"];
const SERVICE_KEYS: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "ports",
    "networks",
    "deploy",
    "labels",
    "healthcheck",
    "stop_grace_period",
];
const DEPLOY_KEYS: &[&str] = &[
    "replicas",
    "mode",
    "endpoint_mode",
    "update_config",
    "rollback_config",
    "restart_policy",
    "labels",
    "placement",
];
const NETWORK_KEYS: &[&str] = &[
    "driver",
    "attachable",
    "external",
    "labels",
    "driver_opts",
    "internal",
];

/// What each unsupported key should be replaced with.
fn hint(key: &str) -> &'static str {
    match key {
        "build" => "is not supported by a stack deploy: build the image with docker_image first",
        "container_name" => "is not supported in a swarm: tasks are named by the service",
        "restart" => "is not used by a swarm: write deploy.restart_policy",
        "depends_on" => "is not supported: a swarm starts services in no order; make the app retry",
        "volumes" | "configs" | "secrets" => "is not supported by Capstan's stacks yet",
        _ => "is not supported by Capstan's stacks",
    }
}

fn check_keys(doc: &Document, value: &Value, path: &str, allowed: &[&str]) -> Result<(), Error> {
    if let Value::Object(map) = value {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) && !key.starts_with("x-") {
                let full = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                return Err(doc.refuse(&full, hint(key)));
            }
        }
        Ok(())
    } else if value.is_null() {
        Ok(())
    } else {
        Err(doc.refuse(path, "must be a mapping"))
    }
}

/// A network a stack declares.
pub struct NetworkDef {
    /// Driver (overlay by default).
    pub driver: String,
    /// Attachable by plain containers.
    pub attachable: bool,
    /// Internal (no outside access).
    pub internal: bool,
    /// Exists outside the stack: used as it is, never created or removed.
    pub external: bool,
    /// Labels.
    pub labels: Map<String, Value>,
}

/// A stack read from its Compose documents.
pub struct Stack {
    /// Services by short name, in the stack's terms (not yet prefixed).
    pub services: BTreeMap<String, (ServiceDef, Vec<String>)>,
    /// Networks by short name.
    pub networks: BTreeMap<String, NetworkDef>,
}

/// Merges documents (later ones override earlier ones per service key)
/// and reads the stack.
pub fn read(docs: &[Document]) -> Result<Stack, Error> {
    let mut services: BTreeMap<String, (usize, Map<String, Value>)> = BTreeMap::new();
    let mut networks: BTreeMap<String, (usize, Value)> = BTreeMap::new();
    for (index, doc) in docs.iter().enumerate() {
        check_keys(doc, &doc.value, "", TOP_KEYS)?;
        if let Some(map) = doc.value["services"].as_object() {
            for (name, service) in map {
                let path = format!("services.{name}");
                check_keys(doc, service, &path, SERVICE_KEYS)?;
                let entry = services.entry(name.clone()).or_insert((index, Map::new()));
                entry.0 = index;
                if let Value::Object(keys) = service {
                    entry.1.extend(keys.clone());
                }
            }
        } else if !doc.value["services"].is_null() {
            return Err(doc.refuse("services", "must be a mapping of services"));
        }
        if let Some(map) = doc.value["networks"].as_object() {
            for (name, network) in map {
                check_keys(doc, network, &format!("networks.{name}"), NETWORK_KEYS)?;
                networks.insert(name.clone(), (index, network.clone()));
            }
        }
    }
    if services.is_empty() {
        return Err(Error::InvalidParams(
            "the Compose file(s) define no services".into(),
        ));
    }
    let mut stack = Stack {
        services: BTreeMap::new(),
        networks: BTreeMap::new(),
    };
    for (name, (index, network)) in &networks {
        stack
            .networks
            .insert(name.clone(), network_def(&docs[*index], name, network)?);
    }
    for (name, (index, keys)) in services {
        let doc = &docs[index];
        let (def, nets) = service_def(doc, &name, &Value::Object(keys))?;
        for net in &nets {
            if net != "default" && !stack.networks.contains_key(net) {
                return Err(doc.refuse(
                    &format!("services.{name}.networks"),
                    &format!(
                        "names network `{net}`, which the top-level `networks` does not declare"
                    ),
                ));
            }
        }
        if nets.iter().any(|n| n == "default") && !stack.networks.contains_key("default") {
            stack.networks.insert(
                "default".into(),
                NetworkDef {
                    driver: "overlay".into(),
                    attachable: false,
                    internal: false,
                    external: false,
                    labels: Map::new(),
                },
            );
        }
        stack.services.insert(name, (def, nets));
    }
    Ok(stack)
}

fn network_def(doc: &Document, name: &str, value: &Value) -> Result<NetworkDef, Error> {
    let path = format!("networks.{name}");
    let text = |key: &str| value[key].as_str().map(String::from);
    let flag = |key: &str| -> Result<bool, Error> {
        match &value[key] {
            Value::Null => Ok(false),
            Value::Bool(b) => Ok(*b),
            _ => Err(doc.refuse(&format!("{path}.{key}"), "must be true or false")),
        }
    };
    Ok(NetworkDef {
        driver: text("driver").unwrap_or_else(|| "overlay".into()),
        attachable: flag("attachable")?,
        internal: flag("internal")?,
        external: flag("external")?,
        labels: crate::common::string_map(value.get("labels"), &format!("{path}.labels"))?,
    })
}

fn service_def(
    doc: &Document,
    name: &str,
    value: &Value,
) -> Result<(ServiceDef, Vec<String>), Error> {
    let path = format!("services.{name}");
    let image = value["image"].as_str().ok_or_else(|| {
        doc.refuse(
            &format!("{path}.image"),
            "is missing: every service of a stack needs an image",
        )
    })?;
    let deploy = &value["deploy"];
    check_keys(doc, deploy, &format!("{path}.deploy"), DEPLOY_KEYS)?;
    let mut def = ServiceDef {
        image: Some(image.to_string()),
        command: value.get("entrypoint").cloned(),
        args: value.get("command").cloned(),
        env: value.get("environment").cloned(),
        labels: deploy.get("labels").cloned(),
        container_labels: value.get("labels").cloned(),
        stop_grace_period: value.get("stop_grace_period").cloned(),
        mode: deploy["mode"].as_str().map(String::from),
        replicas: deploy["replicas"].as_u64(),
        endpoint_mode: deploy["endpoint_mode"].as_str().map(String::from),
        ..ServiceDef::default()
    };
    def.update_config = typed(
        doc,
        &format!("{path}.deploy.update_config"),
        &deploy["update_config"],
    )?;
    def.rollback_config = typed(
        doc,
        &format!("{path}.deploy.rollback_config"),
        &deploy["rollback_config"],
    )?;
    def.restart_config = typed(
        doc,
        &format!("{path}.deploy.restart_policy"),
        &deploy["restart_policy"],
    )?;
    def.placement = typed(
        doc,
        &format!("{path}.deploy.placement"),
        &deploy["placement"],
    )?;
    def.healthcheck = typed(doc, &format!("{path}.healthcheck"), &value["healthcheck"])?;
    def.publish = Some(ports(doc, &format!("{path}.ports"), &value["ports"])?);
    let networks: Vec<String> = match &value["networks"] {
        Value::Null => vec!["default".into()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        Value::Object(map) => map.keys().cloned().collect(),
        _ => return Err(doc.refuse(&format!("{path}.networks"), "must be a list or a mapping")),
    };
    Ok((def, networks))
}

fn typed<T: serde::de::DeserializeOwned>(
    doc: &Document,
    path: &str,
    value: &Value,
) -> Result<Option<T>, Error> {
    if value.is_null() {
        return Ok(None);
    }
    serde_json::from_value(value.clone())
        .map(Some)
        .map_err(|e| doc.refuse(path, &format!("is not valid: {e}")))
}

fn ports(doc: &Document, path: &str, value: &Value) -> Result<Vec<PublishDef>, Error> {
    let Some(items) = value.as_array() else {
        return if value.is_null() {
            Ok(Vec::new())
        } else {
            Err(doc.refuse(path, "must be a list"))
        };
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(_) => {
                let port = |k: &str| item[k].as_u64().and_then(|n| u16::try_from(n).ok());
                Ok(PublishDef {
                    target_port: port("target")
                        .ok_or_else(|| doc.refuse(path, "has an entry without `target`"))?,
                    published_port: port("published"),
                    protocol: item["protocol"].as_str().map(String::from),
                    mode: item["mode"].as_str().map(String::from),
                })
            }
            other => {
                let text = crate::common::scalar_text(other, path)?;
                let (ports, protocol) = match text.split_once('/') {
                    Some((p, proto)) => (p.to_string(), Some(proto.to_string())),
                    None => (text.clone(), None),
                };
                let bad = || {
                    doc.refuse(
                        path,
                        &format!("has `{text}`, which is not [published:]target[/protocol]"),
                    )
                };
                let number = |s: &str| s.parse::<u16>().map_err(|_| bad());
                let (published, target) = match ports.split_once(':') {
                    Some((p, t)) => (Some(number(p)?), number(t)?),
                    None => (None, number(&ports)?),
                };
                Ok(PublishDef {
                    published_port: published,
                    target_port: target,
                    protocol,
                    mode: None,
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsupported_key_is_named_with_its_line() {
        let text = "version: '3.8'\nservices:\n  web:\n    image: web:1\n    build: .\n";
        let doc = Document::parse("stack.yml", text).unwrap();
        let err = read(&[doc]).err().unwrap().to_string();
        assert!(err.contains("stack.yml:5:"), "{err}");
        assert!(err.contains("services.web.build"), "{err}");
        assert!(err.contains("docker_image"), "{err}");
    }

    #[test]
    fn services_ports_and_networks_are_read() {
        let text = "services:\n  web:\n    image: web:1\n    ports: ['8080:80', {target: 53, published: 53, protocol: udp, mode: host}]\n    deploy:\n      replicas: 3\n      update_config: {order: start-first, parallelism: 1, delay: 1s}\n";
        let stack = read(&[Document::parse("s.yml", text).unwrap()]).unwrap();
        let (def, nets) = &stack.services["web"];
        assert_eq!(def.replicas, Some(3));
        assert_eq!(nets, &["default"]);
        let publish = def.publish.as_ref().unwrap();
        assert_eq!(publish[0].published_port, Some(8080));
        assert_eq!(publish[1].mode.as_deref(), Some("host"));
        assert!(stack.networks.contains_key("default"));
    }

    #[test]
    fn anchors_and_merge_keys_in_extension_fields_are_read() {
        let text = "x-base: &base\n  image: web:1\n  deploy: {replicas: 2}\n\
                    services:\n  web:\n    <<: *base\n  api:\n    <<: *base\n    image: api:1\n";
        let doc = Document::parse("s.yml", text).unwrap();
        assert_eq!(doc.value["services"]["api"]["image"], "api:1");
        assert_eq!(doc.value["services"]["web"]["deploy"]["replicas"], 2);
    }

    /// Text shaped like a Compose file, with random keys and values.
    fn composeish() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let key = prop_oneof![
            prop::sample::select(
                &[
                    "image",
                    "ports",
                    "deploy",
                    "replicas",
                    "networks",
                    "environment",
                    "labels",
                    "command",
                    "healthcheck",
                    "mode",
                    "update_config",
                    "published",
                    "target",
                ][..]
            )
            .prop_map(String::from),
            "[a-z_-]{1,8}",
        ];
        let value = prop_oneof![
            "[a-z0-9:./ -]{0,12}".prop_map(|s| format!("{s:?}")),
            any::<i64>().prop_map(|i| i.to_string()),
            Just("[80, '8080:80', {target: 53}]".to_string()),
            Just("{a: b}".to_string()),
            Just("*x".to_string()),
        ];
        let entry = (0usize..4, key, value)
            .prop_map(|(depth, k, v)| format!("{}{k}: {v}\n", "  ".repeat(depth)));
        prop::collection::vec(entry, 0..30)
            .prop_map(|entries| format!("services:\n  web:\n{}", entries.concat()))
    }

    proptest::proptest! {
        #[test]
        fn any_compose_text_is_a_stack_or_a_named_error(text in composeish()) {
            match Document::parse("s.yml", &text) {
                Ok(doc) => {
                    if let Err(e) = read(&[doc]) {
                        proptest::prop_assert!(e.to_string().contains("s.yml"), "{}", e);
                    }
                }
                Err(e) => proptest::prop_assert!(e.to_string().contains("s.yml"), "{}", e),
            }
        }
    }
}
