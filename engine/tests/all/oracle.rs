//! The compatibility oracle: every playbook in `tests/oracle/` runs twice
//! with ansible-core (installed into a venv from PyPI by
//! `tests/ansible/setup-venv`) and twice with Capstan, each on two sshd
//! hosts; what ends up on the hosts and each host's recap must match after
//! the first and after the second run.
//!
//! ansible-core takes 6 to 10 minutes over the set on two cores, and
//! gives the same answer every time for a given playbook. So its answers
//! are recorded, one file per playbook, in `tests/oracle/answers/`:
//! - [`capstan_gives_ansible_cores_recorded_answers`] (every run, CI
//!   too) runs Capstan against them;
//! - [`live_ansible_core_gives_the_recorded_answers`] (`./dev test
//!   --full`) runs ansible-core against them, so a recorded answer never
//!   drifts from what ansible-core does; with `CAPSTAN_ORACLE_RECORD=1` it
//!   writes them instead.
//!
//! Each answer holds a digest of everything its playbook reads (the
//! playbook, its reset script, the shared files, templates and vars): an
//! answer recorded for an older playbook fails rather than passes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use capstan_engine::playbook::{PlaybookOptions, Recap};
use serde::{Deserialize, Serialize};

use crate::fleet::{Sshd, inventory_text};
use crate::support::engine;

/// Account-name prefixes of the two tools' runs (they share this machine's
/// accounts): `12-users.yml` names everything it makes with one.
const ANSIBLE_PREFIX: &str = "capoa";
const CAPSTAN_PREFIX: &str = "capoc";

/// How to record the answers again, for the messages that need it.
const RECORD: &str = "CAPSTAN_ORACLE_RECORD=1 ./dev test --full -E 'test(live_ansible)'";

/// One host's recap counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Counts {
    ok: u32,
    changed: u32,
    unreachable: u32,
    failed: u32,
    skipped: u32,
    /// Answers recorded before blocks ran have none.
    #[serde(default)]
    rescued: u32,
    ignored: u32,
}

/// What one run left: each host's recap and every path under `base`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RunOutcome {
    recap: BTreeMap<String, Counts>,
    files: BTreeMap<String, String>,
}

/// ansible-core's answer for one playbook, as recorded.
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    /// `ansible-playbook --version`'s first line.
    ansible_core: String,
    /// The digest of what the playbook reads ([`inputs_digest`]).
    inputs: String,
    /// The first run, then the second.
    runs: [RunOutcome; 2],
    /// ansible-playbook's output of each run, for reading a mismatch.
    output: [Vec<String>; 2],
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn oracle_dir() -> PathBuf {
    repo().join("tests/oracle")
}

fn answer_path(name: &str) -> PathBuf {
    oracle_dir().join("answers").join(format!("{name}.json"))
}

/// The playbooks, sorted (only those matching `CAPSTAN_ORACLE_ONLY`, e.g.
/// `14-host-data`, while working on one).
fn playbooks() -> Vec<PathBuf> {
    let mut playbooks: Vec<PathBuf> = std::fs::read_dir(oracle_dir())
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
    if let Ok(only) = std::env::var("CAPSTAN_ORACLE_ONLY") {
        playbooks.retain(|p| p.to_string_lossy().contains(&only));
        assert!(!playbooks.is_empty(), "no oracle playbook matches {only}");
    }
    playbooks
}

/// The vault password file a playbook's own folder holds, if any.
fn vault_password(playbook: &Path) -> Option<PathBuf> {
    Some(playbook.with_extension("").join("vault-password")).filter(|p| p.is_file())
}

fn name_of(playbook: &Path) -> String {
    playbook.file_stem().unwrap().to_string_lossy().into_owned()
}

