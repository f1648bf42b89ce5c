//! Ansible's `command` and `shell` modules: `exec` runs a program (never
//! through a shell), `shell` runs a command line through `/bin/sh`; both
//! are guarded by `creates`/`removes` and report changed when they ran.

mod background;

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
    /// End the standard input with a newline (default true, as Ansible).
    stdin_add_newline: Option<bool>,
    /// Ignored, with a warning, as Ansible's `command` does: a command
    /// runs without a shell (use `shell` to choose one).
    executable: Option<String>,
    /// Drop the newlines that end stdout and stderr (default true, as
    /// Ansible's).
    strip_empty_ends: Option<bool>,
    /// Start it in the background, stopped after this many seconds, and
    /// answer at once (the runner sets it from `async:` with `poll: 0`).
    background_seconds: Option<u64>,
    /// Replace `$NAME` and `${NAME}` in the words by the host's
    /// environment variables (default true, as Ansible's command).
    expand_argument_vars: Option<bool>,
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
    /// End the standard input with a newline (default true, as Ansible).
    stdin_add_newline: Option<bool>,
    /// Drop the newlines that end stdout and stderr (default true, as
    /// Ansible's).
    strip_empty_ends: Option<bool>,
    /// Start it in the background, stopped after this many seconds, and
    /// answer at once (the runner sets it from `async:` with `poll: 0`).
    background_seconds: Option<u64>,
    /// Refused, in Ansible's words: the shell itself expands variables.
    expand_argument_vars: Option<serde_json::Value>,
}

/// Parameters of `script` (the runner reads the controller's script into
/// `content`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ScriptParams {
    /// The script's name, as the task gave it (for messages).
    name: String,
    /// The script itself.
    content: String,
    /// Shell text after the script's name: its arguments.
    #[serde(default)]
    args: String,
    /// Run the script with this program (`python3`), else as a program
    /// of its own (its `#!` line).
    executable: Option<String>,
    /// Change into this directory first.
    chdir: Option<String>,
    /// Do not run when this path exists.
    creates: Option<String>,
    /// Do not run unless this path exists.
    removes: Option<String>,
}

