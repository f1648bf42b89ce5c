//! Ansible's `command` and `shell` modules: `exec` runs a program (never
//! through a shell), `shell` runs a command line through `/bin/sh`; both
//! are guarded by `creates`/`removes` and report changed when they ran.

mod split;

use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, log,
    register_plugin, remote,
};
use serde::Deserialize;

/// Parameters of `exec`: `cmd` or `argv`, not both (the plugin says so;
/// the schema cannot say it in words a user would read).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExecParams {
    /// A command line, split into words like a shell would (no expansion).
    cmd: Option<String>,
    /// The program and its arguments, as a list.
    argv: Option<Vec<String>>,
    /// Change into this directory first.
    chdir: Option<String>,
    /// Do not run when this path exists.
    creates: Option<String>,
    /// Do not run unless this path exists.
    removes: Option<String>,
    /// Text fed on standard input.
    stdin: Option<String>,
    /// Ignored, with a warning, as Ansible's `command` does: a command
    /// runs without a shell (use `shell` to choose one).
    executable: Option<String>,
}

/// Parameters of `shell`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ShellParams {
    /// The command line, given to the shell as is.
    cmd: String,
    /// The shell (default `/bin/sh`).
    executable: Option<String>,
    /// Change into this directory first.
    chdir: Option<String>,
    /// Do not run when this path exists.
    creates: Option<String>,
    /// Do not run unless this path exists.
    removes: Option<String>,
    /// Text fed on standard input.
    stdin: Option<String>,
}

/// What guards and feeds a command, whichever way it is given.
struct Options {
    chdir: Option<String>,
    creates: Option<String>,
    removes: Option<String>,
    stdin: Option<String>,
    /// Said in the log and in the result's `warnings`.
    warnings: Vec<String>,
}

struct Command;

impl Plugin for Command {
    fn manifest() -> Manifest {
        Manifest::new(
            "command",
            env!("CARGO_PKG_VERSION"),
            "Run a command on the target, without a shell.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::RemoteFiles)
        .capability(Capability::Local)
        .action(Action::new("exec", "Run a command; changed when it ran.").run(exec))
        .action(
            Action::new(
                "shell",
                "Run a command line through the shell; changed when it ran.",
            )
            .run(shell),
        )
        .action(
            Action::new(
                "ping",
                "Check the target answers (Ansible's ping): runs `true` there.",
            )
            .run(ping),
        )
    }
}

/// Parameters of `ping`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PingParams {
    /// What to answer (default `pong`); `crash` fails, as Ansible's does.
    data: Option<String>,
}

fn ping(params: PingParams, ctx: &Context) -> Result<Outcome, Error> {
    let data = params.data.unwrap_or_else(|| "pong".into());
    if data == "crash" {
        return Err(Error::msg("boom (ping was asked to crash)"));
    }
    remote::Command::new(["true"]).run_checked(&ctx.target)?;
    Ok(Outcome::ok(data.clone()).with_data(serde_json::json!({ "ping": data })))
}

fn exec(params: ExecParams, ctx: &Context) -> Result<Outcome, Error> {
    let argv = match (params.argv, params.cmd) {
        (Some(argv), None) => argv,
        (None, Some(cmd)) => split::words(&cmd).map_err(Error::InvalidParams)?,
        (Some(_), Some(_)) => {
            return Err(Error::InvalidParams(
                "parameters are mutually exclusive: cmd, argv (give one)".into(),
            ));
        }
        (None, None) => {
            return Err(Error::InvalidParams(
                "one of the following is required: cmd (the command line), argv".into(),
            ));
        }
    };
    if argv.is_empty() {
        return Err(Error::InvalidParams("the command is empty".into()));
    }
    let shown = argv.join(" ");
    let warnings = params
        .executable
        .map(|shell| {
            format!(
                "As of Ansible 2.4, the parameter 'executable' is no longer supported with the \
                 'command' module. Not using '{shell}'."
            )
        })
        .into_iter()
        .collect();
    let options = Options {
        chdir: params.chdir,
        creates: params.creates,
        removes: params.removes,
        stdin: params.stdin,
        warnings,
    };
    run(argv, shown, options, ctx)
}

fn shell(params: ShellParams, ctx: &Context) -> Result<Outcome, Error> {
    if params.cmd.trim().is_empty() {
        return Err(Error::InvalidParams("the command is empty".into()));
    }
    let shell = params.executable.unwrap_or_else(|| "/bin/sh".into());
    let shown = params.cmd.clone();
    let argv = vec![shell, "-c".into(), params.cmd];
    let options = Options {
        chdir: params.chdir,
        creates: params.creates,
        removes: params.removes,
        stdin: params.stdin,
        warnings: Vec::new(),
    };
    run(argv, shown, options, ctx)
}

fn run(argv: Vec<String>, shown: String, params: Options, ctx: &Context) -> Result<Outcome, Error> {
    if let Some(path) = &params.creates
        && remote::stat(&ctx.target, path)?.is_some()
    {
        return Ok(Outcome::ok(format!("skipped, since {path} exists"))
            .with_data(serde_json::json!({ "cmd": argv, "rc": 0 })));
    }
    if let Some(path) = &params.removes
        && remote::stat(&ctx.target, path)?.is_none()
    {
        return Ok(Outcome::ok(format!("skipped, since {path} does not exist"))
            .with_data(serde_json::json!({ "cmd": argv, "rc": 0 })));
    }
    if ctx.check {
        return Ok(Outcome::skipped(format!(
            "would run `{shown}` (check mode)"
        )));
    }

    let mut command = remote::Command::new(argv.clone());
    if let Some(dir) = &params.chdir {
        command = command.cwd(dir);
    }
    if let Some(input) = params.stdin {
        command = command.stdin(input.into_bytes());
    }
    let output = command.run(&ctx.target)?;
    let stdout = output.stdout_text();
    let stderr = output.stderr_text();
    for line in stdout.lines() {
        log::info(line);
    }
    for line in stderr
        .lines()
        .chain(params.warnings.iter().map(String::as_str))
    {
        log::warn(line);
    }
    let mut data = serde_json::json!({
        "changed": true,
        "cmd": argv,
        "rc": output.exit_code,
        "stdout": stdout.trim_end_matches('\n'),
        "stderr": stderr.trim_end_matches('\n'),
        "stdout_lines": stdout.lines().collect::<Vec<_>>(),
        "stderr_lines": stderr.lines().collect::<Vec<_>>(),
    });
    if !params.warnings.is_empty() {
        data["warnings"] = serde_json::json!(params.warnings);
    }
    let outcome = match output.exit_code {
        Some(0) => Outcome::changed(format!("ran `{shown}`")),
        Some(code) => Outcome::failed(format!(
            "`{shown}` exited with {code}: {}",
            last_line(&stderr)
        )),
        None => Outcome::failed(format!("`{shown}` was killed by a signal")),
    };
    Ok(outcome.with_data(data))
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no stderr)")
}

register_plugin!(Command);
