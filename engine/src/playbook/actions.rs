//! The controller-side half of some modules, as Ansible's action plugins
//! do: `debug` and `assert` evaluate expressions, `template` renders its
//! source, `copy src=` reads a local file; the plugin then gets plain
//! parameters.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};

use super::context::RunContext;
use super::copy_folder::{MAX_FOLDER_BYTES, folder_files};
use super::model::RoleRef;
use super::task_error::TaskError;
use super::template::Scope;
use super::template_files::{OPTION_NAMES, TemplateOptions, TemplateSearch, encode_output};
use crate::vault::{HEADER, Vault, VaultError};

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
        let msg = format!("{name}: {}", display_json(&value));
        return Ok(json!({ "msg": msg, "var": { name: value } }));
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
    // Ansible's words, which playbooks test for.
    let missing = || TaskError::Args("assert: missing required arguments: that".into());
    let Json::Object(mut map) = params else {
        return Err(missing());
    };
    let that = map.remove("that").ok_or_else(missing)?;
    let expression = |value: Json| match value {
        Json::Null => String::new(),
        other => display_json(&other),
    };
    let expressions: Vec<String> = match that {
        Json::Array(items) => items.into_iter().map(expression).collect(),
        Json::String(text) => match ctx.templates.listed_conditions(&text, scope)? {
            Some(listed) => listed,
            None => vec![text],
        },
        other => vec![expression(other)],
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
    let bases: Vec<&Path> = role
        .map(|r| r.path.as_path())
        .into_iter()
        .chain([ctx.dir.as_path()])
        .collect();
    find_local(&bases, sub, name, false)
}

