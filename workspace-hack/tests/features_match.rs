//! The hack's promise, checked: every crate the CLI and the window both
//! build is built with the same features, for the target and for build
//! scripts and proc-macros alike. One crate that differs is another build
//! of it and of everything above it: on a new machine, `./dev run`'s window
//! step then rebuilt wasmtime (serde's features differed for build scripts).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// A crate as a build sees it: name, version, and whether it is built for
/// the host (build scripts, proc-macros and what they use).
type Unit = (String, String, bool);

/// Each crate `package` builds, with the features it is built with.
fn units(package: &str) -> BTreeMap<Unit, BTreeSet<String>> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--locked",
            "--charset",
            "ascii",
            "-e",
            "normal,build",
        ])
        .args(["-f", "{p} [{f}]", "-p", package])
        .current_dir(workspace)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse(&String::from_utf8(output.stdout).unwrap())
}

/// Reads `cargo tree --charset ascii` output: a crate is built for the host
/// when it sits under a `[build-dependencies]` heading or below a
/// proc-macro or another host crate.
fn parse(tree: &str) -> BTreeMap<Unit, BTreeSet<String>> {
    let mut units: BTreeMap<Unit, BTreeSet<String>> = BTreeMap::new();
    // (depth, built for the host, is a proc-macro) of the current path.
    let mut path: Vec<(usize, bool, bool)> = Vec::new();
    let mut build_dependencies_at: Option<usize> = None;
    for line in tree.lines() {
        let rest = line.trim_start_matches(['|', '`', '-', ' ']);
        let depth = (line.len() - rest.len()) / 4;
        // A crate shown before is marked `(*)`, without its dependencies.
        let rest = rest.trim_end_matches(" (*)");
        if rest.starts_with("[build-dependencies]") {
            build_dependencies_at = Some(depth + 1);
            continue;
        }
        if rest.starts_with('[') || rest.is_empty() {
            continue;
        }
        let mut words = rest.split(' ');
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        let features = rest
            .rsplit_once('[')
            .map(|(_, f)| f.trim_end_matches(']').to_string())
            .unwrap_or_default();
        path.retain(|(d, _, _)| *d < depth);
        if build_dependencies_at.is_some_and(|at| depth < at) {
            build_dependencies_at = None;
        }
        let host = path
            .last()
            .is_some_and(|(_, host, macro_)| *host || *macro_)
            || build_dependencies_at == Some(depth);
        path.push((depth, host, rest.contains("(proc-macro)")));
        units
            .entry((name.to_string(), version.to_string(), host))
            .or_default()
            .insert(features);
    }
    units
}

#[test]
fn the_cli_and_the_window_build_shared_crates_alike() {
    let cli = units("capstan-cli");
    let app = units("capstan-app");
    let shared: Vec<_> = cli.keys().filter(|k| app.contains_key(*k)).collect();
    assert!(
        shared.len() > 100,
        "only {} shared crates: the tree was not read",
        shared.len()
    );
    let differing: Vec<String> = shared
        .into_iter()
        .filter(|k| cli[*k] != app[*k])
        .map(|k @ (name, version, host)| {
            let flavor = if *host { "build scripts" } else { "target" };
            format!(
                "{name} {version} ({flavor}): CLI {:?}, window {:?}",
                cli[k], app[k]
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "add these features to workspace-hack/Cargo.toml ([build-dependencies] for build scripts):\n{}",
        differing.join("\n")
    );
}

#[test]
fn host_crates_are_told_apart() {
    let tree = "\
a v1.0.0 [default]
|-- serde v1.0.0 [std]
|   [build-dependencies]
|   `-- cc v1.0.0 []
|       `-- serde v1.0.0 [alloc]
`-- m v1.0.0 (proc-macro) []
    `-- syn v2.0.0 [full]
[build-dependencies]
`-- serde v1.0.0 [alloc] (*)
";
    let units = parse(tree);
    let key = |n: &str, v: &str, h: bool| (n.to_string(), v.to_string(), h);
    assert_eq!(
        units[&key("serde", "v1.0.0", false)],
        BTreeSet::from(["std".to_string()])
    );
    assert_eq!(
        units[&key("serde", "v1.0.0", true)],
        BTreeSet::from(["alloc".to_string()])
    );
    assert!(units.contains_key(&key("cc", "v1.0.0", true)));
    assert!(units.contains_key(&key("syn", "v2.0.0", true)));
    assert!(!units.contains_key(&key("cc", "v1.0.0", false)));
}
