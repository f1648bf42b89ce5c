//! Ansible's `git` module: a checkout of `repo` at `dest`, at `version`
//! (a branch, tag or commit; default the remote's HEAD), cloned when
//! missing and brought up to date when `update` (default yes). Local
//! changes are never thrown away unless `force`.

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, register_plugin,
};
use serde::Deserialize;

/// Parameters of `apply`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GitParams {
    /// Repository URL or path.
    repo: String,
    /// Absolute path of the checkout.
    dest: String,
    /// Branch, tag or commit (default: the remote's HEAD).
    version: Option<String>,
    /// Fetch and move to `version` when it moved (default true).
    update: Option<bool>,
    /// Discard local changes.
    #[serde(default)]
    force: bool,
    /// Shallow clone with this many commits.
    depth: Option<u32>,
}

struct Git;

impl Plugin for Git {
    fn manifest() -> Manifest {
        Manifest::new(
            "git",
            env!("CARGO_PKG_VERSION"),
            "Check out git repositories.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::Local)
        .action(Action::new("apply", "Clone or update a checkout to a version.").run(apply))
    }
}

/// Runs git with `args`; its trimmed stdout, or an error quoting stderr.
fn git(ctx: &Context, args: &[&str]) -> Result<String, Error> {
    let mut argv = vec!["git"];
    argv.extend_from_slice(args);
    let out = Command::new(argv.iter().copied())
        .env("GIT_TERMINAL_PROMPT", "0")
        .run_checked(&ctx.target)?;
    Ok(out.stdout_text().trim().to_string())
}

/// The commit `version` names on the remote (`HEAD` when none), without fetching.
fn remote_commit(ctx: &Context, repo: &str, version: &str) -> Result<Option<String>, Error> {
    if version.len() == 40 && version.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(Some(version.to_string()));
    }
    let listing = git(ctx, &["ls-remote", "--", repo, version])?;
    let wanted = [
        version.to_string(),
        format!("refs/heads/{version}"),
        format!("refs/tags/{version}^{{}}"),
        format!("refs/tags/{version}"),
    ];
    for name in &wanted {
        if let Some(line) = listing
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name.as_str()))
        {
            return Ok(line.split_whitespace().next().map(String::from));
        }
    }
    Ok(None)
}

fn apply(p: GitParams, ctx: &Context) -> Result<Outcome, Error> {
    if !p.dest.starts_with('/') {
        return Err(Error::InvalidParams(format!(
            "dest `{}` must be an absolute path",
            p.dest
        )));
    }
    if p.repo.starts_with('-') || p.version.as_deref().is_some_and(|v| v.starts_with('-')) {
        return Err(Error::InvalidParams(
            "repo and version cannot start with '-'".into(),
        ));
    }
    let version = p.version.clone().unwrap_or_else(|| "HEAD".into());
    let dest = p.dest.as_str();
    let checked_out = Command::new(["test", "-e", &format!("{dest}/.git")])
        .run(&ctx.target)?
        .success();
    let data =
        |before: Option<&str>, after: &str| serde_json::json!({ "before": before, "after": after });

    if !checked_out {
        if ctx.check {
            let after = remote_commit(ctx, &p.repo, &version)?.unwrap_or_default();
            return Ok(
                Outcome::changed(format!("would clone {} into {dest}", p.repo))
                    .with_data(data(None, &after)),
            );
        }
        let depth = p.depth.map(|d| d.to_string());
        let mut args = vec!["clone", "-q"];
        if let Some(depth) = &depth {
            args.extend(["--depth", depth.as_str(), "--no-single-branch"]);
        }
        args.extend(["--", p.repo.as_str(), dest]);
        git(ctx, &args)?;
        if version != "HEAD" {
            git(ctx, &["-C", dest, "checkout", "-q", version.as_str()])?;
        }
        let after = git(ctx, &["-C", dest, "rev-parse", "HEAD"])?;
        return Ok(Outcome::changed(format!(
            "cloned {} at {}",
            p.repo,
            &after[..after.len().min(12)]
        ))
        .with_data(data(None, &after)));
    }

    let before = git(ctx, &["-C", dest, "rev-parse", "HEAD"])?;
    if !p.update.unwrap_or(true) {
        return Ok(Outcome::ok(format!(
            "{dest} left at {}",
            &before[..before.len().min(12)]
        ))
        .with_data(data(Some(&before), &before)));
    }
    let target = remote_commit(ctx, &p.repo, &version)?
        .ok_or_else(|| Error::msg(format!("version `{version}` is not in {}", p.repo)))?;
    if target == before {
        return Ok(
            Outcome::ok(format!("{dest} is at {}", &before[..before.len().min(12)]))
                .with_data(data(Some(&before), &before)),
        );
    }
    let dirty = !git(
        ctx,
        &["-C", dest, "status", "--porcelain", "--untracked-files=no"],
    )?
    .is_empty();
    if dirty && !p.force {
        return Err(Error::msg(format!(
            "{dest} has local modifications; set force: yes to discard them"
        )));
    }
    if ctx.check {
        return Ok(Outcome::changed(format!(
            "would move {dest} to {}",
            &target[..target.len().min(12)]
        ))
        .with_data(data(Some(&before), &target)));
    }
    git(ctx, &["-C", dest, "fetch", "-q", "--tags", "origin"])?;
    let is_branch = version != "HEAD"
        && git(
            ctx,
            &[
                "-C",
                dest,
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/remotes/origin/{version}"),
            ],
        )
        .is_ok();
    if is_branch {
        git(
            ctx,
            &[
                "-C",
                dest,
                "checkout",
                "-q",
                "-B",
                version.as_str(),
                target.as_str(),
            ],
        )?;
    } else if version == "HEAD" {
        git(ctx, &["-C", dest, "reset", "-q", "--hard", target.as_str()])?;
    } else {
        git(
            ctx,
            &["-C", dest, "checkout", "-q", "--force", target.as_str()],
        )?;
    }
    if p.force {
        git(ctx, &["-C", dest, "reset", "-q", "--hard", target.as_str()])?;
    }
    let after = git(ctx, &["-C", dest, "rev-parse", "HEAD"])?;
    Ok(Outcome::changed(format!(
        "updated {dest} from {} to {}",
        &before[..before.len().min(12)],
        &after[..after.len().min(12)]
    ))
    .with_data(data(Some(&before), &after)))
}

register_plugin!(Git);
