//! `pip` on this machine: a virtualenv made with Python's own `venv`, and
//! packages from a folder of wheels the test builds (no index is reached).

use std::process::Command;

use crate::support::{engine, play, unignored_failures};

/// Writes `capstan_demo` 1.0 and 2.0 as wheels into `dir`.
const WHEELS: &str = r#"
import base64, hashlib, os, sys, zipfile
for version in ("1.0", "2.0"):
    info = f"capstan_demo-{version}.dist-info"
    files = {
        "capstan_demo/__init__.py": f"VERSION = '{version}'\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: capstan-demo\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: capstan-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = ""
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(text.encode())}\n"
    files[f"{info}/RECORD"] = record + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(os.path.join(sys.argv[1], f"capstan_demo-{version}-py3-none-any.whl"), "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
"#;

const PLAYBOOK: &str = r#"- hosts: box
  gather_facts: no
  vars:
    venv: "{{ work }}/venv"
    offline: "--no-index --find-links {{ work }}/wheels"
  tasks:
    - pip:
        name: capstan-demo
        virtualenv: "{{ venv }}"
        virtualenv_command: python3 -m venv
        extra_args: "{{ offline }}"
      register: first
    - pip: { name: capstan-demo, virtualenv: "{{ venv }}", extra_args: "{{ offline }}" }
      register: again
    - pip: { name: capstan-demo, version: "1.0", virtualenv: "{{ venv }}", extra_args: "{{ offline }}" }
      register: pinned
    - command: "{{ venv }}/bin/python -c 'import capstan_demo; print(capstan_demo.VERSION)'"
      register: imported
      changed_when: false
    - pip: { name: capstan-demo, state: latest, virtualenv: "{{ venv }}", extra_args: "{{ offline }}" }
      register: latest
    - pip: { name: capstan-demo, state: absent, virtualenv: "{{ venv }}" }
      register: removed
    - pip: { name: capstan-demo, state: absent, virtualenv: "{{ venv }}" }
      register: removed_again
    - pip: { name: no-such-package-xyz, virtualenv: "{{ venv }}", extra_args: "{{ offline }}" }
      register: missing
      ignore_errors: true
    - pip: { name: "--index-url=http://192.0.2.1/", virtualenv: "{{ venv }}" }
      register: option
      ignore_errors: true
    - pip: { name: [a, b], version: "1.0", virtualenv: "{{ venv }}" }
      register: ambiguous
      ignore_errors: true
    - assert:
        that:
          - first is changed and again is not changed
          - pinned is changed and imported.stdout == '1.0'
          - latest is changed
          - removed is changed and removed_again is not changed
          - missing is failed and 'no-such-package-xyz' in missing.msg
          - option is failed and 'not a Python package name' in option.msg
          - ambiguous is failed and 'ambiguous' in ambiguous.msg
"#;

#[tokio::test(flavor = "multi_thread")]
async fn pip_installs_pins_upgrades_and_removes_in_a_virtualenv() {
    let work = tempfile::tempdir().unwrap();
    let wheels = work.path().join("wheels");
    std::fs::create_dir(&wheels).unwrap();
    let built = Command::new("python3")
        .args(["-c", WHEELS])
        .arg(&wheels)
        .status()
        .unwrap();
    assert!(built.success(), "the test's wheels could not be built");
    let (home, capstan) = engine();
    let inventory = home.path().join("inv.ini");
    std::fs::write(&inventory, "box ansible_connection=local\n").unwrap();
    let site = work.path().join("site.yml");
    std::fs::write(&site, PLAYBOOK).unwrap();
    let work_var = work.path().display().to_string();
    let (report, events) = play(&capstan, &site, &inventory, |options| {
        options.extra_vars.insert("work".into(), work_var.into());
    })
    .await;
    assert!(!report.failed(), "{:#?}", unignored_failures(&events));
    assert_eq!(report.recap[0].ignored, 3);
    // Nothing was left installed.
    let left = Command::new(work.path().join("venv/bin/pip"))
        .args(["list", "--format=freeze"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&left.stdout).contains("capstan"));
}