/// What guards and feeds a command, whichever way it is given.
struct Options {
    /// Drop the newlines that end stdout and stderr.
    strip_empty_ends: bool,
    /// The command is a shell line (`shell`): its result's `cmd` is that
    /// line, as Ansible's, not the words run.
    shell_line: bool,
    chdir: Option<String>,
    creates: Option<String>,
    removes: Option<String>,
    stdin: Option<String>,
    /// Said in the log and in the result's `warnings`.
    warnings: Vec<String>,
    /// Run in the background for at most so many seconds.
    background_seconds: Option<u64>,
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
                "script",
                "Copy a script to the target, run it there and remove it; changed when it ran.",
            )
            .run(script),
        )
        .action(
            Action::new(
                "ping",
                "Check the target answers (Ansible's ping): runs `true` there.",
            )
            .run(ping),
        )
        .action(
            Action::new(
                "async_status",
                "A background task's state and, once it finished, its result (Ansible's \
                 async_status).",
            )
            .run(background::async_status),
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

/// Standard input as Ansible feeds it: with a newline at its end unless
/// `stdin_add_newline: false`.
fn with_newline(stdin: Option<String>, add_newline: Option<bool>) -> Option<String> {
    stdin.map(|mut text| {
        if add_newline.unwrap_or(true) {
            text.push('\n');
        }
        text
    })
}

fn exec(params: ExecParams, ctx: &Context) -> Result<Outcome, Error> {
    let argv = match (params.argv, params.cmd) {
        (Some(argv), None) => argv,
        (None, Some(cmd)) => {
            capstan_plugin_sdk::shell_words::words(&cmd).map_err(Error::InvalidParams)?
        }
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
    let argv = if params.expand_argument_vars.unwrap_or(true) {
        remote::expand_vars(&ctx.target, argv, false)?
    } else {
        argv
    };
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
        strip_empty_ends: params.strip_empty_ends.unwrap_or(true),
        shell_line: false,
        chdir: params.chdir,
        creates: params.creates,
        removes: params.removes,
        stdin: with_newline(params.stdin, params.stdin_add_newline),
        warnings,
        background_seconds: params.background_seconds,
    };
    run(argv, shown, options, ctx)
}

fn shell(params: ShellParams, ctx: &Context) -> Result<Outcome, Error> {
    if params.cmd.trim().is_empty() {
        return Err(Error::InvalidParams("the command is empty".into()));
    }
    if params.expand_argument_vars.is_some() {
        return Err(Error::msg(
            "Unsupported parameters for (shell) module: expand_argument_vars",
        ));
    }
    let shell = params.executable.unwrap_or_else(|| "/bin/sh".into());
    let shown = params.cmd.clone();
    let argv = vec![shell, "-c".into(), params.cmd];
    let options = Options {
        strip_empty_ends: params.strip_empty_ends.unwrap_or(true),
        shell_line: true,
        chdir: params.chdir,
        creates: params.creates,
        removes: params.removes,
        stdin: with_newline(params.stdin, params.stdin_add_newline),
        warnings: Vec::new(),
        background_seconds: params.background_seconds,
    };
    run(argv, shown, options, ctx)
}

/// Goes into `$1` (when given; by its physical path, so `$PWD` is where a
/// symlink leads, as after Python's chdir) and runs `$3...` unless something matches
/// the `creates` pattern `$2` (when given) there, as Ansible's command
/// does (chdir first, then the glob): the guards and the command in one
/// round trip. Either way out says so in a line of its own on stderr.
const GUARDED: &str = r#"d=$1 c=$2
shift 2
if [ -n "$d" ] && ! cd -P -- "$d" 2>/dev/null; then echo capstan-fail:chdir >&2; exit 1; fi
if [ -n "$c" ]; then
    IFS=
    for f in $c; do
        if [ -e "$f" ] || [ -h "$f" ]; then echo capstan-skip:creates >&2; exit 0; fi
    done
    unset IFS
fi
exec "$@""#;

/// What [`GUARDED`] says on stderr when the `creates` pattern matched,
/// and when it could not go into the folder.
const MATCHED: &[u8] = b"capstan-skip:creates\n";
const NO_FOLDER: &[u8] = b"capstan-fail:chdir\n";

/// [`GUARDED`] around `argv`.
fn guarded_words(chdir: Option<&str>, pattern: Option<&str>, argv: &[String]) -> Vec<String> {
    let mut words = vec![
        "sh".to_string(),
        "-c".into(),
        GUARDED.into(),
        "capstan-guard".into(),
        chdir.unwrap_or_default().to_string(),
        pattern.unwrap_or_default().to_string(),
    ];
    words.extend(argv.iter().cloned());
    words
}

/// Whether anything matches the glob `pattern` (a `creates` or
/// `removes`), from `chdir` when given, as Ansible's command looks: the
/// same guard, around a command that does nothing.
fn anything_matches(ctx: &Context, pattern: &str, chdir: Option<&str>) -> Result<bool, Error> {
    let words = guarded_words(chdir, Some(pattern), &["true".to_string()]);
    let out = remote::Command::new(words).run(&ctx.target)?;
    Ok(out.exit_code == Some(0) && out.stderr == MATCHED)
}

/// The guarded command line of [`GUARDED`], when it has a guard.
fn guarded(argv: &[String], params: &Options) -> Option<Vec<String>> {
    (params.chdir.is_some() || params.creates.is_some())
        .then(|| guarded_words(params.chdir.as_deref(), params.creates.as_deref(), argv))
}

fn run(argv: Vec<String>, shown: String, params: Options, ctx: &Context) -> Result<Outcome, Error> {
    // Ansible's words: `msg` says what (would have) happened, `stdout`
    // keeps the older wording.
    let shoulda = if ctx.check { "Would" } else { "Did" };
    let cmd = match params.shell_line {
        true => serde_json::json!(shown),
        false => serde_json::json!(argv),
    };
    let not_run = |path: &str, why: &str| {
        Outcome::ok(format!("{shoulda} not run command since '{path}' {why}")).with_data(
            serde_json::json!({ "cmd": cmd, "rc": 0, "stdout": format!("skipped, since {path} {why}") }),
        )
    };
    let skip_created = |path: &str| not_run(path, "exists");
    // The guard goes with the command itself when the command will run.
    let guard_with_command = !ctx.check && params.background_seconds.is_none();
    if let Some(pattern) = &params.creates
        && !guard_with_command
        && anything_matches(ctx, pattern, params.chdir.as_deref())?
    {
        return Ok(skip_created(pattern));
    }
    if let Some(pattern) = &params.removes
        && !anything_matches(ctx, pattern, params.chdir.as_deref())?
    {
        return Ok(not_run(pattern, "does not exist"));
    }
    if ctx.check {
        // With a guard that did not stop it, Ansible reports it changed;
        // without one, skipped.
        let would = "Command would have run if not in check mode";
        let data = serde_json::json!({ "cmd": cmd, "rc": 0, "msg": would });
        return Ok(if params.creates.is_some() || params.removes.is_some() {
            Outcome::changed(would).with_data(data)
        } else {
            Outcome::skipped(format!("{would}: `{shown}`")).with_data(data)
        });
    }

    if let Some(seconds) = params.background_seconds {
        return background::start(
            argv,
            &shown,
            params.chdir.as_deref(),
            params.stdin.is_some(),
            seconds,
            ctx,
        );
    }
    let mut command = remote::Command::new(guarded(&argv, &params).unwrap_or_else(|| argv.clone()));
    if let Some(input) = params.stdin.clone() {
        command = command.stdin(input.into_bytes());
    }
    let output = match command.run(&ctx.target) {
        Err(remote::HostError::Unavailable(why)) if why.starts_with("command not found") => {
            return Ok(missing_program(&argv));
        }
        other => other?,
    };
    // Over SSH the host's shell reports a missing program (127, "not
    // found"): the same result as on this machine, as Ansible's module
    // gives it, for a command (a shell line keeps its shell's answer).
    let program = argv.first().map(String::as_str).unwrap_or_default();
    if !params.shell_line
        && output.exit_code == Some(127)
        && output.stdout.is_empty()
        && output
            .stderr_text()
            .contains(&format!("{program}: not found"))
    {
        return Ok(missing_program(&argv));
    }
    if output.exit_code == Some(0)
        && output.stderr == MATCHED
        && let Some(path) = &params.creates
    {
        return Ok(skip_created(path));
    }
    if output.exit_code == Some(1)
        && output.stderr == NO_FOLDER
        && let Some(dir) = &params.chdir
    {
        return Ok(Outcome::failed(format!(
            "Unable to change directory before execution: {dir} is not a folder this user can enter"
        ))
        .with_data(serde_json::json!({ "cmd": cmd, "rc": 1 })));
    }
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
    let ends = |text: &str| match params.strip_empty_ends {
        true => text.trim_end_matches(['\n', '\r']).to_string(),
        false => text.to_string(),
    };
    let mut data = serde_json::json!({
        "changed": true,
        "cmd": cmd,
        "rc": output.exit_code,
        "stdout": ends(&stdout),
        "stderr": ends(&stderr),
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

/// Ansible's `script`: the script comes on stdin into a scratch file,
/// runs with its arguments (shell text, as Ansible runs them), and the
/// scratch file goes whatever happens.
fn script(params: ScriptParams, ctx: &Context) -> Result<Outcome, Error> {
    let runner = match &params.executable {
        Some(program) => format!("'{}' \"$t\"", program.replace('\'', r"'\''")),
        None => "\"$t\"".to_string(),
    };
    let wrapper = format!(
        "t=$(mktemp \"${{TMPDIR:-/tmp}}/capstan-script.XXXXXX\") || exit 1\n\
         trap 'rm -f \"$t\"' EXIT\n\
         cat > \"$t\" && chmod 700 \"$t\" || exit 1\n\
         exec 0</dev/null\n\
         {runner} {}",
        params.args
    );
    let shown = format!("{} {}", params.name, params.args)
        .trim()
        .to_string();
    let options = Options {
        strip_empty_ends: true,
        shell_line: false,
        chdir: params.chdir,
        creates: params.creates,
        removes: params.removes,
        stdin: Some(params.content),
        warnings: Vec::new(),
        background_seconds: None,
    };
    run(vec!["sh".into(), "-c".into(), wrapper], shown, options, ctx)
}

/// A command whose program does not exist, as Ansible's module answers
/// it: failed, rc 2, empty outputs, Python's words.
fn missing_program(argv: &[String]) -> Outcome {
    let program = argv.first().map(String::as_str).unwrap_or_default();
    let message = format!("[Errno 2] No such file or directory: b'{program}'");
    Outcome::failed(message.clone()).with_data(serde_json::json!({
        "changed": false,
        "cmd": argv,
        "rc": 2,
        "stdout": "",
        "stderr": "",
        "stdout_lines": [],
        "stderr_lines": [],
        "msg": message,
    }))
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no stderr)")
}

register_plugin!(Command);
