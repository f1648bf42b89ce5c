//! Ansible's `stat` module: what is at a path, for `register:` and `when:`.

use capstan_plugin_sdk::remote::{self, FileKind};
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;

/// Parameters of the `stat` action.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatParams {
    /// Absolute path on the target.
    path: String,
    /// Describe what a symlink points to.
    #[serde(default)]
    follow: bool,
}

/// Describes the path; never changes anything.
pub fn stat(params: StatParams, ctx: &Context) -> Result<Outcome, Error> {
    let path = params.path.as_str();
    let mut info = remote::stat(&ctx.target, path)?;
    if params.follow
        && let Some(i) = &info
        && i.kind == FileKind::Symlink
    {
        let resolved = remote::Command::new(["readlink", "-f", "--", path]).run(&ctx.target)?;
        if resolved.success() {
            info = remote::stat(&ctx.target, resolved.stdout_text().trim())?;
        }
    }
    let Some(info) = info else {
        return Ok(Outcome::ok(format!("{path} does not exist"))
            .with_data(serde_json::json!({ "stat": { "exists": false, "path": path } })));
    };
    let kind = match info.kind {
        FileKind::File => "file",
        FileKind::Directory => "directory",
        FileKind::Symlink => "link",
        FileKind::Other => "other",
    };
    let stat = serde_json::json!({
        "exists": true,
        "path": path,
        "isreg": info.kind == FileKind::File,
        "isdir": info.kind == FileKind::Directory,
        "islnk": info.kind == FileKind::Symlink,
        "mode": format!("{:04o}", info.mode & 0o7777),
        "uid": info.uid,
        "gid": info.gid,
        "size": info.size,
        "lnk_target": info.link_target,
    });
    Ok(Outcome::ok(format!(
        "{path} is a {kind}, mode {:04o}",
        info.mode & 0o7777
    ))
    .with_data(serde_json::json!({ "stat": stat })))
}