/// SHA-256 (hex) of the playbook, its reset script and every file under
/// the shared `files`, `templates`, `vars`, `roles`, `group_vars` and
/// `host_vars` folders and its own folder (`NAME/`, when it has one), with
/// their paths.
fn inputs_digest(playbook: &Path) -> String {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let dir = oracle_dir();
    let mut inputs = vec![playbook.to_path_buf()];
    let reset = playbook.with_extension("reset");
    if reset.exists() {
        inputs.push(reset);
    }
    let mut shared = Vec::new();
    // A playbook's own folder (NAME/, the task files it imports) too.
    let own = playbook.with_extension("");
    for folder in [
        dir.join("files"),
        dir.join("templates"),
        dir.join("vars"),
        dir.join("roles"),
        dir.join("group_vars"),
        dir.join("host_vars"),
        own,
    ] {
        walk(&folder, &mut shared);
    }
    shared.sort();
    inputs.extend(shared);
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    for path in inputs {
        let rel = path.strip_prefix(&dir).unwrap().display().to_string();
        let content = std::fs::read(&path).unwrap();
        for part in [rel.as_bytes(), &content] {
            digest.update(&(part.len() as u64).to_le_bytes());
            digest.update(part);
        }
    }
    digest
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

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

/// A playbook that acts on what both tools share (packages, services)
/// has a reset script: it brings the machine back to "never provisioned"
/// (or, with `cleanup`, removes what it set up).
fn reset_machine(playbook: &Path, work: &Path, args: &[&str]) {
    let reset = playbook.with_extension("reset");
    if !reset.exists() {
        return;
    }
    let out = Command::new(&reset)
        .args(args)
        .env("ORACLE_WORK", work)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        reset.display(),
        String::from_utf8_lossy(&out.stderr)
    );
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

/// The hosts' inventory, with a `group_vars/` folder beside it (which the
/// playbooks' own `group_vars/` outranks).
fn inventory(dir: &Path, name: &str, fleet: &[Sshd; 2]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        inventory_text(
            &[&fleet[0], &fleet[1]],
            "[web:vars]\nrole_name=frontend\noracle_file_group=file\n\
             [web]\nh2 oracle_connection_note=file-host\n",
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("group_vars")).unwrap();
    std::fs::write(
        dir.join("group_vars/all.yml"),
        "oracle_both: inventory\noracle_beside_inventory: yes-{{ inventory_hostname }}\n",
    )
    .unwrap();
    path
}

/// Parses the PLAY RECAP lines of ansible-playbook's output.
fn ansible_recap(output: &str) -> BTreeMap<String, Counts> {
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
            Counts {
                ok: get("ok"),
                changed: get("changed"),
                unreachable: get("unreachable"),
                failed: get("failed"),
                skipped: get("skipped"),
                rescued: get("rescued"),
                ignored: get("ignored"),
            },
        );
    }
    recap
}

fn capstan_recap(recap: &[Recap]) -> BTreeMap<String, Counts> {
    recap
        .iter()
        .map(|r| {
            (
                r.host.clone(),
                Counts {
                    ok: r.ok,
                    changed: r.changed,
                    unreachable: r.unreachable,
                    failed: r.failed,
                    skipped: r.skipped,
                    rescued: r.rescued,
                    ignored: r.ignored,
                },
            )
        })
        .collect()
}

/// A file owner's id as the snapshot shows it: the ids each tool gives
/// its own accounts (`gid_base` + N, 45100 + N for Ansible's run and
/// 45200 + N for Capstan's) as `account+N`, so both runs compare.
fn account_id(id: u32) -> String {
    match id {
        45100..45200 => format!("account+{}", id - 45100),
        45200..45300 => format!("account+{}", id - 45200),
        _ => id.to_string(),
    }
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
                account_id(std::os::unix::fs::MetadataExt::uid(&meta)),
                account_id(std::os::unix::fs::MetadataExt::gid(&meta))
            );
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            if entry.file_name() == ".git" {
                // A checkout's internals hold timestamps; compare what is checked out.
                continue;
            }
            let what = if meta.file_type().is_symlink() {
                format!(
                    "link -> {}",
                    normalise(
                        base,
                        &std::fs::read_link(&path).unwrap().display().to_string()
                    )
                )
            } else if meta.is_dir() {
                walk(base, &path, out);
                format!("dir {mode:o} {owner}")
            } else {
                let content = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                format!("file {mode:o} {owner} {:?}", normalise(base, &content))
            };
            out.insert(rel, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(base, base, &mut out);
    out
}

