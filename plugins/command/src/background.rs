//! Ansible's `async:` with `poll: 0` and `async_status`. A command started
//! in the background runs detached (its own session, no terminal), stopped
//! by `timeout` after its seconds; its output, exit code and times are
//! kept in a job folder of the host's `~/.ansible_async` (0700), which
//! `async_status` reads and `mode: cleanup` removes.

use capstan_plugin_sdk::remote;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;
use serde_json::json;

/// Makes the job folder, starts the command in it detached, and prints
/// the job's id (the folder's name). `$1` seconds, the rest the command.
const START: &str = r#"t=$1
shift
base=${HOME:-/tmp}/.ansible_async
mkdir -p "$base" && chmod 700 "$base" || exit 1
dir=$(mktemp -d "$base/j.XXXXXXXXXX") || exit 1
printf '%s\n' "$t" > "$dir/limit"
runner='dir=$1 t=$2
shift 2
date "+%Y-%m-%d %H:%M:%S.%N" > "$dir/start"
date +%s.%N > "$dir/started"
timeout "$t" "$@" </dev/null >"$dir/stdout" 2>"$dir/stderr"
rc=$?
date "+%Y-%m-%d %H:%M:%S.%N" > "$dir/end"
date +%s.%N > "$dir/ended"
printf "%s\n" "$rc" > "$dir/rc.part" && mv "$dir/rc.part" "$dir/rc"'
if command -v setsid >/dev/null 2>&1; then
    setsid sh -c "$runner" capstan-async "$dir" "$t" "$@" </dev/null >/dev/null 2>&1 &
else
    nohup sh -c "$runner" capstan-async "$dir" "$t" "$@" </dev/null >/dev/null 2>&1 &
fi
printf '%s\n' "${dir##*/}""#;

/// Starts `argv` in the background for at most `seconds`: the task answers
/// at once, changed, with the job's id.
pub fn start(
    argv: Vec<String>,
    shown: &str,
    chdir: Option<&str>,
    has_stdin: bool,
    seconds: u64,
    ctx: &Context,
) -> Result<Outcome, Error> {
    if has_stdin {
        return Err(Error::InvalidParams(
            "stdin cannot be fed to a command started in the background (async with poll: 0)"
                .into(),
        ));
    }
    let mut wrapped = vec![
        "sh".to_string(),
        "-c".into(),
        START.into(),
        "capstan-async".into(),
        seconds.to_string(),
    ];
    wrapped.extend(argv.iter().cloned());
    let mut command = remote::Command::new(wrapped);
    if let Some(dir) = chdir {
        command = command.cwd(dir);
    }
    let out = command.run_checked(&ctx.target)?;
    let job = out.stdout_text().trim().to_string();
    Ok(
        Outcome::changed(format!("started `{shown}` in the background (job {job})")).with_data(
            json!({
                "changed": true,
                "started": 1,
                "finished": 0,
                "ansible_job_id": job,
                "results_file": format!("~/.ansible_async/{job}"),
                "cmd": argv,
            }),
        ),
    )
}

/// Parameters of `async_status` (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AsyncStatusParams {
    /// The job's id, a background task's `ansible_job_id`.
    jid: String,
    /// `status` (default) or `cleanup` (remove what the job left).
    mode: Option<String>,
}

/// Prints a job's state: `missing`, `erased`, `running`, or `finished`
/// then its exit code, times, limit and the two outputs' sizes followed
/// by the outputs themselves.
const STATUS: &str = r#"d=${HOME:-/tmp}/.ansible_async/$1
[ -d "$d" ] || { echo missing; exit 0; }
if [ "$2" = cleanup ]; then rm -rf -- "$d" && echo erased; exit 0; fi
[ -f "$d/rc" ] || { echo running; exit 0; }
echo finished
cat "$d/rc" "$d/start" "$d/end" "$d/started" "$d/ended" "$d/limit"
printf '%s %s\n' "$(wc -c < "$d/stdout")" "$(wc -c < "$d/stderr")"
cat "$d/stdout" "$d/stderr""#;

