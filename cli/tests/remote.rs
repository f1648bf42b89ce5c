//! `capstan --server`: the CLI as a client of a real `capstan serve` over
//! TLS (a self-signed certificate) and over its Unix socket. A run, a
//! playbook (its folder uploaded) and the job history print what the same
//! command prints locally, with the same exit codes, from a client that
//! has no data folder of its own.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A data folder with a `capstan serve` on it.
struct Service {
    home: tempfile::TempDir,
    child: Child,
    url: String,
}

impl Service {
    fn start() -> Service {
        let home = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let child = local(
            home.path(),
            &["serve", "--listen", &address, "--self-signed"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(home.path().join("capstan.sock").exists()
            && std::net::TcpStream::connect(&address).is_ok())
        {
            assert!(Instant::now() < deadline, "serve never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        Service {
            home,
            child,
            url: format!("https://{address}"),
        }
    }

    fn path(&self) -> &Path {
        self.home.path()
    }

    /// A command on the service's own data folder, without the service.
    fn local(&self, args: &[&str]) -> Output {
        local(self.path(), args).output().unwrap()
    }

    fn cert(&self) -> PathBuf {
        self.path().join("tls/cert.pem")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let mut work = self.home.path().as_os_str().to_owned();
        work.push("-work");
        let _ = std::fs::remove_dir_all(work);
    }
}

fn local(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_capstan"));
    cmd.args(args)
        .env("CAPSTAN_HOME", home)
        .env_remove("RUST_LOG")
        .env_remove("CAPSTAN_TOKEN")
        .env_remove("CAPSTAN_SERVER")
        .stdin(Stdio::null());
    cmd
}

/// A client with an empty data folder of its own, so nothing it prints
/// can come from a local store.
struct Client {
    home: tempfile::TempDir,
    server: String,
    token: Option<String>,
    ca_cert: Option<PathBuf>,
}

impl Client {
    fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, b"")
    }

    fn run_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let mut all = vec!["--server", &self.server];
        let cert;
        if let Some(path) = &self.ca_cert {
            cert = path.display().to_string();
            all.extend(["--ca-cert", &cert]);
        }
        all.extend(args);
        let mut cmd = local(self.home.path(), &all);
        if let Some(token) = &self.token {
            cmd.env("CAPSTAN_TOKEN", token);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input).unwrap();
        child.wait_with_output().unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

/// Output with job numbers made alike, for comparing two runs.
fn without_job_numbers(text: &str) -> String {
    let words = regex_lite_replace(text, "job ");
    regex_lite_replace(&words, "jobs show ")
}

/// Replaces the number after each `prefix` with `N`.
fn regex_lite_replace(text: &str, prefix: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at + prefix.len()]);
        rest = &rest[at + prefix.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push('N');
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

fn token(service: &Service, name: &str, scope: &str) -> String {
    let out = service.local(&["tokens", "create", name, "--scope", scope]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

#[test]
fn runs_and_the_history_through_tls_print_and_exit_as_local_ones() {
    let service = Service::start();
    let client = Client {
        home: tempfile::tempdir().unwrap(),
        server: service.url.clone(),
        token: Some(token(&service, "ci", "run")),
        ca_cert: Some(service.cert()),
    };

    // The same action, locally and through the service: the same lines.
    for args in [
        vec!["run", "debug", "msg", "-p", "msg=hello from afar"],
        vec!["run", "command", "exec", "-p", "argv:=[\"false\"]"],
        vec![
            "run",
            "command",
            "exec",
            "-p",
            "argv:=[\"sh\",\"-c\",\"echo out; echo err >&2\"]",
        ],
    ] {
        let here = service.local(&args);
        let there = client.run(&args);
        assert_eq!(
            code(&there),
            code(&here),
            "{args:?}: {}",
            text(&there.stderr)
        );
        assert_eq!(text(&there.stdout), text(&here.stdout), "{args:?}");
        assert_eq!(
            without_job_numbers(&text(&there.stderr)),
            without_job_numbers(&text(&here.stderr)),
            "{args:?}"
        );
    }
    let failed = client.run(&["run", "command", "exec", "-p", "argv:=[\"false\"]"]);
    assert_eq!(code(&failed), 2, "a failed target exits 2 as locally");

    // Bad input is the service's error, named, exit 3.
    let out = client.run(&["run", "nosuch", "x"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("no plugin named `nosuch`"),
        "{}",
        text(&out.stderr)
    );

    // The history: the same list and the same job, as text and as JSON.
    for args in [
        vec!["jobs", "list"],
        vec![
            "jobs", "list", "--json", "--state", "finished", "--grep", "debug",
        ],
        vec!["jobs", "show", "1"],
        vec!["jobs", "show", "2", "--json"],
    ] {
        let here = service.local(&args);
        let there = client.run(&args);
        assert_eq!(code(&there), 0, "{args:?}: {}", text(&there.stderr));
        assert_eq!(text(&there.stdout), text(&here.stdout), "{args:?}");
    }
    let shown = text(&client.run(&["jobs", "show", "2"]).stdout);
    assert!(
        shown.contains("by:      token:ci"),
        "launched by the token: {shown}"
    );

    // A re-run goes through the service too.
    let out = client.run(&["jobs", "rerun", "1"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("hello from afar"),
        "{}",
        text(&out.stdout)
    );

    // A read token may look but not run.
    let reader = Client {
        token: Some(token(&service, "viewer", "read")),
        ..client
    };
    assert_eq!(code(&reader.run(&["jobs", "list"])), 0);
    let out = reader.run(&["run", "debug", "msg", "-p", "msg=x"]);
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("403"), "{}", text(&out.stderr));
}

#[test]
fn a_playbook_folder_is_uploaded_and_runs_on_the_services_inventory() {
    let service = Service::start();
    let inventory = service.path().join("hosts.ini");
    std::fs::write(&inventory, "box ansible_connection=local\n").unwrap();
    let out = service.local(&["hosts", "import", inventory.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));

    // A playbook with a template and a file beside it, in its own folder.
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::create_dir_all(dir.join("files")).unwrap();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".git/HEAD"), "not sent").unwrap();
    std::fs::write(dir.join("templates/motd.j2"), "hello {{ who }}\n").unwrap();
    std::fs::write(dir.join("files/plain.txt"), "plain\n").unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().display().to_string();
    std::fs::write(
        dir.join("site.yml"),
        format!(
            "- hosts: box\n  gather_facts: no\n  tasks:\n    - template: src=templates/motd.j2 dest={out}/motd\n    - copy: src=files/plain.txt dest={out}/plain\n      notify: said\n    - debug: msg=\"{{{{ who }}}}\"\n  handlers:\n    - name: said\n      debug: msg=handled\n"
        ),
    )
    .unwrap();
    let site = dir.join("site.yml").display().to_string();

    let client = Client {
        home: tempfile::tempdir().unwrap(),
        server: format!("unix://{}", service.path().join("capstan.sock").display()),
        token: None,
        ca_cert: None,
    };
    let there = client.run(&["playbook", "run", &site, "-e", "who=world", "--diff"]);
    assert_eq!(code(&there), 0, "{}", text(&there.stderr));
    assert_eq!(
        std::fs::read_to_string(out_dir.path().join("motd")).unwrap(),
        "hello world\n",
        "the template came with the upload"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.path().join("plain")).unwrap(),
        "plain\n"
    );
    let stdout = text(&there.stdout);
    assert!(stdout.contains("RUNNING HANDLER [said]"), "{stdout}");

    // Locally, on the same inventory, the same output (the files are
    // there now: both report ok where the first run changed).
    let again = client.run(&["playbook", "run", &site, "-e", "who=world"]);
    let here = service.local(&["playbook", "run", &site, "-e", "who=world"]);
    assert_eq!(code(&again), code(&here));
    assert_eq!(
        without_job_numbers(&text(&again.stdout)),
        without_job_numbers(&text(&here.stdout))
    );

    // A secret from the service's store, set and used through it, masked.
    let out = client.run_with_input(&["secrets", "set", "who"], b"the-stored-world\n");
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let secret_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        secret_dir.path().join("say.yml"),
        "- hosts: box\n  gather_facts: no\n  tasks:\n    - debug: msg=\"{{ who }}\"\n",
    )
    .unwrap();
    let say = secret_dir.path().join("say.yml").display().to_string();
    let out = client.run(&["playbook", "run", &say, "--stored-secret", "who"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ok: [box] => ********"),
        "{}",
        text(&out.stdout)
    );
    assert!(!text(&client.run(&["secrets", "list"]).stdout).contains("the-stored-world"));

    // Only the service's own inventory: -i is refused, and a path that
    // leaves the folder never reaches it (the client sends none).
    let out = client.run(&["playbook", "run", &site, "-i", "x.ini"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("service's own inventory"),
        "{}",
        text(&out.stderr)
    );
    let uploads: Vec<_> = std::fs::read_dir(format!("{}-work/uploads", service.path().display()))
        .unwrap()
        .collect();
    assert_eq!(uploads.len(), 3, "one folder per upload");
    for upload in uploads {
        let upload = upload.unwrap().path();
        if upload.join("say.yml").exists() {
            continue;
        }
        assert!(upload.join("templates/motd.j2").is_file());
        assert!(!upload.join(".git").exists(), "hidden folders stay home");
    }
}

#[test]
fn the_client_says_what_is_wrong_with_the_server_it_was_given() {
    let service = Service::start();
    let client = |server: &str, token: Option<&str>, cert: Option<PathBuf>| Client {
        home: tempfile::tempdir().unwrap(),
        server: server.to_string(),
        token: token.map(str::to_string),
        ca_cert: cert,
    };
    // An untrusted certificate: named, with what to do.
    let out = client(&service.url, Some("capstan_x"), None).run(&["jobs", "list"]);
    assert_eq!(code(&out), 1);
    assert!(
        text(&out.stderr).contains("--ca-cert"),
        "{}",
        text(&out.stderr)
    );
    // No token, or a wrong one: 401, with where a token goes.
    let out = client(&service.url, None, Some(service.cert())).run(&["jobs", "list"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("CAPSTAN_TOKEN"),
        "{}",
        text(&out.stderr)
    );
    // Plain HTTP beyond loopback would leak the token.
    let out = client("http://192.0.2.1:8470", Some("capstan_x"), None).run(&["jobs", "list"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("in the clear"),
        "{}",
        text(&out.stderr)
    );
    // Nothing listening.
    let out = client("unix:///nonexistent/capstan.sock", None, None).run(&["jobs", "list"]);
    assert_eq!(code(&out), 1);
    assert!(
        text(&out.stderr).contains("is `capstan serve` running"),
        "{}",
        text(&out.stderr)
    );
    // A command the API does not cover yet.
    let out = client(&service.url, None, None).run(&["hosts", "list"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("does not work through --server"),
        "{}",
        text(&out.stderr)
    );
}

/// What a `--json` command printed under `data`.
fn json_of(home: &Path, args: &[&str]) -> serde_json::Value {
    let out = local(home, args).output().unwrap();
    assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
    let mut document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    document["data"].take()
}

/// Starts `capstan serve` on `home` (its socket only) and waits for it.
fn serve(home: &Path) -> Child {
    let _ = std::fs::remove_file(home.join("capstan.sock"));
    let child = local(home, &["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::os::unix::net::UnixStream::connect(home.join("capstan.sock")).is_err() {
        assert!(Instant::now() < deadline, "serve never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Whether a process runs with exactly `argv` (read from /proc).
fn running_command(argv: &[&str]) -> bool {
    let wanted: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .any(|cmdline| cmdline == wanted)
}

/// Waits until `done` holds (60 s at most), saying `what` if it never does.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn killing_the_service_mid_job_loses_nothing_leaves_no_command_running_and_its_schedules_resume() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let added = local(
        home,
        &[
            "schedules",
            "add",
            "tick",
            "--cron",
            "* * * * * *",
            "--",
            "run",
            "debug",
            "msg",
            "-p",
            "msg=tick",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(code(&added), 0, "{}", text(&added.stderr));
    let fired = |home: &Path| {
        json_of(home, &["schedules", "list", "--json"])[0]["fired"]
            .as_u64()
            .unwrap()
    };

    let mut service = serve(home);
    // A long job the service runs, started through its socket.
    let socket = format!("unix://{}", home.join("capstan.sock").display());
    let client_home = tempfile::tempdir().unwrap();
    let mut client = local(
        client_home.path(),
        &[
            "--server",
            &socket,
            "run",
            "command",
            "exec",
            "-p",
            "cmd=sleep 300.25",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut long_job = 0;
    wait_until("the long job never started", || {
        let jobs = json_of(home, &["jobs", "list", "--grep", "exec", "--json"]);
        match jobs.as_array().unwrap().first() {
            Some(job) if job["state"] == "running" => {
                long_job = job["id"].as_i64().unwrap();
                true
            }
            _ => false,
        }
    });
    wait_until("the schedule never fired twice", || fired(home) >= 2);
    wait_until("the long job's command never started", || {
        running_command(&["sleep", "300.25"])
    });

    service.kill().unwrap(); // SIGKILL: no grace, no cleanup.
    service.wait().unwrap();
    let _ = client.wait();
    wait_until("the killed service's command still runs", || {
        !running_command(&["sleep", "300.25"])
    });
    let before_restart = fired(home);

    // Whatever was recorded is still there, and the killed job no longer
    // claims to run.
    let job = json_of(home, &["jobs", "show", &long_job.to_string(), "--json"]);
    assert_eq!(job["state"], "interrupted", "{job}");
    let ticks = json_of(
        home,
        &["jobs", "list", "--grep", "msg", "--limit", "1000", "--json"],
    );
    let ticks: Vec<_> = ticks
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["launched_by"] == "schedule:tick")
        .collect();
    assert!(
        ticks.len() as u64 >= before_restart.saturating_sub(1),
        "{} jobs for {before_restart} firings",
        ticks.len()
    );
    assert!(ticks.iter().all(|j| j["state"] != "running"), "{ticks:?}");

    // Restarted, the service fires the schedule again.
    let mut service = serve(home);
    wait_until("the schedule never fired after the restart", || {
        fired(home) >= before_restart + 2
    });
    let _ = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status();
    assert!(service.wait().unwrap().success(), "a SIGTERM stop is clean");
}