/// `text` with the run's own folder written as `<base>` (`<BASE>` in
/// capitals), so two tools' (and two recordings') runs compare.
fn normalise(base: &Path, text: &str) -> String {
    let b = base.display().to_string();
    text.replace(&b, "<base>")
        .replace(&b.to_uppercase(), "<BASE>")
}

/// What differs between two runs' files, each side's version listed
/// under its label.
fn files_differ(labels: [&str; 2], expected: &RunOutcome, got: &RunOutcome) -> Option<String> {
    if expected.files == got.files {
        return None;
    }
    let only = |x: &BTreeMap<String, String>, y: &BTreeMap<String, String>| -> Vec<String> {
        x.iter()
            .filter(|(k, v)| y.get(*k) != Some(*v))
            .map(|(k, v)| format!("    {k}: {v}"))
            .collect()
    };
    Some(format!(
        "  {}:\n{}\n  {}:\n{}",
        labels[0],
        only(&expected.files, &got.files).join("\n"),
        labels[1],
        only(&got.files, &expected.files).join("\n")
    ))
}

/// A work folder (with the git repository `13-system.reset` makes there)
/// and a fresh pair of sshd hosts with their inventory.
struct Setting {
    work: tempfile::TempDir,
    inventory: PathBuf,
    _hosts: [Sshd; 2],
}

impl Setting {
    fn new() -> Setting {
        let work = tempfile::tempdir().unwrap();
        let hosts = [Sshd::start(), Sshd::start()];
        let inventory = inventory(work.path(), "inventory.ini", &hosts);
        Setting {
            work,
            inventory,
            _hosts: hosts,
        }
    }

    fn path(&self) -> &Path {
        self.work.path()
    }

