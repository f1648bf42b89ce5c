//! The `capstan` binary as users and scripts see it: output, JSON, exit
//! codes, and a database that survives a kill mid-run.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Self {
        Home(tempfile::tempdir().unwrap())
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_capstan"));
        cmd.args(args)
            .env("CAPSTAN_HOME", self.0.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        json_data(&out.stdout)
    }

    fn install_probe(&self, grants: &[&str]) {
        let mut args = vec!["plugin", "install", capstan_test_fixtures::PROBE];
        for g in grants {
            args.extend(["--grant", g]);
        }
        if grants.is_empty() {
            args.push("--yes");
        }
        let out = self.run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
}

/// The data of a `--json` document, after checking it carries the format
/// version.
fn json_data(stdout: &[u8]) -> Value {
    let mut document: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("printed no JSON ({e}): {}", text(stdout)));
    assert_eq!(
        document["format"],
        capstan_wire::FORMAT_VERSION,
        "every --json document carries the format version"
    );
    document["data"].take()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes `inv.yml`, one host `box` on this machine; its path.
fn local_inventory(dir: &std::path::Path) -> String {
    let path = dir.join("inv.yml");
    std::fs::write(
        &path,
        "all:\n  hosts:\n    box:\n      ansible_connection: local\n",
    )
    .unwrap();
    path.display().to_string()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

#[test]
fn a_bundled_plugin_runs_on_first_use_with_live_log_and_a_result_line() {
    let home = Home::new();
    let out = home.run(&["run", "debug", "msg", "-p", "msg=hello from a test"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("local        ok       hello from a test"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("info  hello from a test"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("job 1: ok=1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn prepared_plugins_are_ready_for_every_fresh_data_folder() {
    let cache = tempfile::tempdir().unwrap();
    let prepare = |home: &Home| {
        let out = home
            .command(&["plugin", "prepare"])
            .env("CAPSTAN_CACHE", cache.path())
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let first = prepare(&Home::new());
    for name in ["command", "debug", "docker", "file"] {
        assert!(
            first
                .lines()
                .any(|l| l.starts_with(name) && l.contains("compiled in")),
            "{first}"
        );
    }
    // Another data folder shares the compiled code: nothing to compile.
    let second = prepare(&Home::new());
    assert!(!second.contains("compiled in"), "{second}");
    assert_eq!(
        second
            .lines()
            .filter(|l| l.contains("ready (cached)"))
            .count(),
        first.lines().filter(|l| l.contains("compiled in")).count(),
        "{second}"
    );

    // The cache is the user's alone: the folder 0700, its files 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(cache.path()), 0o700);
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }

    // A plugin installed from a file is prepared too, in a folder that has it.
    let home = Home::new();
    home.install_probe(&[]);
    let with_probe = prepare(&home);
    assert!(
        with_probe
            .lines()
            .any(|l| l.starts_with("probe") && !l.contains("FAILED")),
        "{with_probe}"
    );
}

#[test]
fn a_plugin_round_trips_through_install_run_and_history() {
    let home = Home::new();
    home.install_probe(&["kv"]);
    let shown = home.json(&["plugin", "show", "probe", "--json"]);
    assert_eq!(shown["granted"], serde_json::json!(["kv"]));
    assert_eq!(
        shown["requested"],
        serde_json::json!(["kv", "remote.exec", "local", "http", "events"])
    );

    let job = home.json(&["run", "probe", "counter", "--json"]);
    assert_eq!(job["state"], "finished");
    assert_eq!(job["results"][0]["status"], "changed");
    assert_eq!(job["results"][0]["data"]["count"], 1);

    let again = home.json(&["run", "probe", "counter", "--json"]);
    assert_eq!(
        again["results"][0]["data"]["count"], 2,
        "kv persists across processes"
    );

    let shown = home.json(&["jobs", "show", &again["id"].to_string(), "--json"]);
    assert_eq!(shown["logs"][0]["message"], "count is now 2");
    let listed = home.json(&["jobs", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // The history filters the window offers, and a job run again as it ran.
    let failed = home.run(&["run", "command", "exec", "-p", "argv:=[\"false\"]"]);
    assert_eq!(code(&failed), 2);
    let only_failed = home.json(&["jobs", "list", "--result", "failed", "--json"]);
    assert_eq!(only_failed.as_array().unwrap().len(), 1);
    assert_eq!(only_failed[0]["plugin"], "command");
    let probes = home.json(&["jobs", "list", "--grep", "counter", "--json"]);
    assert_eq!(probes.as_array().unwrap().len(), 2);
    let third = home.json(&["jobs", "rerun", &again["id"].to_string(), "--json"]);
    assert_eq!(third["results"][0]["data"]["count"], 3);
    let bad = home.run(&["jobs", "list", "--state", "sleeping"]);
    assert_eq!(code(&bad), 2, "clap refuses an unknown state");
    assert!(text(&bad.stderr).contains("running, finished, interrupted"));
}

#[test]
fn exit_codes_mean_failed_denied_and_bad_input() {
    let home = Home::new();
    home.install_probe(&["kv"]);

    let failed = home.run(&["run", "command", "exec", "-p", "argv:=[\"false\"]"]);
    assert_eq!(
        code(&failed),
        2,
        "a failed target: {}",
        text(&failed.stdout)
    );
    assert!(
        text(&failed.stdout).contains("local        failed   `false` exited with 1"),
        "{}",
        text(&failed.stdout)
    );

    let denied = home.run(&["run", "probe", "exec", "-p", "argv:=[\"true\"]"]);
    assert_eq!(code(&denied), 3, "{}", text(&denied.stdout));
    assert!(
        text(&denied.stdout).contains("[denied]"),
        "{}",
        text(&denied.stdout)
    );
    assert!(
        text(&denied.stdout).contains("`remote.exec`"),
        "{}",
        text(&denied.stdout)
    );

    for (args, says) in [
        (vec!["run", "debug", "nope"], "no action `nope`"),
        (
            vec!["run", "debug", "msg", "-p", "mesage=x"],
            "unknown field `mesage`",
        ),
        (
            vec!["run", "debug", "msg", "-p", "oops"],
            "expected KEY=VALUE",
        ),
        (vec!["run", "nosuch", "x"], "no plugin named `nosuch`"),
        (
            vec!["run", "debug", "msg", "--target", "db-1"],
            "unknown target `db-1`",
        ),
        (
            vec!["plugin", "grant", "probe", "network"],
            "unknown capability `network`",
        ),
        (vec!["jobs", "show", "999"], "no job 999"),
    ] {
        let out = home.run(&args);
        assert_eq!(code(&out), 3, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn install_asks_before_granting_and_refuses_files_that_are_not_plugins() {
    let home = Home::new();
    let out = home.run(&["plugin", "install", capstan_test_fixtures::PROBE]);
    assert_eq!(code(&out), 3);
    let err = text(&out.stderr);
    assert!(
        err.contains("keep its own data between runs"),
        "the grants are shown in plain words: {err}"
    );
    assert!(err.contains("pass --yes"), "{err}");
    let listed = home.json(&["plugin", "list", "--json"]);
    assert_eq!(
        listed["installed"],
        serde_json::json!([]),
        "nothing installed without consent"
    );

    let junk = home.0.path().join("junk.wasm");
    std::fs::write(&junk, b"#!/bin/sh\necho not wasm\n").unwrap();
    let out = home.run(&["plugin", "install", junk.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("junk.wasm is not a Capstan plugin"),
        "{}",
        text(&out.stderr)
    );

    let out = home.run(&["plugin", "install", "/no/such/plugin.wasm", "--yes"]);
    assert_eq!(code(&out), 3);
    assert!(text(&out.stderr).contains("cannot read plugin file /no/such/plugin.wasm"));

    let out = home.run(&[
        "plugin",
        "install",
        capstan_test_fixtures::OTHER_WORLD,
        "--yes",
    ]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("not built with capstan-plugin-sdk"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_revoke_holds_in_the_next_process() {
    let home = Home::new();
    home.install_probe(&["kv"]);
    assert_eq!(code(&home.run(&["run", "probe", "counter"])), 0);
    assert_eq!(code(&home.run(&["plugin", "revoke", "probe", "kv"])), 0);
    let out = home.run(&["run", "probe", "counter"]);
    assert_eq!(code(&out), 3, "{}", text(&out.stdout));
    assert_eq!(code(&home.run(&["plugin", "grant", "probe", "kv"])), 0);
    assert_eq!(code(&home.run(&["run", "probe", "counter"])), 0);
}

#[test]
fn a_capstan_killed_mid_run_leaves_a_database_that_opens_with_the_job_interrupted() {
    let home = Home::new();
    home.install_probe(&[]);
    assert_eq!(
        code(&home.run(&["plugin", "limits", "probe", "--cpu-ms", "120000"])),
        0
    );
    let mut child = home
        .command(&["run", "probe", "loop"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let id = running_job_id(&home);
    child.kill().unwrap();
    child.wait().unwrap();

    let job = home.json(&["jobs", "show", &id.to_string(), "--json"]);
    assert_eq!(job["state"], "interrupted");
    let out = home.run(&["run", "debug", "msg"]);
    assert_eq!(
        code(&out),
        0,
        "the store still works: {}",
        text(&out.stderr)
    );
}

/// Waits for the job started by a `capstan run` child to show as running.
fn running_job_id(home: &Home) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let jobs = home.json(&["jobs", "list", "--state", "running", "--json"]);
        if let Some(job) = jobs.as_array().unwrap().first() {
            return job["id"].as_i64().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the job never showed up as running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (up to 20 s) for a child to exit and returns its exit code.
fn exit_code_within(child: &mut std::process::Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().expect("exited normally");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not stop after its cancel");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn jobs_cancel_stops_a_run_owned_by_another_process() {
    let home = Home::new();
    home.install_probe(&[]);
    assert_eq!(
        code(&home.run(&["plugin", "limits", "probe", "--cpu-ms", "120000"])),
        0
    );
    // A plugin spinning in WebAssembly, and a command the plugin started.
    for argv in [
        vec!["run", "probe", "loop"],
        vec!["run", "command", "exec", "-p", r#"argv:=["sleep","31405"]"#],
    ] {
        let mut child = home
            .command(&argv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let id = running_job_id(&home).to_string();
        let out = home.run(&["jobs", "cancel", &id]);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), format!("job {id}: cancelled"));
        assert_eq!(
            exit_code_within(&mut child),
            130,
            "{argv:?} says it was cancelled"
        );
        let job = home.json(&["jobs", "show", &id, "--json"]);
        assert_eq!(job["state"], "cancelled");
        assert!(
            job["cancelled_by"].as_str().unwrap().starts_with("user:"),
            "{job}"
        );
        let again = home.run(&["jobs", "cancel", &id]);
        assert_eq!(code(&again), 0);
        assert!(text(&again.stdout).contains("had already ended: cancelled"));
    }
    let gone = Command::new("pgrep")
        .args(["-f", "sleep 31405"])
        .status()
        .unwrap();
    assert!(!gone.success(), "the command the plugin ran was killed");
    let out = home.run(&["jobs", "cancel", "999"]);
    assert_eq!(code(&out), 3, "no such job is bad input");
    assert!(text(&out.stderr).contains("there is no job 999"));
}

#[cfg(unix)]
#[test]
fn ctrl_c_cancels_the_run_and_records_it() {
    let home = Home::new();
    let mut child = home
        .command(&["run", "command", "exec", "-p", r#"argv:=["sleep","31406"]"#])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = running_job_id(&home).to_string();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(exit_code_within(&mut child), 130);
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("cancelling"), "{stderr}");
    let job = home.json(&["jobs", "show", &id, "--json"]);
    assert_eq!(job["state"], "cancelled");
    assert_eq!(job["results"][0]["summary"], "cancelled before it finished");
    assert_eq!(job["cancelled_by"], job["launched_by"], "by whoever ran it");
}

#[cfg(unix)]
#[test]
fn serve_answers_on_its_socket_and_tcp_and_stops_on_sigterm() {
    let home = Home::new();
    let out = home.run(&["tokens", "create", "ci", "--scope", "read"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let secret = text(&out.stdout).trim().to_string();
    assert!(secret.starts_with("capstan_"), "{secret}");
    assert!(text(&out.stderr).contains("shown once"));
    let listed = home.run(&["tokens", "list"]);
    assert!(
        text(&listed.stdout).contains("ci "),
        "{}",
        text(&listed.stdout)
    );
    assert!(
        !text(&listed.stdout).contains(&secret),
        "the secret is never listed"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut server = home
        .command(&["serve", "--listen", &address])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let socket = home.0.path().join("capstan.sock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(socket.exists() && std::net::TcpStream::connect(&address).is_ok()) {
        assert!(Instant::now() < deadline, "serve never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let get = |path: &str, token: Option<&str>| -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    assert!(get("/healthz", None).starts_with("HTTP/1.1 200"));
    assert!(get("/api/v1/jobs", None).starts_with("HTTP/1.1 401"));
    // A job run by the CLI beside the service is in its history.
    assert_eq!(
        code(&home.run(&["run", "debug", "msg", "-p", "msg=beside"])),
        0
    );
    let jobs = get("/api/v1/jobs?limit=1", Some(&secret));
    assert!(jobs.starts_with("HTTP/1.1 200"), "{jobs}");
    assert!(jobs.contains("\"plugin\":\"debug\""), "{jobs}");
    let metrics = get("/metrics", Some(&secret));
    assert!(
        metrics.contains("capstan_jobs{state=\"finished\"} 1"),
        "{metrics}"
    );

    let sent = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(exit_code_within(&mut server), 0, "a graceful stop");
    assert!(!socket.exists(), "the socket is removed on the way out");
}

#[test]
fn serve_prints_a_systemd_unit() {
    let home = Home::new();
    let out = home.run(&["serve", "--print-unit", "--listen", "127.0.0.1:8470"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let unit = text(&out.stdout);
    assert!(unit.contains("[Service]"), "{unit}");
    assert!(unit.contains(" serve --listen 127.0.0.1:8470"), "{unit}");
    assert!(
        unit.contains(&format!("--home {}", home.0.path().display())),
        "{unit}"
    );
}

#[test]
fn installing_over_a_plugin_is_asked_for_and_audited() {
    let home = Home::new();
    home.install_probe(&["kv"]);
    let again = home.run(&[
        "plugin",
        "install",
        capstan_test_fixtures::PROBE,
        "--grant",
        "kv",
    ]);
    assert_eq!(code(&again), 3, "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("pass --replace"),
        "{}",
        text(&again.stderr)
    );
    let replaced = home.run(&[
        "plugin",
        "install",
        capstan_test_fixtures::PROBE,
        "--grant",
        "kv",
        "--replace",
    ]);
    assert_eq!(code(&replaced), 0, "{}", text(&replaced.stderr));
    assert!(
        text(&replaced.stderr).contains("its stored data (0 keys) is deleted"),
        "{}",
        text(&replaced.stderr)
    );
    let audit = home.json(&["audit", "--json"]);
    assert_eq!(audit[0]["action"], "replace");
    assert_eq!(audit[1]["action"], "install");
    let out = home.run(&["audit"]);
    assert!(
        text(&out.stdout).contains("install  probe"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn limits_can_be_set_and_shown() {
    let home = Home::new();
    home.install_probe(&[]);
    let out = home.run(&[
        "plugin",
        "limits",
        "probe",
        "--memory-mib",
        "32",
        "--cpu-ms",
        "500",
    ]);
    assert_eq!(code(&out), 0);
    let shown = home.json(&["plugin", "show", "probe", "--json"]);
    assert_eq!(shown["limits"]["memory_bytes"], 32 << 20);
    assert_eq!(shown["limits"]["cpu_ms"], 500);
    let out = home.run(&[
        "plugin",
        "limits",
        "probe",
        "--kv-keys",
        "5",
        "--kv-mib",
        "1",
    ]);
    assert_eq!(code(&out), 0);
    let shown = home.json(&["plugin", "show", "probe", "--json"]);
    assert_eq!(shown["limits"]["kv_keys"], 5);
    assert_eq!(shown["limits"]["kv_bytes"], 1 << 20);
    assert_eq!(shown["limits"]["cpu_ms"], 500, "other limits are kept");
    let out = home.run(&["plugin", "show", "probe"]);
    assert!(
        text(&out.stdout).contains("kv 5 keys / 1 MiB")
            && text(&out.stdout).contains("0 keys, 0 bytes in use"),
        "{}",
        text(&out.stdout)
    );
    let out = home.run(&["run", "probe", "loop"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stdout).contains("CPU time limit reached"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn every_command_has_help() {
    let home = Home::new();
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["plugin", "--help"],
        vec!["plugin", "install", "--help"],
        vec!["jobs", "show", "--help"],
        vec!["overview", "--help"],
    ] {
        let out = home.run(&args);
        assert_eq!(code(&out), 0, "{args:?}");
        assert!(text(&out.stdout).contains("Usage:"), "{args:?}");
    }
    assert!(Path::new(env!("CARGO_BIN_EXE_capstan")).exists());
}

#[test]
fn hosts_are_added_listed_checked_and_removed() {
    let home = Home::new();
    let out = home.run(&["hosts", "add", "web 1", "--address", "127.0.0.1"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("host name `web 1`"),
        "{}",
        text(&out.stderr)
    );
    let out = home.run(&[
        "hosts",
        "add",
        "web-1",
        "--address",
        "127.0.0.1",
        "--env",
        "staging",
    ]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("dev, preprod, prod"),
        "{}",
        text(&out.stderr)
    );

    // Nothing listens on port 1 of loopback.
    let out = home.run(&[
        "hosts",
        "add",
        "web-1",
        "--address",
        "127.0.0.1",
        "--port",
        "1",
        "--env",
        "prod",
        "--group",
        "web",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let hosts = home.json(&["hosts", "list", "--json"]);
    assert_eq!(hosts[0]["name"], "web-1");
    assert_eq!(hosts[0]["environment"], "prod");
    assert_eq!(hosts[0]["auth"]["kind"], "agent");

    let out = home.run(&["hosts", "check", "web-1"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stdout).contains("unreachable"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("connection refused"),
        "{}",
        text(&out.stdout)
    );

    // Pinning a key takes a fingerprint, and says why it cannot.
    let out = home.run(&["hosts", "trust", "web-1", "--fingerprint", "yes"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("expected the SHA256:"),
        "{}",
        text(&out.stderr)
    );
    let out = home.run(&[
        "hosts",
        "trust",
        "web-1",
        "--fingerprint",
        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("connection refused"),
        "{}",
        text(&out.stderr)
    );

    let out = home.run(&[
        "run", "command", "exec", "-p", "cmd=true", "--target", "web-1",
    ]);
    assert_eq!(code(&out), 2, "an unreachable target fails the run");
    assert!(
        text(&out.stdout).contains("web-1        unreachable"),
        "{}",
        text(&out.stdout)
    );

    // Groups, environments and `all` name the hosts in them.
    for pattern in ["web", "prod", "all"] {
        let out = home.run(&[
            "run", "command", "exec", "-p", "cmd=true", "--target", pattern, "--json",
        ]);
        assert_eq!(code(&out), 2, "{pattern}");
        let job = json_data(&out.stdout);
        assert_eq!(
            job["targets"],
            serde_json::json!(["web-1"]),
            "{pattern} names web-1"
        );
    }
    let out = home.run(&["run", "debug", "msg", "--target", "dbs"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("no host, group or environment"),
        "{}",
        text(&out.stderr)
    );

    assert_eq!(code(&home.run(&["hosts", "remove", "web-1"])), 0);
    let out = home.run(&["run", "debug", "msg", "--target", "web-1"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("capstan hosts add web-1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_ansible_ini_inventory_imports_all_or_nothing() {
    let home = Home::new();
    let good = home.0.path().join("hosts.ini");
    std::fs::write(&good, "[web]\nweb-1 ansible_host=127.0.0.1 ansible_port=2222\nweb-2 ansible_host=127.0.0.2\n\n[prod:children]\nweb\n").unwrap();
    let out = home.run(&["hosts", "import", good.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let hosts = home.json(&["hosts", "list", "--json"]);
    assert_eq!(hosts.as_array().unwrap().len(), 2);
    assert_eq!(hosts[0]["port"], 2222);
    assert_eq!(hosts[0]["environment"], "prod");

    let bad = home.0.path().join("bad.ini");
    std::fs::write(&bad, "[db]\ndb-1\ndb-[3:1]\n").unwrap();
    let out = home.run(&["hosts", "import", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("bad.ini:3: host range `db-[3:1]`: 3 comes after 1"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        home.json(&["hosts", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2,
        "nothing saved"
    );
}

#[test]
fn a_playbook_runs_prints_a_recap_and_exits_by_its_result() {
    let home = Home::new();
    // Plugins never reach Capstan's data folder: the files live beside it.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let out_dir = dir.join("out");
    let inv = local_inventory(dir);
    std::fs::write(
        dir.join("site.yml"),
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - file: path={{ out }} state=directory\n    - copy: dest={{ out }}/a content=x\n    - command: /bin/false\n      when: fail | default(false) | bool\n",
    )
    .unwrap();
    let site = dir.join("site.yml").display().to_string();
    let out_var = format!("out={}", out_dir.display());

    let out = home.run(&[
        "playbook", "run", &site, "-i", &inv, "-e", &out_var, "--diff",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("TASK [file]") && stdout.contains("changed: [box]"),
        "{stdout}"
    );
    assert!(stdout.contains("+x"), "the diff is printed: {stdout}");
    assert!(
        stdout.contains("box")
            && stdout.contains("ok=2")
            && stdout.contains("changed=2")
            && stdout.contains("skipped=1"),
        "{stdout}"
    );

    // A secret comes from the environment or a file, never argv.
    let out = home.run(&[
        "playbook",
        "run",
        &site,
        "-i",
        &inv,
        "-e",
        &out_var,
        "--secret",
        "CAPSTAN_TEST_UNSET_X",
    ]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("CAPSTAN_TEST_UNSET_X is not set"),
        "{}",
        text(&out.stderr)
    );
    let out = home.run(&[
        "playbook",
        "run",
        &site,
        "-i",
        &inv,
        "--secret",
        "not-a-name",
    ]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("not a variable name"),
        "{}",
        text(&out.stderr)
    );
    let secret_file = dir.join("token");
    std::fs::write(&secret_file, "s3cr3t-from-file\n").unwrap();
    let secret = format!("token={}", secret_file.display());
    let out = home.run(&[
        "playbook", "run", &site, "-i", &inv, "-e", &out_var, "--secret", &secret,
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));

    // --json: the recap and every task, and a failed host exits 2.
    let out = home.run(&[
        "playbook", "run", &site, "-i", &inv, "-e", &out_var, "-e", "fail=yes", "--json",
    ]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    let report = json_data(&out.stdout);
    assert_eq!(report["recap"][0]["failed"], 1);
    assert_eq!(report["recap"][0]["changed"], 0);
    assert_eq!(report["tasks"].as_array().unwrap().len(), 3);
    let job = home.json(&["jobs", "show", &report["job_id"].to_string(), "--json"]);
    assert_eq!(job["plugin"], "playbook");
    assert_eq!(job["kind"], "playbook");

    // Bad input exits 3 with the file, line and column, and records nothing.
    std::fs::write(
        dir.join("bad.yml"),
        "- hosts: all\n  tasks:\n    - shel: echo hi\n",
    )
    .unwrap();
    let bad = dir.join("bad.yml").display().to_string();
    let out = home.run(&["playbook", "run", &bad, "-i", &inv]);
    assert_eq!(code(&out), 3);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.yml:3:7") && stderr.contains("did you mean `shell`?"),
        "{stderr}"
    );
    let out = home.run(&["playbook", "run", &site, "-i", &inv, "-e", "oops"]);
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
}

#[test]
fn a_failed_task_is_shown_where_it_is_written_and_no_log_keeps_its_message_out() {
    let home = Home::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let inv = local_inventory(dir);
    std::fs::write(
        dir.join("site.yml"),
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - name: breaks\n      fail: msg=boom\n      ignore_errors: true\n    - fail:\n        msg: \"{{ token }}\"\n      no_log: true\n      ignore_errors: true\n",
    )
    .unwrap();
    let site = dir.join("site.yml").display().to_string();
    let out = home.run(&[
        "playbook",
        "run",
        &site,
        "-i",
        &inv,
        "-e",
        "token=hush-42",
        "-vv",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let block = format!(
        "[ERROR]: Task failed: Action failed: boom\nOrigin: {site}:4:7\n\n2   gather_facts: no\n3   \
         tasks:\n4     - name: breaks\n        ^ column 7\n"
    );
    assert!(stdout.contains(&block), "{stdout}");
    assert!(
        stdout.contains(&format!("task path: {site}:4\n")),
        "{stdout}"
    );
    // Ansible's own display would print a no_log task's message here.
    assert!(
        stdout.contains("[ERROR]: Task failed: Action failed.\nOrigin:")
            && !stdout.contains("hush-42"),
        "{stdout}"
    );
}

#[test]
fn an_ansible_cfg_beside_the_playbook_and_the_listing_flags_shape_a_run() {
    let home = Home::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    local_inventory(dir);
    // The role lives only where ansible.cfg's roles_path says.
    write(
        "shared-roles/greet/tasks/main.yml",
        "- name: greet\n  copy: dest={{ out }}/greeted content={{ greeting }}\n",
    );
    write("shared-roles/greet/defaults/main.yml", "greeting: hello\n");
    write(
        "ansible.cfg",
        "[defaults]\ninventory = inv.yml\nroles_path = shared-roles\nforks = 1\n\
         retry_files_enabled = False\nstrategy_plugins = ./plugins\n",
    );
    write(
        "site.yml",
        "- name: cfg play\n  hosts: all\n  gather_facts: no\n  tasks:\n    - name: first\n      file: path={{ out }} state=directory\n\
         \x20   - include_role: {name: greet}\n    - name: second\n      copy: dest={{ out }}/second content=2\n      tags: [late]\n",
    );
    let site = dir.join("site.yml").display().to_string();
    let out_dir = dir.join("out");
    let out_var = format!("out={}", out_dir.display());
    let jobs = || {
        home.json(&["jobs", "list", "--json"])
            .as_array()
            .unwrap()
            .len()
    };

    // No -i: the inventory and the roles path come from ansible.cfg, and
    // the setting Capstan does not honour is named.
    let out = home.run(&["playbook", "run", &site, "-e", &out_var]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("ansible.cfg:6: [defaults] strategy_plugins is not honoured"),
        "{stdout}"
    );
    assert!(!stdout.contains("retry_files_enabled"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(out_dir.join("greeted")).unwrap(),
        "hello"
    );
    let recorded = jobs();

    // Listing reads everything and runs nothing.
    let out = home.run(&["playbook", "run", &site, "--list-hosts", "--list-tasks"]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}{}", text(&out.stderr));
    for line in [
        "play #1 (all): cfg play",
        "hosts (1):",
        "      box",
        "      first\tTAGS: []",
        "include_role : greet",
        "      second\tTAGS: [late]",
    ] {
        assert!(stdout.contains(line), "{line:?} in {stdout}");
    }
    let out = home.run(&["playbook", "run", &site, "--list-tasks", "--tags", "late"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("second") && !stdout.contains("first"),
        "{stdout}"
    );
    let out = home.run(&["playbook", "run", &site, "--syntax-check"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("playbook: "),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(jobs(), recorded, "listing and checking record no job");

    // --start-at-task passes over what comes before.
    std::fs::remove_dir_all(&out_dir).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = home.run(&[
        "playbook",
        "run",
        &site,
        "-e",
        &out_var,
        "--start-at-task",
        "sec*",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("ok=1") && stdout.contains("changed=1"),
        "{stdout}"
    );
    assert!(out_dir.join("second").exists());
    assert!(!out_dir.join("greeted").exists(), "the role came before");

    // What cannot be done is refused before anything is recorded.
    let refusals: [(&[&str], &str); 3] = [
        (
            &["--start-at-task", "nothing like it"],
            "no task of the playbook matches",
        ),
        (&["--step"], "without prompting"),
        (
            &["--syntax-check", "--server", "http://127.0.0.1:9"],
            "without --server",
        ),
    ];
    for (extra, says) in refusals {
        let mut args = vec!["playbook", "run", site.as_str()];
        args.extend_from_slice(extra);
        let out = home.run(&args);
        assert_eq!(code(&out), 3, "{extra:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(says),
            "{extra:?}: {}",
            text(&out.stderr)
        );
    }
    write("ansible.cfg", "[defaults]\nforks = lots\n");
    let out = home.run(&["playbook", "run", &site, "--syntax-check"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("ansible.cfg:2: [defaults] forks: takes a whole number"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(jobs(), recorded + 1, "only the started run was recorded");
}

#[test]
fn containers_services_and_nodes_are_listed_from_the_engine() {
    let home = Home::new();
    // Beside Capstan's folder, never in it: no plugin may read in there.
    let context =
        capstan_test_fixtures::webapp_context(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    // A tag of this test's own: tests running beside it build the shared
    // one too, and a build that lands after this container was created
    // moves that tag, leaving the container listed by image id.
    let image = format!("{}-cli", capstan_test_fixtures::webapp_image("v1"));
    let build = format!(r#"build:={{"path":"{}"}}"#, context.display());
    let out = home.run(&[
        "run",
        "docker",
        "image",
        "-p",
        &format!("name={image}"),
        "-p",
        &build,
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    let name = format!("capstan-cli-{}", std::process::id());
    let out = home.run(&[
        "run",
        "docker",
        "container",
        "-p",
        &format!("name={name}"),
        "-p",
        &format!("image={image}"),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));

    let rows = home.json(&["containers", "--json"]);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name.as_str())
        .expect("listed");
    assert_eq!(
        (row["state"].as_str(), row["image"].as_str()),
        (Some("running"), Some(image.as_str()))
    );
    let table = text(&home.run(&["containers"]).stdout);
    assert!(
        table.starts_with("NAME") && table.contains(&name),
        "{table}"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = text(
            &home
                .run(&["containers", "logs", &name, "--tail", "5"])
                .stdout,
        );
        if logs.contains("serving v1 on :8080") {
            break;
        }
        assert!(Instant::now() < deadline, "no log line: {logs}");
        std::thread::sleep(Duration::from_millis(200));
    }

    let unknown = home.run(&["services", "--host", "nowhere"]);
    assert_eq!(code(&unknown), 3, "{}", text(&unknown.stderr));
    assert!(
        text(&unknown.stderr).contains("nowhere"),
        "{}",
        text(&unknown.stderr)
    );

    let out = home.run(&[
        "run",
        "docker",
        "container",
        "-p",
        &format!("name={name}"),
        "-p",
        "state=absent",
    ]);
    assert_eq!(code(&out), 0);
}

#[test]
fn a_docker_socket_the_user_may_not_open_is_named_with_what_to_do() {
    assert_eq!(
        effective_uid(),
        0,
        "this test runs capstan as `nobody`, which needs root (the suite runs as root)"
    );
    let home = Home::new();
    // `nobody` may not reach a binary under /root (CI's target folder).
    let binary = home.0.path().join("capstan");
    std::fs::copy(env!("CARGO_BIN_EXE_capstan"), &binary).unwrap();
    std::process::Command::new("chown")
        .args(["-R", "nobody", &home.0.path().display().to_string()])
        .status()
        .unwrap();
    let out = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&binary)
        .arg("containers")
        .env("CAPSTAN_HOME", home.0.path())
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("permission denied on the Docker socket /var/run/docker.sock"),
        "{err}"
    );
    assert!(err.contains("`docker` group"), "{err}");
    assert_eq!(
        err.matches("permission denied").count(),
        1,
        "said once: {err}"
    );
}

/// The effective user id, read from /proc (no libc in this crate's tests).
fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn the_overview_counts_hosts_by_environment_and_lists_failed_jobs() {
    let home = Home::new();
    for (name, env, port) in [
        ("web-1", "prod", "1"),
        ("web-2", "prod", "1"),
        ("db-1", "dev", "1"),
    ] {
        let out = home.run(&[
            "hosts",
            "add",
            name,
            "--address",
            "127.0.0.1",
            "--port",
            port,
            "--env",
            env,
        ]);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    }
    // Nothing listens on port 1: web-1's check finds it unreachable.
    let out = home.run(&["hosts", "check", "web-1"]);
    assert_ne!(code(&out), 0);
    let out = home.run(&["run", "debug", "msg", "-p", "msg=hi"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let out = home.run(&["run", "command", "exec", "-p", "cmd=true", "-t", "web-2"]);
    assert_eq!(
        code(&out),
        2,
        "web-2 cannot be reached: {}",
        text(&out.stderr)
    );

    let overview = home.json(&["overview", "--json"]);
    let envs = overview["environments"].as_array().unwrap();
    let names: Vec<&str> = envs.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["dev", "prod"], "in the order dev, preprod, prod");
    assert_eq!(envs[1]["hosts"], 2);
    assert_eq!(envs[1]["unreachable"], 1, "web-1's check");
    assert_eq!(envs[1]["reachable"], 0);
    assert_eq!(overview["running_jobs"], 0);
    assert_eq!(overview["recent_jobs"].as_array().unwrap().len(), 2);
    let failures = overview["recent_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["what"], "command exec");
    assert_eq!(failures[0]["overall"], "unreachable");
    assert_eq!(failures[0]["kind"], "action");

    let out = home.run(&["overview"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("prod") && shown.contains("2 hosts"),
        "{shown}"
    );
    assert!(shown.contains("recent failures:"), "{shown}");
    assert!(shown.contains("command exec"), "{shown}");
}

#[test]
fn rust_log_shows_one_runs_tree_of_spans() {
    let home = Home::new();
    let out = home
        .command(&["run", "debug", "msg", "-p", "msg=hi"])
        .env("RUST_LOG", "capstan=debug")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let log = text(&out.stderr);
    // The job, its target and the plugin call nest, each with its fields.
    let call_line = log
        .lines()
        .find(|l| l.contains("plugin call returned"))
        .unwrap_or_else(|| panic!("no plugin call event in:\n{log}"));
    for part in [
        "job{id=1 plugin=debug action=msg}",
        "target{name=local}",
        "plugin_call{plugin=debug action=msg target=local}",
        "status=ok",
    ] {
        assert!(
            call_line.contains(part),
            "`{part}` missing from: {call_line}"
        );
    }
    assert!(
        !log.contains('\u{1b}'),
        "no terminal colours in a piped log"
    );
    assert!(log.contains("job finished"), "{log}");
}

#[test]
fn schedules_take_their_command_after_dashes_and_are_paused_and_removed() {
    let home = Home::new();
    let out = home.run(&[
        "schedules",
        "add",
        "nightly",
        "--cron",
        "0 3 * * *",
        "--tz",
        "Europe/Paris",
        "--",
        "run",
        "debug",
        "msg",
        "-p",
        "msg=hi",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("schedule nightly added: debug msg; next"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("capstan serve"),
        "says who runs it"
    );
    let listed = home.json(&["schedules", "list", "--json"]);
    assert_eq!(listed[0]["name"], "nightly");
    assert_eq!(listed[0]["tz"], "Europe/Paris");
    assert_eq!(listed[0]["job"]["kind"], "action");
    assert_eq!(listed[0]["job"]["request"]["params"]["msg"], "hi");
    assert_eq!(listed[0]["next_runs_ms"].as_array().unwrap().len(), 3);
    let shown = text(&home.run(&["schedules", "show", "nightly"]).stdout);
    assert!(
        shown.contains("when:     0 3 * * * (Europe/Paris)"),
        "{shown}"
    );

    // A playbook's path is kept absolute: the service runs elsewhere.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("site.yml"), "- hosts: all\n  tasks: []\n").unwrap();
    let out = home
        .command(&[
            "schedules",
            "add",
            "weekly",
            "--cron",
            "0 4 * * SUN",
            "--misfire",
            "skip",
            "--",
            "playbook",
            "run",
            "site.yml",
        ])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let weekly = home.json(&["schedules", "show", "weekly", "--json"]);
    assert_eq!(
        weekly["job"]["playbook"]["playbook"],
        work.path().join("site.yml").display().to_string()
    );
    assert_eq!(weekly["misfire"], "skip");

    let paused = text(&home.run(&["schedules", "pause", "nightly"]).stdout);
    assert!(paused.contains("state:    paused"), "{paused}");
    assert!(text(&home.run(&["schedules", "list"]).stdout).contains("paused"));
    assert_eq!(code(&home.run(&["schedules", "resume", "nightly"])), 0);
    assert_eq!(code(&home.run(&["schedules", "remove", "nightly"])), 0);
    assert_eq!(code(&home.run(&["schedules", "remove", "weekly"])), 0);
    assert!(text(&home.run(&["schedules", "list"]).stdout).contains("no schedules"));
    let audit = text(&home.run(&["audit"]).stdout);
    assert!(
        audit.contains("schedule:nightly") && audit.contains("pause"),
        "{audit}"
    );

    for (args, says) in [
        (
            vec!["schedules", "add", "x", "--cron", "0 3 * * *", "--", "run"],
            "the command after --",
        ),
        (
            vec![
                "schedules",
                "add",
                "x",
                "--cron",
                "nope",
                "--",
                "run",
                "debug",
                "msg",
            ],
            "`nope`",
        ),
        (
            vec![
                "schedules",
                "add",
                "x",
                "--cron",
                "0 3 * * *",
                "--",
                "run",
                "nosuch",
                "y",
            ],
            "no plugin named `nosuch`",
        ),
        (
            vec!["schedules", "pause", "ghost"],
            "no schedule named `ghost`",
        ),
    ] {
        let out = home.run(&args);
        assert_eq!(code(&out), 3, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_secret_is_read_from_stdin_never_listed_and_masked_in_a_playbook() {
    use std::io::Write;
    let home = Home::new();
    let mut set = home
        .command(&["secrets", "set", "db_password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    set.stdin
        .take()
        .unwrap()
        .write_all(b"s3cr3t-in-the-store\n")
        .unwrap();
    let out = set.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let listed = home.run(&["secrets", "list"]);
    assert!(text(&listed.stdout).contains("db_password"));
    assert!(!text(&listed.stdout).contains("s3cr3t"));

    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("inv.ini"),
        "box ansible_connection=local\n",
    )
    .unwrap();
    std::fs::write(
        work.path().join("site.yml"),
        "- hosts: box\n  gather_facts: no\n  tasks:\n    - debug: msg=\"pw={{ db_password }}\"\n",
    )
    .unwrap();
    let site = work.path().join("site.yml").display().to_string();
    let inv = work.path().join("inv.ini").display().to_string();
    let out = home.run(&[
        "playbook",
        "run",
        &site,
        "-i",
        &inv,
        "--stored-secret",
        "db_password",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("pw=********"),
        "{}",
        text(&out.stdout)
    );
    assert!(!text(&out.stdout).contains("s3cr3t"));

    let out = home.run(&[
        "playbook",
        "run",
        &site,
        "-i",
        &inv,
        "--stored-secret",
        "nope",
    ]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("no secret named `nope`"),
        "{}",
        text(&out.stderr)
    );
    // A schedule names it, and is refused a secret it could not find.
    let out = home.run(&[
        "schedules",
        "add",
        "nightly",
        "--cron",
        "0 3 * * *",
        "--",
        "playbook",
        "run",
        &site,
        "-i",
        &inv,
        "--stored-secret",
        "nope",
    ]);
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    let out = home.run(&[
        "schedules",
        "add",
        "nightly",
        "--cron",
        "0 3 * * *",
        "--",
        "playbook",
        "run",
        &site,
        "-i",
        &inv,
        "--secret",
        "X",
    ]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("--stored-secret"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(code(&home.run(&["secrets", "remove", "db_password"])), 0);
    assert!(text(&home.run(&["secrets", "list"]).stdout).contains("no secrets"));
}

#[test]
fn webhooks_name_a_stored_secret_and_take_their_command_after_dashes() {
    use std::io::Write;
    let home = Home::new();
    let out = home.run(&[
        "webhooks", "add", "deploy", "--secret", "hook_key", "--", "run", "debug", "msg",
    ]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("no secret named `hook_key`"),
        "{}",
        text(&out.stderr)
    );
    let mut set = home
        .command(&["secrets", "set", "hook_key"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    set.stdin.take().unwrap().write_all(b"k3y\n").unwrap();
    assert!(set.wait().unwrap().success());
    let out = home.run(&[
        "webhooks",
        "add",
        "deploy",
        "--secret",
        "hook_key",
        "--auth",
        "token",
        "--",
        "run",
        "debug",
        "msg",
        "-p",
        "msg=deployed",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("POST /api/v1/hooks/deploy (token)"),
        "{}",
        text(&out.stdout)
    );
    let listed = home.json(&["webhooks", "list", "--json"]);
    assert_eq!(listed[0]["name"], "deploy");
    assert_eq!(listed[0]["auth"], "token");
    assert_eq!(listed[0]["deliveries"], 0);
    assert_eq!(code(&home.run(&["webhooks", "remove", "deploy"])), 0);
    assert!(text(&home.run(&["webhooks", "list"]).stdout).contains("no webhooks"));
    let audit = text(&home.run(&["audit"]).stdout);
    assert!(audit.contains("webhook:deploy"), "{audit}");
}

#[test]
fn an_adhoc_command_runs_one_module_and_prints_as_ansible_does() {
    let home = Home::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let inv = local_inventory(dir);
    let dir_text = dir.display().to_string();

    // A module with key=value arguments, templated with -e.
    let out = home.run(&[
        "adhoc",
        "box",
        "-i",
        &inv,
        "-m",
        "debug",
        "-a",
        "msg={{ greeting }}",
        "-e",
        "greeting=hello",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("box | SUCCESS => {"), "{stdout}");
    assert!(stdout.contains("\"msg\": \"hello\""), "{stdout}");
    assert!(!stdout.contains("PLAY RECAP"), "no recap: {stdout}");

    // The default module is command, its output printed after its code;
    // the command runs from the folder given.
    let out = home.run(&[
        "adhoc",
        "all",
        "-i",
        &inv,
        "-a",
        "pwd",
        "--playbook-dir",
        &dir_text,
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("box | CHANGED | rc=0 >>\n"),
        "{}",
        text(&out.stdout)
    );

    // JSON arguments; a failure exits as a failed playbook does.
    let target = dir.join("made.txt");
    let args = serde_json::json!({ "content": "x", "dest": target }).to_string();
    let out = home.run(&["adhoc", "box", "-i", &inv, "-m", "copy", "-a", &args]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "x");
    let out = home.run(&["adhoc", "box", "-i", &inv, "-m", "fail", "-a", "msg=no"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("box | FAILED! => {"),
        "{}",
        text(&out.stdout)
    );

    // Nothing matched: said, and nothing fails.
    let out = home.run(&["adhoc", "nosuch", "-i", &inv, "-m", "ping"]);
    assert!(
        text(&out.stdout).contains("No hosts matched") || text(&out.stderr).contains("nosuch"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    // Its job is recorded but cannot be run again: its arguments are not kept.
    let jobs = home.json(&["jobs", "list", "--json"]);
    let id = jobs[0]["id"].as_i64().expect("a job id").to_string();
    let out = home.run(&["jobs", "rerun", &id]);
    assert_ne!(code(&out), 0);
    assert!(
        text(&out.stderr).contains("ad-hoc"),
        "{}",
        text(&out.stderr)
    );
}