/// The first of `name` (when absolute), else of `BASE/sub/name` then
/// `BASE/name` for each of `bases` in order, that is a file (a folder
/// when `folder`); an error names every place it looked.
fn find_local(bases: &[&Path], sub: &str, name: &str, folder: bool) -> Result<PathBuf, TaskError> {
    let wanted = if folder { Path::is_dir } else { Path::is_file };
    let path = PathBuf::from(name);
    let candidates = if path.is_absolute() {
        vec![path]
    } else {
        bases
            .iter()
            .flat_map(|dir| [dir.join(sub).join(&path), dir.join(&path)])
            .collect()
    };
    candidates
        .iter()
        .find(|p| wanted(p))
        .cloned()
        .ok_or_else(|| {
            // Ansible's words, which playbooks test for.
            let what = if folder { "folder" } else { "file" };
            TaskError::LocalFile(format!(
                "Could not find {what} `{name}` (looked in {})",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// A controller file's bytes, or an error naming it.
fn read_bytes(path: &Path) -> Result<Vec<u8>, TaskError> {
    std::fs::read(path)
        .map_err(|e| TaskError::LocalFile(format!("cannot read {}: {e}", path.display())))
}

/// A controller file's bytes as `copy` takes them: `content` when they
/// are text, else `content_base64`; a vault-encrypted file opened first
/// when `vault` is given (Ansible's `decrypt`, its default).
fn file_body(path: &Path, vault: Option<&Vault>) -> Result<(&'static str, Json), TaskError> {
    let bytes = read_bytes(path)?;
    let vaulted = vault.filter(|_| bytes.trim_ascii_start().starts_with(HEADER.as_bytes()));
    if let Some(vault) = vaulted {
        let text = String::from_utf8_lossy(&bytes);
        return match vault.open(&text) {
            Ok(opened) => Ok(("content", Json::String(opened))),
            // Ansible's words.
            Err(VaultError::NoPassword) => Err(TaskError::LocalFile(format!(
                "A vault password or secret must be specified to decrypt {}",
                path.display()
            ))),
            Err(error) => Err(TaskError::LocalFile(format!("{}: {error}", path.display()))),
        };
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => ("content", Json::String(text)),
        Err(binary) => (
            "content_base64",
            Json::String(capstan_wire::base64::encode(binary.as_bytes())),
        ),
    })
}

fn read_text(path: &Path) -> Result<String, TaskError> {
    let bytes = read_bytes(path)?;
    String::from_utf8(bytes)
        .map_err(|_| TaskError::LocalFile(format!("{} is not UTF-8 text", path.display())))
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
    // Ansible's words.
    if map.contains_key("state") {
        return Err(TaskError::Args(
            "'state' cannot be specified on a template".into(),
        ));
    }
    let src = map
        .remove("src")
        .and_then(|s| s.as_str().map(String::from))
        .ok_or_else(|| TaskError::Args("template needs `src`".into()))?;
    let path = local_file(ctx, role, "templates", &src)?;
    let source = read_text(&path)?;
    let dest = map.get("dest").map(display_json).unwrap_or_default();
    let scope = template_scope(scope, &path, &dest);
    let search = TemplateSearch::new(&ctx.dir, role.map(|r| r.path.as_path()), Some(&path));
    let (options, encoding) = template_options(&mut map)?;
    preserve_mode(&mut map, &path)?;
    name_after(&mut map, &path);
    let content = ctx
        .templates
        .render_file(&source, &scope, &search, &options)
        .map_err(TaskError::in_part(format!("template {}", path.display())))?;
    match encode_output(&content, &encoding).map_err(TaskError::Args)? {
        None => map.insert("content".into(), Json::String(content)),
        Some(bytes) => map.insert(
            "content_base64".into(),
            Json::String(capstan_wire::base64::encode(&bytes)),
        ),
    };
    Ok(Json::Object(map))
}

/// `template`'s rendering options and output encoding, taken out of its
/// parameters (the rest go to `copy`).
fn template_options(map: &mut Map<String, Json>) -> Result<(TemplateOptions, String), TaskError> {
    let mut options = TemplateOptions::default();
    for name in OPTION_NAMES {
        if let Some(value) = map.remove(*name) {
            options.set(name, &value).map_err(TaskError::Args)?;
        }
    }
    let encoding = map
        .remove("output_encoding")
        .map(|e| display_json(&e))
        .unwrap_or_default();
    Ok((options, encoding))
}

/// The variables Ansible's `template` adds for the file it renders:
/// `ansible_managed`, `template_path`, `template_fullpath`,
/// `template_destpath`, `template_host`, `template_uid`.
fn template_scope(scope: &Scope, path: &Path, dest: &str) -> Scope {
    let full = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let host = crate::inventory::this_host_name().unwrap_or_default();
    scope.with_missing(
        [
            ("ansible_managed", "Ansible managed".to_string()),
            ("template_path", path.display().to_string()),
            ("template_fullpath", full.display().to_string()),
            ("template_destpath", dest.to_string()),
            ("template_host", host.to_string()),
            ("template_uid", crate::inventory::current_user()),
        ]
        .map(|(name, value)| (name, Json::String(value))),
    )
}

/// `copy` with `src`: read the local file, send its content (and, for
/// `mode: preserve`, its permissions).
pub(crate) fn copy_params(
    ctx: &RunContext,
    role: Option<&RoleRef>,
    params: Json,
) -> Result<Json, TaskError> {
    let Json::Object(mut map) = params else {
        return Ok(params);
    };
    // Ansible's words, in Ansible's order, which playbooks test for.
    if !["src", "content", "content_base64"]
        .iter()
        .any(|key| map.contains_key(*key))
    {
        return Err(TaskError::Args("src (or content) is required".into()));
    }
    if !map.contains_key("dest") {
        return Err(TaskError::Args("dest is required".into()));
    }
    let content_into_folder = map.contains_key("content")
        && map
            .get("dest")
            .and_then(Json::as_str)
            .is_some_and(|dest| dest.ends_with('/'));
    if content_into_folder {
        return Err(TaskError::Args(
            "can not use content with a dir as dest".into(),
        ));
    }
    let remote_src = map
        .get("remote_src")
        .is_some_and(crate::playbook::template::truthy_json);
    map.insert("remote_src".into(), Json::Bool(remote_src));
    // Ansible's `decrypt` (default true): a vaulted `src` is opened
    // before it is copied.
    let vault = map
        .remove("decrypt")
        .is_none_or(|v| crate::playbook::template::truthy_json(&v))
        .then_some(ctx.vault.as_ref());
    if remote_src {
        // The plugin reads the target's own file.
        return Ok(Json::Object(map));
    }
    // `content` with `mode: preserve` keeps the mode of the file Ansible
    // writes the content to first: 0600.
    if map.contains_key("content") && map.get("mode").and_then(Json::as_str) == Some("preserve") {
        map.insert("mode".into(), Json::String("0600".into()));
    }
    if let Some(src) = map.remove("src") {
        if map.contains_key("content") {
            // Ansible's words.
            return Err(TaskError::Args(
                "src and content are mutually exclusive".into(),
            ));
        }
        let name = src.as_str().unwrap_or_default().to_string();
        if name.trim().is_empty() {
            return Err(TaskError::Args("src (or content) is required".into()));
        }
        if let Some(folder) = local_folder(ctx, role, &name) {
            // `dir/` copies what the folder holds; `dir` the folder itself.
            let under = match name.ends_with('/') {
                true => String::new(),
                false => format!(
                    "{}/",
                    folder.file_name().unwrap_or_default().to_string_lossy()
                ),
            };
            let follow = map
                .remove("local_follow")
                .is_none_or(|v| crate::playbook::template::truthy_json(&v));
            // `mode: preserve`: each file keeps its own.
            let preserve = map.get("mode").and_then(Json::as_str) == Some("preserve");
            if preserve {
                map.remove("mode");
            }
            let describe = |path: &Path| {
                let (key, body) = file_body(path, vault)?;
                let mut fields = Map::from_iter([(key.to_string(), body)]);
                if preserve {
                    let mode = format!("{:04o}", local_mode(path)?);
                    fields.insert("mode".into(), Json::String(mode));
                }
                Ok(fields)
            };
            map.insert(
                "files".into(),
                folder_files(&folder, &under, follow, describe)?,
            );
            return Ok(Json::Object(map));
        }
        map.remove("local_follow");
        let path = local_file(ctx, role, "files", &name)?;
        // A file that is not text travels as base64.
        let (key, body) = file_body(&path, vault)?;
        map.insert(key.into(), body);
        preserve_mode(&mut map, &path)?;
        name_after(&mut map, &path);
    }
    Ok(Json::Object(map))
}

/// `src_name`: the name a `dest` that is a folder gives the file, the
/// controller file's own.
fn name_after(map: &mut Map<String, Json>, path: &Path) {
    if let Some(file_name) = path.file_name() {
        map.insert(
            "src_name".into(),
            Json::String(file_name.to_string_lossy().into_owned()),
        );
    }
}

/// `mode: preserve`: the mode of the controller file `path` itself.
fn preserve_mode(map: &mut Map<String, Json>, path: &Path) -> Result<(), TaskError> {
    if map.get("mode").and_then(Json::as_str) == Some("preserve") {
        let mode = local_mode(path)?;
        map.insert("mode".into(), Json::String(format!("{mode:04o}")));
    }
    Ok(())
}

/// A controller file's permission bits (`mode: preserve`); on a system
/// without them, read-only or not.
fn local_mode(path: &Path) -> Result<u32, TaskError> {
    let permissions = std::fs::metadata(path)
        .map_err(|e| TaskError::LocalFile(format!("{}: {e}", path.display())))?
        .permissions();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(permissions.mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        Ok(if permissions.readonly() { 0o444 } else { 0o644 })
    }
}

/// `unarchive`: the controller's archive (`src`, looked for as `copy`'s
/// is) read into `content_base64`, unless the archive is on the target
/// (`remote_src: true`, or the older `copy: false`).
pub(crate) fn unarchive_params(
    ctx: &RunContext,
    role: Option<&RoleRef>,
    params: Json,
) -> Result<Json, TaskError> {
    let Json::Object(mut map) = params else {
        return Ok(params);
    };
    let flag = |map: &mut Map<String, Json>, key: &str| {
        map.remove(key)
            .map(|v| crate::playbook::template::truthy_json(&v))
    };
    let copy = flag(&mut map, "copy");
    let remote_src = flag(&mut map, "remote_src").unwrap_or(false) || copy == Some(false);
    // Read by Ansible's module, meaningless here: decrypting is the
    // vault's, and downloads are not unarchive's in Capstan.
    for ignored in ["decrypt", "validate_certs", "io_buffer_size"] {
        map.remove(ignored);
    }
    map.insert("remote_src".into(), Json::Bool(remote_src));
    let Some(Json::String(src)) = map.get("src").cloned() else {
        return Err(TaskError::Args(
            "unarchive: `src` (the archive) is required".into(),
        ));
    };
    if remote_src {
        if src.contains("://") {
            return Err(TaskError::Args(format!(
                "unarchive: downloading `{src}` is not supported; fetch it with get_url first"
            )));
        }
        return Ok(Json::Object(map));
    }
    let path = local_file(ctx, role, "files", &src)?;
    let bytes = read_bytes(&path)?;
    if bytes.len() as u64 > MAX_FOLDER_BYTES {
        return Err(TaskError::LocalFile(format!(
            "{} is {} bytes, more than unarchive sends in one task ({MAX_FOLDER_BYTES}); put it \
             on the host first and use remote_src",
            path.display(),
            bytes.len()
        )));
    }
    map.insert(
        "content_base64".into(),
        Json::String(capstan_wire::base64::encode(&bytes)),
    );
    Ok(Json::Object(map))
}

/// The controller folder a `copy` `src` names, if it names one.
fn local_folder(ctx: &RunContext, role: Option<&RoleRef>, name: &str) -> Option<PathBuf> {
    let bases: Vec<&Path> = role
        .map(|r| r.path.as_path())
        .into_iter()
        .chain([ctx.dir.as_path()])
        .collect();
    find_local(&bases, "files", name.trim_end_matches('/'), true).ok()
}

/// `script`: the controller's script (`cmd`'s first word, looked for in
/// the role's `files/` and then as `copy`'s `src` is) read into
/// `content`, and the rest of `cmd` kept as `args`, shell text run beside
/// it on the target.
pub(crate) fn script_params(
    ctx: &RunContext,
    role: Option<&RoleRef>,
    params: Json,
) -> Result<Json, TaskError> {
    let Json::Object(mut map) = params else {
        return Ok(params);
    };
    let Some(Json::String(cmd)) = map.remove("cmd") else {
        return Err(TaskError::Args(
            "script: name the script to run (`script: NAME ARGS` or `cmd: NAME ARGS`)".into(),
        ));
    };
    let words = crate::playbook::modules::split_words(cmd.trim())?;
    let Some((first_raw, name)) = words.first() else {
        return Err(TaskError::Args("script: the command is empty".into()));
    };
    let args = cmd.trim()[first_raw.len()..].trim().to_string();
    let path = local_file(ctx, role, "files", name)?;
    map.insert("content".into(), Json::String(read_text(&path)?));
    map.insert("args".into(), Json::String(args));
    map.insert("name".into(), Json::String(name.clone()));
    Ok(Json::Object(map))
}

/// `include_vars`: the mappings in `file` (or in every file of `dir`),
/// under `name` when given, read on the controller. A relative `file` is
/// looked for in the role's `vars/` or folder, the task file's `vars/` or
/// folder, then the playbook's; a relative `dir` the same way. Returns
/// the files read, in order, and the variables (a later file wins).
pub(crate) fn include_vars(
    ctx: &RunContext,
    task: &crate::playbook::model::Task,
    params: Json,
) -> Result<IncludedVars, TaskError> {
    let mut map = match params {
        Json::Object(map) => map,
        Json::String(file) => Map::from_iter([("file".to_string(), Json::String(file))]),
        _ => return Err(TaskError::Args("include_vars needs a file or a dir".into())),
    };
    if let Some(raw) = map.remove("_raw_params") {
        map.entry("file").or_insert(raw);
    }
    let text = |map: &mut Map<String, Json>, key: &str| map.remove(key).map(|v| display_json(&v));
    let file = text(&mut map, "file");
    let dir = text(&mut map, "dir");
    let name = text(&mut map, "name");
    let listing = DirListing {
        files_matching: text(&mut map, "files_matching"),
        ignore_files: string_list(map.remove("ignore_files")).unwrap_or_default(),
        extensions: string_list(map.remove("extensions"))
            .unwrap_or_else(|| vec!["yaml".into(), "yml".into(), "json".into()]),
        ignore_unknown_extensions: map
            .remove("ignore_unknown_extensions")
            .is_some_and(|v| crate::playbook::template::truthy_json(&v)),
        depth: map.remove("depth").and_then(|d| d.as_u64()).unwrap_or(0) as usize,
    };
    let merge_hashes = match map.remove("hash_behaviour").as_ref().map(display_json) {
        None => false,
        Some(how) if how == "merge" => true,
        Some(how) if how == "replace" => false,
        Some(other) => {
            return Err(TaskError::Args(format!(
                "include_vars: hash_behaviour `{other}` is neither replace nor merge"
            )));
        }
    };
    if let Some((extra, _)) = map.into_iter().next() {
        return Err(TaskError::Args(format!(
            "include_vars: unsupported option `{extra}` (supported: file, dir, name, \
             files_matching, ignore_files, extensions, ignore_unknown_extensions, depth, \
             hash_behaviour)"
        )));
    }
    let task_dir = Path::new(&*task.pos.file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let bases: Vec<&Path> = task
        .role
        .iter()
        .map(|r| r.path.as_path())
        .chain([task_dir.as_path(), ctx.dir.as_path()])
        .collect();
    let files = match (file, dir) {
        (Some(file), None) => vec![find_local(&bases, "vars", &file, false)?],
        (None, Some(dir)) => {
            let root = find_local(&bases, "vars", &dir, true)?;
            // A role's own vars/main.yml is never read again.
            let role_main = task.role.as_ref().map(|r| r.path.join("vars/main.yml"));
            listing.files(&root, role_main.as_deref())?
        }
        (Some(_), Some(_)) => {
            return Err(TaskError::Args(
                "include_vars: give `file` or `dir`, not both".into(),
            ));
        }
        (None, None) => {
            return Err(TaskError::Args(
                "include_vars needs `file` (or the file's name) or `dir`".into(),
            ));
        }
    };
    let mut vars = Map::new();
    for found in &files {
        let node = ctx
            .vault
            .read_yaml(found, capstan_yaml::TopLevel::Mapping, "vars file")
            .map_err(|e| TaskError::VarsFile(e.to_string()))?;
        vars.extend(
            crate::playbook::model::vars(&node).map_err(|e| TaskError::VarsFile(e.to_string()))?,
        );
    }
    let vars = match name {
        Some(name) => Map::from_iter([(name, Json::Object(vars))]),
        None => vars,
    };
    Ok(IncludedVars {
        files,
        vars,
        merge_hashes,
    })
}

/// What an `include_vars` task read.
pub(crate) struct IncludedVars {
    /// The files, in the order read.
    pub files: Vec<PathBuf>,
    /// Their variables (a later file's win).
    pub vars: Map<String, Json>,
    /// `hash_behaviour: merge`: a mapping merges into the one an earlier
    /// include gave the same name, instead of replacing it.
    pub merge_hashes: bool,
}

/// A list option that may be written as one string.
fn string_list(value: Option<Json>) -> Option<Vec<String>> {
    Some(match value? {
        Json::Array(items) => items.iter().map(display_json).collect(),
        one => vec![display_json(&one)],
    })
}

/// Which files of a folder `include_vars: dir=` reads.
struct DirListing {
    /// A regular expression the file's name must match.
    files_matching: Option<String>,
    /// Patterns (matched at the name's end) of names to leave out.
    ignore_files: Vec<String>,
    /// The extensions of vars files (`""` for none).
    extensions: Vec<String>,
    /// Leave out files of other extensions instead of failing on them.
    ignore_unknown_extensions: bool,
    /// How many folders down (0: all).
    depth: usize,
}

impl DirListing {
    /// The files under `root` to read, in order (never `skip`).
    fn files(&self, root: &Path, skip: Option<&Path>) -> Result<Vec<PathBuf>, TaskError> {
        let regex = |pattern: &str, option: &str| {
            regex::Regex::new(pattern)
                .map_err(|e| TaskError::Args(format!("include_vars: {option}: {e}")))
        };
        let pattern = self
            .files_matching
            .as_deref()
            .map(|p| regex(p, "files_matching"))
            .transpose()?;
        let ignored = self
            .ignore_files
            .iter()
            .map(|i| regex(&format!("{i}$"), "ignore_files"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut found = Vec::new();
        vars_files_in(root, self.depth, 1, &mut found);
        found.retain(|path| {
            let file_name = path.file_name().unwrap_or_default().to_string_lossy();
            Some(path.as_path()) != skip
                && !ignored.iter().any(|i| i.is_match(&file_name))
                && pattern.as_ref().is_none_or(|p| p.is_match(&file_name))
        });
        let valid = |path: &PathBuf| {
            let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
            self.extensions.contains(&ext.unwrap_or_default())
        };
        if self.ignore_unknown_extensions {
            found.retain(valid);
        } else if let Some(odd) = found.iter().find(|p| !valid(p)) {
            return Err(TaskError::VarsFile(format!(
                "{} does not have a valid extension: {}",
                odd.display(),
                self.extensions.join(", ")
            )));
        }
        Ok(found)
    }
}

/// The files under `dir`, sorted by name, each folder's files before its
/// subfolders', at most `depth` folders down (0: no limit).
fn vars_files_in(dir: &Path, depth: usize, level: usize, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let (folders, files): (Vec<PathBuf>, Vec<PathBuf>) =
        entries.into_iter().partition(|p| p.is_dir());
    out.extend(files);
    if depth == 0 || level < depth {
        for folder in folders {
            vars_files_in(&folder, depth, level + 1, out);
        }
    }
}
