//! `docker_image`: an image built from a folder on the host, loaded from a
//! `docker save` tar, or removed. Capstan pulls from no registry.

use capstan_plugin_sdk::docker::{self, Build, ObjectKind};
use capstan_plugin_sdk::{Context, Error, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{changed, scalar_text};

/// Parameters, named as community.docker.docker_image names them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    name: String,
    tag: Option<String>,
    source: Option<String>,
    build: Option<BuildParams>,
    load_path: Option<String>,
    #[serde(default = "crate::common::present")]
    state: String,
    #[serde(default)]
    force_source: bool,
    #[serde(default)]
    force_absent: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildParams {
    path: String,
    dockerfile: Option<String>,
    args: Option<serde_json::Map<String, Value>>,
}

/// The action's JSON Schema.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "Image name, with or without :tag." },
            "tag": { "type": "string", "description": "Tag when `name` has none (default latest)." },
            "source": { "enum": ["build", "load", "local"] },
            "build": {
                "type": "object",
                "properties": {
                    "path": { "type": "string", "description": "Build context: a folder on the host." },
                    "dockerfile": { "type": "string" },
                    "args": { "type": "object" }
                },
                "required": ["path"],
                "additionalProperties": false
            },
            "load_path": { "type": "string", "description": "A `docker save` tar on the host." },
            "state": { "enum": ["present", "absent"] },
            "force_source": { "type": "boolean", "description": "Build or load even when the image exists." },
            "force_absent": { "type": "boolean", "description": "Remove even when other tags point at it." }
        },
        "required": ["name"],
        "additionalProperties": false
    })
}

/// Applies the parameters on one target.
pub fn apply(params: Params, ctx: &Context) -> Result<Outcome, Error> {
    let name = full_name(&params)?;
    let target = ctx.target.as_str();
    let current = docker::inspect(target, ObjectKind::Image, &name)?;
    let current_id = current
        .as_ref()
        .and_then(|c| c["Id"].as_str())
        .map(String::from);
    if params.state == "absent" {
        let Some(id) = current_id else {
            return Ok(Outcome::ok(format!("image {name} is absent")));
        };
        if !ctx.check {
            docker::remove(target, ObjectKind::Image, &name, params.force_absent)?;
        }
        return Ok(changed(
            ctx,
            &name,
            format!("remove image {name}"),
            &json!({ "Id": id }),
            &Value::Null,
        ));
    }
    let source = match params.source.as_deref() {
        Some(s) => s,
        None if params.build.is_some() => "build",
        None if params.load_path.is_some() => "load",
        None => "local",
    };
    if current_id.is_some() && !params.force_source {
        return Ok(
            Outcome::ok(format!("image {name} is present")).with_data(json!({ "image": current }))
        );
    }
    if source == "local" {
        return Err(Error::msg(format!(
            "image {name} is not on {target}: give `build` or `load_path` to make it (no registry is used)"
        )));
    }
    let summary = format!(
        "{} image {name}",
        if source == "build" { "build" } else { "load" }
    );
    if ctx.check {
        return Ok(changed(
            ctx,
            &name,
            summary,
            &json!({ "Id": current_id }),
            &json!({ "Id": "(new)" }),
        ));
    }
    match source {
        "build" => {
            let build = params
                .build
                .as_ref()
                .ok_or_else(|| Error::InvalidParams("source: build needs `build.path`".into()))?;
            let mut build_args = Vec::new();
            for (k, v) in build.args.iter().flatten() {
                build_args.push((k.clone(), scalar_text(v, "build.args")?));
            }
            docker::build_image(
                target,
                &Build {
                    context: build.path.clone(),
                    dockerfile: build.dockerfile.clone(),
                    tags: vec![name.clone()],
                    build_args,
                },
            )?;
        }
        "load" => {
            let path = params
                .load_path
                .as_deref()
                .ok_or_else(|| Error::InvalidParams("source: load needs `load_path`".into()))?;
            let loaded = docker::load_image(target, path)?;
            if docker::inspect(target, ObjectKind::Image, &name)?.is_none() {
                return Err(Error::msg(format!(
                    "{path} held {} but not {name}",
                    loaded.join(", ")
                )));
            }
        }
        other => {
            return Err(Error::InvalidParams(format!(
                "source `{other}` is not build, load or local"
            )));
        }
    }
    let after = docker::inspect(target, ObjectKind::Image, &name)?.unwrap_or(Value::Null);
    let new_id = after["Id"].as_str().map(String::from);
    if new_id == current_id {
        return Ok(
            Outcome::ok(format!("image {name} is unchanged")).with_data(json!({ "image": after }))
        );
    }
    Ok(changed(
        ctx,
        &name,
        summary,
        &json!({ "Id": current_id }),
        &json!({ "Id": new_id }),
    )
    .with_data(json!({ "image": after })))
}

fn full_name(params: &Params) -> Result<String, Error> {
    let name = params.name.trim();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/:@".contains(c));
    if !valid {
        return Err(Error::InvalidParams(format!(
            "image name `{}` must be lowercase letters, digits and . _ - / : @",
            name.escape_debug()
        )));
    }
    let has_tag = name
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'));
    Ok(match (&params.tag, has_tag) {
        (Some(tag), false) => format!("{name}:{tag}"),
        (None, false) => format!("{name}:latest"),
        (_, true) => name.to_string(),
    })
}
