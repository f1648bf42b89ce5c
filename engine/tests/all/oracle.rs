//! The compatibility oracle: every playbook in `tests/oracle/` runs twice
//! with ansible-core (installed into a venv from PyPI by
//! `tests/ansible/setup-venv`) on two sshd hosts and twice with Capstan on
//! two others; what ends up on the hosts and each host's recap must match
//! after the first and after the second run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use capstan_engine::playbook::{PlaybookOptions, Recap};

use crate::fleet::{Sshd, inventory_text};
use crate::support::engine;

/// Account-name prefixes of the two tools' runs (they share this machine's
/// accounts): `12-users.yml` names everything it makes with one.
const ANSIBLE_PREFIX: &str = "capoa";
const CAPSTAN_PREFIX: &str = "capoc";

/// Deletes the users and groups a run with `prefix` made.
fn remove_accounts(prefix: &str) {
    let script = r#"for u in $(getent passwd | cut -d: -f1 | grep "^$1"); do userdel "$u"; done
for g in $(getent group | cut -d: -f1 | grep "^$1"); do groupdel "$g"; done"#;
    let status = Command::new("sh")
        .args(["-c", script, "cleanup", prefix])
        .status()
        .unwrap();
    assert!(status.success(), "could not remove the {prefix}* accounts");
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The venv's bin folder, installing ansible-core on first use.
fn ansible_bin() -> PathBuf {
    let output = Command::new(repo().join("tests/ansible/setup-venv"))
        .output()
        .expect("run tests/ansible/setup-venv");
    assert!(
        output.status.success(),
        "installing ansible-core failed (it comes from PyPI): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

fn inventory(dir: &Path, name: &str, fleet: &[&Sshd]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        inventory_text(fleet, "[web:vars]\nrole_name=frontend\n"),
    )
    .unwrap();
    path
}

/// Parses the PLAY RECAP lines of ansible-playbook's output.
fn ansible_recap(output: &str) -> BTreeMap<String, (u32, u32, u32, u32, u32, u32)> {
    let mut recap = BTreeMap::new();
    let after = output.split("PLAY RECAP").nth(1).unwrap_or_default();
    for line in after.lines().filter(|l| l.contains(" : ok=")) {
        let (host, counts) = line.split_once(" : ").unwrap();
        let get = |key: &str| -> u32 {
            counts
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{key}=")))
                .unwrap()
                .parse()
                .unwrap()
        };
        recap.insert(
            host.trim().to_string(),
            (
                get("ok"),
                get("changed"),
                get("unreachable"),
                get("failed"),
                get("skipped"),
                get("ignored"),
            ),
        );
    }
    recap
}

fn capstan_recap(recap: &[Recap]) -> BTreeMap<String, (u32, u32, u32, u32, u32, u32)> {
    recap
        .iter()
        .map(|r| {
            (
                r.host.clone(),
                (
                    r.ok,
                    r.changed,
                    r.unreachable,
                    r.failed,
                    r.skipped,
                    r.ignored,
                ),
            )
        })
        .collect()
}

/// Every path under `base`: kind, mode, owner, and content or link target, with
/// `base` itself written as `<base>`.
fn snapshot(base: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
            let owner = format!(
                "{}:{}",
                std::os::unix::fs::MetadataExt::uid(&meta),
                std::os::unix::fs::MetadataExt::gid(&meta)
            );
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            if entry.file_name() == ".git" {
                // A checkout's internals hold timestamps; compare what is checked out.
                continue;
            }
            let normalise = |s: String| {
                let b = base.display().to_string();
                s.replace(&b, "<base>").replace(&b.to_uppercase(), "<BASE>")
            };
            let what = if meta.file_type().is_symlink() {
                format!(
                    "link -> {}",
                    normalise(std::fs::read_link(&path).unwrap().display().to_string())
                )
            } else if meta.is_dir() {
                walk(base, &path, out);
                format!("dir {mode:o} {owner}")
            } else {
                let content = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                format!("file {mode:o} {owner} {:?}", normalise(content))
            };
            out.insert(rel, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(base, base, &mut out);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn oracle_playbooks_match_ansible_on_first_and_second_runs() {
    let bin = ansible_bin();
    let ansible_hosts = [Sshd::start(), Sshd::start()];
    let capstan_hosts = [Sshd::start(), Sshd::start()];
    let (home, capstan) = engine();
    let work = tempfile::tempdir().unwrap();
    let ansible_inv = inventory(
        work.path(),
        "ansible.ini",
        &[&ansible_hosts[0], &ansible_hosts[1]],
    );
    let capstan_inv = inventory(
        work.path(),
        "capstan.ini",
        &[&capstan_hosts[0], &capstan_hosts[1]],
    );
    std::fs::write(
        work.path().join("ansible.cfg"),
        format!(
            "[defaults]\nhost_key_checking = False\ninterpreter_python = /usr/bin/python3\nforks = 10\n\
             [ssh_connection]\npipelining = True\ncontrol_path_dir = {}/cp\n\
             ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no\n",
            work.path().display()
        ),
    )
    .unwrap();

    let mut playbooks: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/oracle"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    playbooks.sort();
    assert!(
        playbooks.len() >= 10,
        "the oracle needs at least 10 playbooks"
    );
    // While working on one playbook: CAPSTAN_ORACLE_ONLY=14-host-data
    if let Ok(only) = std::env::var("CAPSTAN_ORACLE_ONLY") {
        playbooks.retain(|p| p.to_string_lossy().contains(&only));
        assert!(!playbooks.is_empty(), "no oracle playbook matches {only}");
    }

    remove_accounts(ANSIBLE_PREFIX);
    remove_accounts(CAPSTAN_PREFIX);
    let mut mismatches = Vec::new();
    let repo = work.path().join("repo.git").display().to_string();
    for playbook in &playbooks {
        let name = playbook.file_stem().unwrap().to_string_lossy().to_string();
        let ansible_base = work.path().join(format!("a-{name}"));
        let capstan_base = work.path().join(format!("c-{name}"));
        // A playbook that acts on what both tools share (packages,
        // services) has a reset script: Ansible runs twice from a reset
        // machine, then Capstan does.
        let reset = playbook.with_extension("reset");
        let reset_machine = |args: &[&str]| {
            if reset.exists() {
                let out = Command::new(&reset)
                    .args(args)
                    .env("ORACLE_WORK", work.path())
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}: {}",
                    reset.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        reset_machine(&[]);
        let mut ansible_runs = Vec::new();
        for _ in 0..2 {
            let output = Command::new(bin.join("ansible-playbook"))
                .arg(playbook)
                .arg("-i")
                .arg(&ansible_inv)
                .arg("-e")
                .arg(format!(
                    "base={} prefix={ANSIBLE_PREFIX} gid_base=45100 repo={repo}",
                    ansible_base.display()
                ))
                .env("ANSIBLE_CONFIG", work.path().join("ansible.cfg"))
                .env("ANSIBLE_NOCOLOR", "1")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            let recap = ansible_recap(&text);
            assert!(
                !recap.is_empty(),
                "{name}: no recap from ansible:\n{text}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            ansible_runs.push((recap, snapshot(&ansible_base), text));
        }
        reset_machine(&[]);
        for (run, (expected, ansible_files, text)) in
            ["first", "second"].into_iter().zip(ansible_runs)
        {
            let mut options = PlaybookOptions {
                playbook: playbook.clone(),
                inventory: Some(capstan_inv.clone()),
                trust_new_hosts: true,
                ..Default::default()
            };
            for (key, value) in [
                (
                    "base",
                    serde_json::json!(capstan_base.display().to_string()),
                ),
                ("prefix", serde_json::json!(CAPSTAN_PREFIX)),
                ("gid_base", serde_json::json!(45200)),
                ("repo", serde_json::json!(repo)),
            ] {
                options.extra_vars.insert(key.into(), value);
            }
            let report = capstan
                .run_playbook(options, Arc::new(|_| {}))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got = capstan_recap(&report.recap);
            if got != expected {
                let tasks = capstan.store().task_outcomes(report.job_id).unwrap();
                let lines: Vec<String> = tasks
                    .iter()
                    .map(|t| format!("  {} {} {}: {}", t.host, t.task, t.status.name(), t.summary))
                    .collect();
                mismatches.push(format!(
                    "{name} ({run} run) recap: ansible {expected:?}, capstan {got:?}\n{}\n--- ansible output:\n{text}",
                    lines.join("\n")
                ));
            }
            let (a, c) = (ansible_files, snapshot(&capstan_base));
            if a != c {
                let only =
                    |x: &BTreeMap<String, String>, y: &BTreeMap<String, String>| -> Vec<String> {
                        x.iter()
                            .filter(|(k, v)| y.get(*k) != Some(*v))
                            .map(|(k, v)| format!("    {k}: {v}"))
                            .collect()
                    };
                mismatches.push(format!(
                    "{name} ({run} run) hosts differ\n  ansible:\n{}\n  capstan:\n{}",
                    only(&a, &c).join("\n"),
                    only(&c, &a).join("\n")
                ));
            }
        }
        reset_machine(&["cleanup"]);
    }
    drop(home);
    remove_accounts(ANSIBLE_PREFIX);
    remove_accounts(CAPSTAN_PREFIX);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}