    /// The extra variables every playbook gets: where to work, the
    /// accounts' prefix and group ids, the git repository.
    fn extra_vars(
        &self,
        base: &Path,
        prefix: &str,
        gid_base: u32,
    ) -> Vec<(&'static str, serde_json::Value)> {
        let repo = self.path().join("repo.git");
        vec![
            ("base", base.display().to_string().into()),
            ("prefix", prefix.into()),
            ("gid_base", gid_base.into()),
            ("repo", repo.display().to_string().into()),
        ]
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn capstan_gives_ansible_cores_recorded_answers() {
    let setting = Setting::new();
    let (home, capstan) = engine();
    remove_accounts(CAPSTAN_PREFIX);
    let mut mismatches = Vec::new();
    for playbook in playbooks() {
        let name = name_of(&playbook);
        let text = std::fs::read_to_string(answer_path(&name)).unwrap_or_else(|_| {
            panic!("{name} has no recorded answer in tests/oracle/answers: record it: {RECORD}")
        });
        let answer: Answer = serde_json::from_str(&text).unwrap();
        assert_eq!(
            answer.inputs,
            inputs_digest(&playbook),
            "tests/oracle/answers/{name}.json was recorded for another version of {name} \
             (or of the shared files, templates and vars): record it again: {RECORD}"
        );
        let base = setting.path().join(format!("c-{name}"));
        reset_machine(&playbook, setting.path(), &[]);
        for (run, (expected, output)) in ["first", "second"]
            .into_iter()
            .zip(answer.runs.iter().zip(&answer.output))
        {
            let mut options = PlaybookOptions {
                playbook: playbook.clone(),
                inventory: Some(setting.inventory.clone()),
                trust_new_hosts: true,
                vault_password_files: vault_password(&playbook).into_iter().collect(),
                ..Default::default()
            };
            for (key, value) in setting.extra_vars(&base, CAPSTAN_PREFIX, 45200) {
                options.extra_vars.insert(key.into(), value);
            }
            let report = capstan
                .run_playbook(options, Arc::new(|_| {}))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got = RunOutcome {
                recap: capstan_recap(&report.recap),
                files: snapshot(&base),
            };
            if got.recap != expected.recap {
                let tasks = capstan.store().task_outcomes(report.job_id).unwrap();
                let lines: Vec<String> = tasks
                    .iter()
                    .map(|t| format!("  {} {} {}: {}", t.host, t.task, t.status.name(), t.summary))
                    .collect();
                mismatches.push(format!(
                    "{name} ({run} run) recap: {} {:?}, capstan {:?}\n{}\n--- ansible's output:\n{}",
                    answer.ansible_core,
                    expected.recap,
                    got.recap,
                    lines.join("\n"),
                    output.join("\n")
                ));
            }
            if let Some(differences) = files_differ(["ansible", "capstan"], expected, &got) {
                mismatches.push(format!("{name} ({run} run) hosts differ\n{differences}"));
            }
        }
        reset_machine(&playbook, setting.path(), &["cleanup"]);
    }
    drop(home);
    remove_accounts(CAPSTAN_PREFIX);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

/// `./dev test --full` only (ansible-core's runs take 6 to 10 minutes).
#[test]
fn live_ansible_core_gives_the_recorded_answers() {
    let bin = ansible_bin();
    let version = Command::new(bin.join("ansible-playbook"))
        .arg("--version")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let record = std::env::var_os("CAPSTAN_ORACLE_RECORD").is_some();
    let setting = Setting::new();
    std::fs::write(
        setting.path().join("ansible.cfg"),
        format!(
            "[defaults]\nhost_key_checking = False\ninterpreter_python = /usr/bin/python3\nforks = 10\n\
             [ssh_connection]\npipelining = True\ncontrol_path_dir = {}/cp\n\
             ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no\n",
            setting.path().display()
        ),
    )
    .unwrap();
    remove_accounts(ANSIBLE_PREFIX);
    let mut mismatches = Vec::new();
    for playbook in playbooks() {
        let name = name_of(&playbook);
        let base = setting.path().join(format!("a-{name}"));
        // As JSON, so a number stays a number (`gid_base=45100` would be
        // text to Ansible, as Capstan's own run gets it as a number).
        let extra: serde_json::Map<String, serde_json::Value> = setting
            .extra_vars(&base, ANSIBLE_PREFIX, 45100)
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect();
        let extra = serde_json::Value::Object(extra).to_string();
        reset_machine(&playbook, setting.path(), &[]);
        let mut runs = Vec::new();
        let mut outputs = Vec::new();
        for _ in 0..2 {
            let mut command = Command::new(bin.join("ansible-playbook"));
            if let Some(password) = vault_password(&playbook) {
                command.arg("--vault-password-file").arg(password);
            }
            let output = command
                .arg(&playbook)
                .arg("-i")
                .arg(&setting.inventory)
                .arg("-e")
                .arg(&extra)
                .env("ANSIBLE_CONFIG", setting.path().join("ansible.cfg"))
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
            runs.push(RunOutcome {
                recap,
                files: snapshot(&base),
            });
            outputs.push(
                normalise(&base, &text)
                    .replace(&setting.path().display().to_string(), "<work>")
                    .lines()
                    .map(str::to_string)
                    .collect(),
            );
        }
        reset_machine(&playbook, setting.path(), &["cleanup"]);
        let answer = Answer {
            ansible_core: version.clone(),
            inputs: inputs_digest(&playbook),
            runs: runs.try_into().unwrap(),
            output: outputs.try_into().unwrap(),
        };
        let path = answer_path(&name);
        if record {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let text = serde_json::to_string_pretty(&answer).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let Some(recorded) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<Answer>(&text).ok())
        else {
            mismatches.push(format!("{name}: no recorded answer"));
            continue;
        };
        if recorded.inputs != answer.inputs {
            mismatches.push(format!("{name}: recorded for another version of it"));
        }
        for (run, (was, now)) in ["first", "second"]
            .into_iter()
            .zip(recorded.runs.iter().zip(&answer.runs))
        {
            if was.recap != now.recap {
                mismatches.push(format!(
                    "{name} ({run} run) recap: recorded {:?}, ansible-core now {:?}",
                    was.recap, now.recap
                ));
            }
            if let Some(differences) = files_differ(["recorded", "ansible-core now"], was, now) {
                mismatches.push(format!("{name} ({run} run) files differ\n{differences}"));
            }
        }
    }
    remove_accounts(ANSIBLE_PREFIX);
    assert!(
        mismatches.is_empty(),
        "ansible-core ({version}) no longer gives the recorded answers; if that is right \
         (a changed playbook, a new ansible-core), record them again: {RECORD}\n\n{}",
        mismatches.join("\n\n")
    );
}
