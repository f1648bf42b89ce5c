//! One look at the target: its clock before and after a pause, then
//! whether the path or port is there (and what the file or the kernel's
//! connection table holds, when that is asked for).

use capstan_plugin_sdk::{Context, Error, remote};

/// What to look at.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe<'a> {
    /// Nothing: the wait is only a pause.
    Nothing,
    /// Whether a path exists; its content too when `read`.
    Path { path: &'a str, read: bool },
    /// Whether a TCP connection to the port opens.
    Port {
        host: &'a str,
        port: u16,
        connect_timeout: f64,
    },
    /// The kernel's TCP connection table (`/proc/net/tcp`, `tcp6`).
    Connections,
}

/// What one look saw.
#[derive(Debug)]
pub struct Seen {
    /// The target's clock before the pause, in seconds.
    pub before: f64,
    /// The target's clock after the pause, as it looked.
    pub after: f64,
    /// The path exists, the port answered (always true for a table).
    pub present: bool,
    /// The file's content or the connection table, when asked for.
    pub output: Vec<u8>,
}

/// Prints the time, pauses `$1` seconds, prints the time, then looks:
/// `present` or `absent`, and after it the bytes asked for.
const SCRIPT: &str = r#"date +%s.%N
[ "$1" = 0 ] || sleep "$1" || exit 1
date +%s.%N
kind=$2
shift 2
case $kind in
nothing) ;;
path)
    if [ -e "$1" ]; then
        echo present
        if [ "$2" = 1 ]; then cat -- "$1" 2>/dev/null; fi
    else
        echo absent
    fi ;;
port)
    if ! command -v bash >/dev/null 2>&1; then
        echo "waiting on a port needs bash on the target" >&2
        exit 2
    fi
    if timeout "$3" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; then
        echo present
    else
        echo absent
    fi ;;
connections)
    echo present
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null ;;
esac"#;

/// Pauses `pause` seconds on the target, then looks, in one command.
pub fn run(ctx: &Context, probe: &Probe<'_>, pause: f64) -> Result<Seen, Error> {
    let pause = format_seconds(pause);
    let mut argv: Vec<String> = vec![
        "sh".into(),
        "-c".into(),
        SCRIPT.into(),
        "capstan-wait".into(),
        pause,
    ];
    match probe {
        Probe::Nothing => argv.push("nothing".into()),
        Probe::Path { path, read } => {
            argv.extend(["path".into(), path.to_string(), u8::from(*read).to_string()]);
        }
        Probe::Port {
            host,
            port,
            connect_timeout,
        } => argv.extend([
            "port".into(),
            host.to_string(),
            port.to_string(),
            format_seconds(connect_timeout.max(0.1)),
        ]),
        Probe::Connections => argv.push("connections".into()),
    }
    let out = remote::Command::new(argv).run_checked(&ctx.target)?;
    parse(&out.stdout).ok_or_else(|| {
        Error::msg("wait_for: the target's answer could not be read (is `date +%s.%N` GNU?)")
    })
}

fn format_seconds(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() {
        "0".into()
    } else {
        text.into()
    }
}

/// Reads the script's answer.
fn parse(stdout: &[u8]) -> Option<Seen> {
    let mut rest = stdout;
    let mut line = || -> Option<&[u8]> {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let (head, tail) = rest.split_at(end);
        rest = &tail[1..];
        Some(head)
    };
    let clock = |bytes: &[u8]| std::str::from_utf8(bytes).ok()?.trim().parse::<f64>().ok();
    let before = clock(line()?)?;
    let after = clock(line()?)?;
    let present = match line() {
        Some(b"present") => true,
        Some(b"absent") | None => false,
        Some(_) => return None,
    };
    Some(Seen {
        before,
        after,
        present,
        output: rest.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_read() {
        let seen = parse(b"100.25\n101.5\npresent\nline one\ncompleted\n").unwrap();
        assert_eq!(
            (seen.before, seen.after, seen.present),
            (100.25, 101.5, true)
        );
        assert_eq!(seen.output, b"line one\ncompleted\n");
        let paused = parse(b"1.0\n4.0\n").unwrap();
        assert!(!paused.present && paused.output.is_empty());
        assert!(parse(b"1.0\n4.0\nmaybe\n").is_none());
        assert!(parse(b"%N\n").is_none());
    }

    #[test]
    fn seconds_are_short() {
        assert_eq!(format_seconds(2.0), "2");
        assert_eq!(format_seconds(0.0), "0");
        assert_eq!(format_seconds(1.5), "1.5");
    }
}
