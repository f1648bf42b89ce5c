//! Ansible's own integration targets, run unchanged through `capstan
//! playbook run` by `tests/ansible-targets/run`: the fast ones, held to
//! what `tests/ansible-targets/expected.txt` records (a target that passed
//! must pass; no target may pass fewer asserts). The whole set is the
//! script's (`tests/ansible-targets/run`), with its table in the README.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// One target's recorded floor: whether it passes, and how many of its
/// asserts pass at least.
struct Expected {
    passes: bool,
    asserts: u64,
}

fn expected(root: &Path) -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(root.join("tests/ansible-targets/expected.txt")).unwrap();
    text.lines()
        .map(|line| line.split('#').next().unwrap().trim())
        .filter(|line| !line.is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, verdict, asserts] = fields[..] else {
                panic!("expected.txt: `{line}` is not `TARGET pass|fail ASSERTS`");
            };
            let passes = match verdict {
                "pass" => true,
                "fail" => false,
                other => panic!("expected.txt: `{other}` is neither pass nor fail"),
            };
            let asserts = asserts.parse().expect("expected.txt: asserts is a number");
            (name.to_string(), Expected { passes, asserts })
        })
        .collect()
}

#[test]
fn ansible_integration_targets_hold_their_recorded_results() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let report = tempfile::NamedTempFile::new().unwrap();
    let status = Command::new(root.join("tests/ansible-targets/run"))
        .args(["--fast", "--json"])
        .arg(report.path())
        .env("CAPSTAN_BIN", env!("CARGO_BIN_EXE_capstan"))
        .status()
        .unwrap();
    assert!(status.success(), "the targets' script failed: {status}");
    let rows: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(report.path()).unwrap()).unwrap();
    let expected = expected(root);
    assert!(!rows.is_empty(), "no fast target ran");
    let mut regressions = Vec::new();
    for row in &rows {
        let name = row["target"].as_str().unwrap();
        let floor = expected
            .get(name)
            .unwrap_or_else(|| panic!("expected.txt has no line for target `{name}`"));
        let passed = row["passed"].as_bool().unwrap();
        let asserts = row["asserts"].as_u64().unwrap();
        if floor.passes && !passed {
            regressions.push(format!("{name} no longer passes: {}", row["verdict"]));
        }
        if asserts < floor.asserts {
            regressions.push(format!(
                "{name}: {asserts} asserts passed, {} recorded: {}",
                floor.asserts, row["verdict"]
            ));
        }
    }
    assert!(regressions.is_empty(), "{}", regressions.join("\n"));
}
