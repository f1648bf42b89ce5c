//! The controller-side half of some modules, as Ansible's action plugins
//! do: `debug` and `assert` evaluate expressions, `template` renders its
//! source, `copy src=` reads a local file; the plugin then gets plain
//! parameters.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};

use super::context::RunContext;
use super::model::RoleRef;
use super::task_error::TaskError;
use super::template::Scope;

/// `debug`: `msg` (any value, printed as Ansible prints it) or `var`.
pub(crate) fn debug_params(
    ctx: &RunContext,
    params: Json,
    scope: &Scope,
) -> Result<Json, TaskError> {
    let Json::Object(mut map) = params else {
        return Ok(json!({"msg": "Hello world!"}));
    };
    map.remove("verbosity");
    if let Some(var) = map.remove("var") {
        let name = var.as_str().unwrap_or_default().to_string();
        let value = ctx
            .templates
            .eval(&name, scope)
            .map(|v| serde_json::to_value(&v).unwrap_or(Json::Null))
            .unwrap_or_else(|_| Json::String("VARIABLE IS NOT DEFINED!".into()));
        return Ok(json!({"msg": format!("{name}: {}", display_json(&value))}));
    }
    let msg = map
        .remove("msg")
        .unwrap_or(Json::String("Hello world!".into()));
    if let Some((extra, _)) = map.into_iter().next() {
        return Err(TaskError::Args(format!(
            "debug: unknown field `{extra}` (known: msg, var, verbosity)"
        )));
    }
    Ok(json!({"msg": display_json(&msg)}))
}

