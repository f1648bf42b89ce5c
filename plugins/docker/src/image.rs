//! `docker_image`: an image built from a folder on the host, loaded from a
//! `docker save` tar, or removed. Capstan pulls from no registry.

use capstan_plugin_sdk::JsonSchema;
use capstan_plugin_sdk::docker::{self, Build, ObjectKind};
use capstan_plugin_sdk::{Context, Error, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{Presence, changed, scalar_text};

/// Parameters, named as community.docker.docker_image names them.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Image name, with or without :tag.
    name: String,
    /// Tag when `name` has none (default latest).
    tag: Option<String>,
    /// Where the image comes from (default: build when `build` is given,
    /// load when `load_path` is, else it must be there already).
    source: Option<Source>,
    /// How to build it.
    build: Option<BuildParams>,
    /// A `docker save` tar on the host.
    load_path: Option<String>,
    /// Whether the image should exist (default: present).
    #[serde(default)]
    state: Presence,
    /// Build or load even when the image exists.
    #[serde(default)]
    force_source: bool,
    /// Remove even when other tags point at it.
    #[serde(default)]
    force_absent: bool,
}

/// Where an image comes from; Capstan pulls from no registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Source {
    /// Built from a folder on the host.
    Build,
    /// Loaded from a `docker save` tar.
    Load,
    /// Already on the host.
    Local,
}

/// How to build an image.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BuildParams {
    /// Build context: a folder on the host.
    path: String,
    /// The Dockerfile, relative to the context (default Dockerfile).
    dockerfile: Option<String>,
    /// Build arguments.
    args: Option<serde_json::Map<String, Value>>,
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
    if params.state == Presence::Absent {
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
    let source = match params.source {
        Some(s) => s,
        None if params.build.is_some() => Source::Build,
        None if params.load_path.is_some() => Source::Load,
        None => Source::Local,
    };
    if current_id.is_some() && !params.force_source {
        return Ok(
            Outcome::ok(format!("image {name} is present")).with_data(json!({ "image": current }))
        );
    }
    let verb = match source {
        Source::Build => "build",
        Source::Load => "load",
        Source::Local => {
            return Err(Error::msg(format!(
                "image {name} is not on {target}: give `build` or `load_path` to make it (no registry is used)"
            )));
        }
    };
    let summary = format!("{verb} image {name}");
    if ctx.check {
        return Ok(changed(
            ctx,
            &name,
            summary,
            &json!({ "Id": current_id }),
            &json!({ "Id": "(new)" }),
        ));
    }
    if source == Source::Build {
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
    } else {
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