/// `async_status`: whether the job finished and, once it did, what its
/// command gave (rc, stdout, stderr, times), as Ansible's module answers.
pub fn async_status(p: AsyncStatusParams, ctx: &Context) -> Result<Outcome, Error> {
    let plain = p.jid.starts_with("j.")
        && p.jid.len() <= 64
        && p.jid[2..].chars().all(|c| c.is_ascii_alphanumeric());
    if !plain {
        return Err(Error::InvalidParams(format!(
            "jid: `{}` is not a job id a background task gave (`ansible_job_id`)",
            p.jid
        )));
    }
    let mode = p.mode.as_deref().unwrap_or("status");
    if !matches!(mode, "status" | "cleanup") {
        return Err(Error::InvalidParams(format!(
            "mode: `{mode}` is not status or cleanup"
        )));
    }
    let out = remote::Command::new(["sh", "-c", STATUS, "capstan-async-status", &p.jid, mode])
        .run_checked(&ctx.target)?;
    let bytes = out.stdout;
    let (head, state) = next_line(&bytes, 0);
    let jid = p.jid.as_str();
    match state {
        "missing" => Err(Error::msg(format!("could not find job {jid}"))),
        "erased" => Ok(Outcome::ok(format!("job {jid} erased")).with_data(
            json!({"ansible_job_id": jid, "erased": format!("~/.ansible_async/{jid}")}),
        )),
        "running" => Ok(
            Outcome::ok(format!("job {jid} is running")).with_data(json!({
                "ansible_job_id": jid, "started": 1, "finished": 0, "changed": false,
            })),
        ),
        "finished" => finished(jid, &bytes, head),
        other => Err(Error::msg(format!(
            "async_status: unexpected answer `{other}`"
        ))),
    }
}

/// A finished job's result, from [`STATUS`]'s answer after its first line.
fn finished(jid: &str, bytes: &[u8], mut at: usize) -> Result<Outcome, Error> {
    let mut field = || {
        let (next, line) = next_line(bytes, at);
        at = next;
        line.to_string()
    };
    let rc: i64 = field().trim().parse().unwrap_or(-1);
    let (start, end) = (field(), field());
    let (started, ended) = (field(), field());
    let limit = field();
    let sizes = field();
    let (out_len, err_len) = sizes
        .split_once(' ')
        .and_then(|(a, b)| {
            Some((
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ))
        })
        .ok_or_else(|| Error::msg(format!("async_status: unexpected sizes `{sizes}`")))?;
    let text = |from: usize, len: usize| {
        let piece = bytes
            .get(from..(from + len).min(bytes.len()))
            .unwrap_or_default();
        String::from_utf8_lossy(piece)
            .trim_end_matches('\n')
            .to_string()
    };
    let stdout = text(at, out_len);
    let stderr = text(at + out_len, err_len);
    let mut data = json!({
        "ansible_job_id": jid,
        "started": 1,
        "finished": 1,
        "changed": true,
        "rc": rc,
        "start": start,
        "end": end,
        "delta": delta(&started, &ended),
        "stdout_lines": stdout.lines().collect::<Vec<_>>(),
        "stderr_lines": stderr.lines().collect::<Vec<_>>(),
        "stdout": stdout,
        "stderr": stderr,
    });
    // `timeout` answers 124 when it stopped the command.
    if rc == 124 {
        let message = format!(
            "async task did not complete within the requested time - {}s",
            limit.trim()
        );
        data["msg"] = message.clone().into();
        return Ok(Outcome::failed(message).with_data(data));
    }
    if rc != 0 {
        data["msg"] = "non-zero return code".into();
        return Ok(Outcome::failed(format!("job {jid} exited {rc}")).with_data(data));
    }
    Ok(Outcome::changed(format!("job {jid} finished")).with_data(data))
}

/// The line starting at `at` (without its newline) and where the next
/// one starts.
fn next_line(bytes: &[u8], at: usize) -> (usize, &str) {
    let rest = bytes.get(at..).unwrap_or_default();
    let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    let line = std::str::from_utf8(&rest[..end]).unwrap_or_default();
    (at + end + 1, line)
}

/// Ansible's `delta` (`0:00:05.123456`) between two `date +%s.%N` stamps
/// (whole seconds where the host's `date` has no `%N`).
fn delta(started: &str, ended: &str) -> String {
    let seconds = |s: &str| {
        s.trim()
            .trim_end_matches(".N")
            .parse::<f64>()
            .unwrap_or(0.0)
    };
    let total = (seconds(ended) - seconds(started)).max(0.0);
    let whole = total.trunc() as u64;
    let micros = ((total - total.trunc()) * 1e6).round() as u64;
    format!(
        "{}:{:02}:{:02}.{micros:06}",
        whole / 3600,
        whole / 60 % 60,
        whole % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_jobs_answer_is_read_with_its_outputs() {
        let answer = b"finished\n0\n2026-12-03 05:00:00.1\n2026-12-03 05:00:02.6\n100.25\n102.75\n30\n6 4\nhello\nerr\n";
        let (at, state) = next_line(answer, 0);
        assert_eq!(state, "finished");
        let outcome = finished("j.abc", answer, at).unwrap();
        let data = outcome.data.unwrap();
        assert_eq!(data["stdout"], "hello");
        assert_eq!(data["stderr"], "err");
        assert_eq!(data["rc"], 0);
        assert_eq!(data["delta"], "0:00:02.500000");
    }

    #[test]
    fn delta_reads_whole_seconds_without_nanoseconds() {
        assert_eq!(delta("100.N", "3761.N"), "1:01:01.000000");
    }
}