pub(crate) fn display_json(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `assert`: every `that` expression is evaluated here, the plugin
/// decides and words the outcome.
pub(crate) fn assert_params(
    ctx: &RunContext,
    params: Json,
    scope: &Scope,
) -> Result<Json, TaskError> {
    let Json::Object(mut map) = params else {
        return Err(TaskError::Args("assert needs `that:`".into()));
    };
    let that = map
        .remove("that")
        .ok_or_else(|| TaskError::Args("assert needs `that:`".into()))?;
    let expressions: Vec<String> = match that {
        Json::Array(items) => items.into_iter().map(|i| display_json(&i)).collect(),
        Json::Bool(b) => vec![b.to_string()],
        other => vec![display_json(&other)],
    };
    let mut checks = Vec::new();
    for expr in expressions {
        let ok = ctx.templates.condition(&expr, scope)?;
        checks.push(json!({"that": expr, "ok": ok}));
        if !ok {
            break;
        }
    }
    let mut out = Map::new();
    out.insert("checks".into(), Json::Array(checks));
    if let Some(msg) = map.remove("fail_msg").or_else(|| map.remove("msg")) {
        out.insert("fail_msg".into(), ctx.templates.render_json(&msg, scope)?);
    }
    if let Some(msg) = map.remove("success_msg") {
        out.insert(
            "success_msg".into(),
            ctx.templates.render_json(&msg, scope)?,
        );
    }
    if let Some(quiet) = map.remove("quiet") {
        out.insert("quiet".into(), quiet);
    }
    if let Some((extra, _)) = map.into_iter().next() {
        return Err(TaskError::Args(format!(
            "assert: unknown field `{extra}` (known: that, fail_msg, msg, success_msg, quiet)"
        )));
    }
    Ok(Json::Object(out))
}

/// Finds a local file a task names: absolute, or under its role's `sub`
/// folder (`files/`, `templates/`) or in its role's folder, then under
/// the playbook's `sub` folder or next to the playbook.
fn local_file(
    ctx: &RunContext,
    role: Option<&RoleRef>,
    sub: &str,
    name: &str,
) -> Result<PathBuf, TaskError> {
    let path = PathBuf::from(name);
    let candidates = if path.is_absolute() {
        vec![path]
    } else {
        role.map(|r| r.path.as_path())
            .into_iter()
            .chain([ctx.dir.as_path()])
            .flat_map(|dir| [dir.join(sub).join(&path), dir.join(&path)])
            .collect()
    };
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            TaskError::LocalFile(format!(
                "cannot find `{name}` (looked in {})",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

fn read_text(path: &Path) -> Result<String, TaskError> {
    let bytes = std::fs::read(path)
        .map_err(|e| TaskError::LocalFile(format!("cannot read {}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|_| {
        TaskError::LocalFile(format!(
            "{} is not UTF-8 text; copying binary files is not supported yet",
            path.display()
        ))
    })
}

/// `template`: render `src` here, hand the text to `copy`.
pub(crate) fn template_params(
    ctx: &RunContext,
    role: Option<&RoleRef>,
    params: Json,
    scope: &Scope,
) -> Result<Json, TaskError> {
    let Json::Object(mut map) = params else {
        return Err(TaskError::Args("template needs `src` and `dest`".into()));
    };
    let src = map
        .remove("src")
        .and_then(|s| s.as_str().map(String::from))
        .ok_or_else(|| TaskError::Args("template needs `src`".into()))?;
    let path = local_file(ctx, role, "templates", &src)?;
    let source = read_text(&path)?;
    let content = ctx
        .templates
        .render_text(&source, scope)
        .map_err(TaskError::in_part(format!("template {}", path.display())))?;
    map.insert("content".into(), Json::String(content));
    Ok(Json::Object(map))
}

/// `copy` with `src`: read the local file, send its content.
pub(crate) fn copy_params(
    ctx: &RunContext,
    role: Option<&RoleRef>,
    params: Json,
) -> Result<Json, TaskError> {
    let Json::Object(mut map) = params else {
        return Ok(params);
    };
    if let Some(src) = map.remove("src") {
        if map.contains_key("content") {
            return Err(TaskError::Args(
                "copy: give `src` or `content`, not both".into(),
            ));
        }
        let name = src.as_str().unwrap_or_default().to_string();
        if name.ends_with('/') {
            return Err(TaskError::Args(format!(
                "copy: copying a folder (`{name}`) is not supported yet"
            )));
        }
        let path = local_file(ctx, role, "files", &name)?;
        map.insert("content".into(), Json::String(read_text(&path)?));
    }
    Ok(Json::Object(map))
}

/// `include_vars`: the mapping in `file` (under `name` when given), read
/// on the controller from the role's `vars/` or folder, the task file's
/// `vars/` or folder, or the playbook's `vars/` or folder.
pub(crate) fn include_vars(
    ctx: &RunContext,
    task: &crate::playbook::model::Task,
    params: Json,
) -> Result<(PathBuf, Map<String, Json>), TaskError> {
    let Json::Object(mut map) = params else {
        return Err(TaskError::Args("include_vars needs a file".into()));
    };
    let file = map
        .remove("file")
        .and_then(|f| f.as_str().map(String::from))
        .ok_or_else(|| TaskError::Args("include_vars needs `file` (or the file's name)".into()))?;
    let name = map
        .remove("name")
        .and_then(|n| n.as_str().map(String::from));
    if let Some((extra, _)) = map.into_iter().next() {
        return Err(TaskError::Args(format!(
            "include_vars: unsupported option `{extra}` (supported: file, name)"
        )));
    }
    let task_dir = Path::new(&*task.pos.file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = PathBuf::from(&file);
    let candidates: Vec<PathBuf> = if path.is_absolute() {
        vec![path]
    } else {
        task.role
            .iter()
            .map(|r| r.path.clone())
            .chain([task_dir, ctx.dir.clone()])
            .flat_map(|dir| [dir.join("vars").join(&path), dir.join(&path)])
            .collect()
    };
    let found = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        TaskError::LocalFile(format!(
            "cannot find `{file}` (looked in {})",
            looked.join(", ")
        ))
    })?;
    let node = ctx
        .vault
        .read_yaml(found, capstan_yaml::TopLevel::Mapping, "vars file")
        .map_err(|e| TaskError::VarsFile(e.to_string()))?;
    let vars: Map<String, Json> = crate::playbook::model::vars(&node)
        .map_err(|e| TaskError::VarsFile(e.to_string()))?
        .into_iter()
        .collect();
    Ok(match name {
        Some(name) => (found.clone(), Map::from_iter([(name, Json::Object(vars))])),
        None => (found.clone(), vars),
    })
}
