"""Runs Ansible's integration targets through Capstan and reports each.

Called by `tests/ansible-targets/run`, which downloads the targets and
names the capstan binary. Each target runs in a scratch copy of
`test/integration`, with its own Capstan data folder; afterwards every
playbook run it recorded is read back (`capstan jobs show --json`) to
count tasks and asserts, and to name the first task that failed.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTAINERS = HERE.parent / "containers"
CAPSTAN = os.environ["CAPSTAN_BIN"]
TIMEOUT_SECONDS = int(os.environ.get("CAPSTAN_TARGET_TIMEOUT", "900"))


def read_targets():
    """The rows of targets.txt: (name, how, where, ci)."""
    rows = []
    for line in (HERE / "targets.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, how, where, ci = line.split()
            rows.append({"name": name, "how": how, "where": where, "fast": ci == "fast"})
    return rows


def read_not_applicable():
    """not-applicable.txt: {target: [(playbook, why)]}."""
    found = {}
    for line in (HERE / "not-applicable.txt").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        target, playbook, why = line.split(None, 2)
        found.setdefault(target, []).append((playbook, why.strip()))
    return found


def prepare(source, scratch):
    """A scratch copy of test/integration with what ansible-test provides:
    the inventory, ansible.cfg, the stand-in setup roles and the shims."""
    integration = scratch / "integration"
    shutil.copytree(source / "targets", integration / "targets", symlinks=True)
    shutil.copytree(HERE / "roles", integration / "capstan-roles")
    # As ansible-test's own inventory: this machine, and its Python.
    (integration / "inventory").write_text(
        "[testgroup]\ntesthost ansible_connection=local "
        f"ansible_python_interpreter={sys.executable}\n"
    )
    (integration / "ansible.cfg").write_text(
        "[defaults]\nroles_path = capstan-roles:targets\n"
    )
    shims = scratch / "shims"
    shims.mkdir()
    # Each shim runs ../shim.sh.
    for shim, name in [(shims / n, f"shims/{n}") for n in ("ansible-playbook", "ansible")] + [
            (scratch / "shim.sh", "shim.sh")]:
        shutil.copy(HERE / name, shim)
        shim.chmod(0o755)
    return integration, shims


def gather_facts(target_dir):
    aliases = target_dir / "aliases"
    return not (aliases.exists() and "gather_facts/no" in aliases.read_text())


def start_container(name, scratch):
    """A target-host container of this target's own (tests/containers):
    returns the inventory line that reaches it over SSH as root."""
    key = scratch / "container-key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True)
    address = subprocess.run(
        [str(CONTAINERS / "start-target-host"), container_name(name), f"{key}.pub"],
        check=True, capture_output=True, text=True).stdout.strip()
    return (f"testhost ansible_host={address} ansible_user=root "
            f"ansible_ssh_private_key_file={key} "
            "ansible_python_interpreter=/usr/bin/python3")


def container_name(target):
    return f"capstan-target-{target.replace('_', '-')}"


def run_target(target, integration, shims, scratch, not_applicable):
    """Runs one target; returns its process result and the folders used."""
    name = target["name"]
    # The shim's list of this target's playbook runs that cannot apply.
    skipped = scratch / f"{name}.not-applicable"
    skipped.write_text("".join(f"{playbook}\t{why}\n"
                               for playbook, why in not_applicable.get(name, [])))
    home = scratch / f"{name}.home"
    target_dir = integration / "targets" / name
    # Under the playbook's folder: Capstan's lookups read the controller's
    # files there and nowhere else, and targets look up what they wrote.
    if target["how"] == "role":
        output_dir = integration / f"capstan-output-{name}"
    else:
        output_dir = target_dir / "capstan-output"
    remote_tmp = scratch / f"{name}.tmp"
    for folder in (home, output_dir, remote_tmp):
        folder.mkdir()
    config = scratch / f"{name}.config.yml"
    given = {"output_dir": str(output_dir)}
    given_inventory = ""
    ansible_cfg = integration / "ansible.cfg"
    inventory = "inventory"
    if target["where"] == "container":
        # The host is the container (its host keys new each start).
        inventory = f"inventory.{name}"
        (integration / inventory).write_text(
            f"[testgroup]\n{start_container(name, scratch)}\n")
        ansible_cfg = integration / f"ansible.{name}.cfg"
        ansible_cfg.write_text(
            "[defaults]\nroles_path = capstan-roles:targets\n"
            f"inventory = {inventory}\nhost_key_checking = False\n")
        # A runme.sh names its inventory: the shim points it here.
        given_inventory = str(integration / inventory)
        # A scratch folder every login of the container may write in (a
        # target's tasks may log in as another user, `remote_user`), as
        # ansible-test's local connection never has to.
        subprocess.run(["docker", "exec", container_name(name), "mkdir", "-m", "1777",
                        "/tmp/capstan-remote-tmp"], check=True)
        given["remote_tmp_dir"] = "/tmp/capstan-remote-tmp"
    else:
        given["remote_tmp_dir"] = str(remote_tmp)
    config.write_text(json.dumps(given))
    env = dict(os.environ)
    env.update(
        CAPSTAN_HOME=str(home),
        ANSIBLE_CONFIG=str(ansible_cfg),
        OUTPUT_DIR=str(output_dir),
        CAPSTAN_TARGET_CONFIG=str(config),
        CAPSTAN_TARGET_CALLS=str(scratch / f"{name}.calls"),
        CAPSTAN_TARGET_INVENTORY=given_inventory,
        CAPSTAN_TARGET_NOT_APPLICABLE=str(skipped),
        PATH=f"{shims}:{env['PATH']}",
    )
    if target["how"] == "role":
        play = integration / f"capstan-{name}.yml"
        facts = "true" if gather_facts(target_dir) else "false"
        play.write_text(
            f"- hosts: testhost\n  gather_facts: {facts}\n  roles:\n    - role: {name}\n"
        )
        command = [CAPSTAN, "playbook", "run", str(play), "-i", inventory,
                   "-e", f"@{config}"]
        cwd = integration
    else:
        command = ["bash", "runme.sh"]
        cwd = target_dir
    log = scratch / f"{name}.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = "timeout"
    return {"code": code, "seconds": time.monotonic() - started, "home": home, "log": log}


def stop_container(target):
    subprocess.run(["docker", "rm", "-f", container_name(target["name"])],
                   capture_output=True)


def capstan_json(home, *args):
    env = dict(os.environ, CAPSTAN_HOME=str(home))
    out = subprocess.run([CAPSTAN, *args, "--json"], env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)["data"]


def tally(home):
    """Counts over every playbook run recorded in one data folder."""
    counts = {"runs": 0, "runs_ok": 0, "tasks": 0, "asserts": 0, "asserts_failed": 0,
              "failed": 0, "first_failure": None}
    for row in sorted(capstan_json(home, "jobs", "list", "--limit", "1000"),
                      key=lambda r: r["id"]):
        detail = capstan_json(home, "jobs", "show", str(row["id"]))
        counts["runs"] += 1
        run_ok = all(r["status"] not in ("failed", "unreachable") for r in detail["results"])
        if run_ok:
            counts["runs_ok"] += 1
        stopped_by = None
        # A run that ended before its first task records none.
        for task in detail.get("tasks", []):
            status = task["status"]
            if status == "skipped":
                continue
            counts["tasks"] += 1
            failed = status in ("failed", "unreachable")
            if task["module"].rsplit(".", 1)[-1] == "assert":
                if failed:
                    counts["asserts_failed"] += 1
                else:
                    counts["asserts"] += 1
            if failed and not task["ignored"]:
                counts["failed"] += 1
                stopped_by = f"{task['task']}: {task['summary']}"
        # What stopped a failed run is its last failure (those before it
        # were answered by a rescue).
        if counts["first_failure"] is None and not run_ok and stopped_by:
            counts["first_failure"] = stopped_by
    return counts


def refusal(log):
    """The last line Capstan printed as an error, for a run refused before
    any job was recorded."""
    lines = log.read_text(errors="replace").splitlines()
    errors = [line for line in lines if line.startswith(("error:", "Error:", "capstan:"))]
    if errors:
        return errors[-1]
    tail = [line for line in lines if line.strip()]
    return tail[-1] if tail else "no output"


def calls(scratch, name):
    """The ansible-playbook calls a runme.sh made, with their exit codes."""
    path = scratch / f"{name}.calls"
    if not path.exists():
        return []
    return [line.split("\t") for line in path.read_text().splitlines() if line]


def shorten(text, width=110):
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def report(target, outcome, counts, scratch):
    passed = outcome["code"] == 0
    made = calls(scratch, target["name"])
    skipped = [f"{c[1]}: {c[2]}" for c in made if c[0] == "n/a" and len(c) > 2]
    if passed:
        verdict = "pass"
    elif outcome["code"] == "timeout":
        verdict = f"timed out after {TIMEOUT_SECONDS} s"
    elif counts["first_failure"]:
        verdict = counts["first_failure"]
    else:
        failing = [c for c in made if c[0] not in ("0", "n/a")]
        if target["how"] == "runme" and not failing and made:
            verdict = "runme.sh: " + refusal(outcome["log"])
        else:
            verdict = refusal(outcome["log"])
    return {
        "target": target["name"],
        "how": target["how"],
        "passed": passed,
        "runs": f"{counts['runs_ok']}/{counts['runs']}",
        "tasks": counts["tasks"],
        "asserts": counts["asserts"],
        "asserts_failed": counts["asserts_failed"],
        "seconds": round(outcome["seconds"], 1),
        "verdict": shorten(verdict),
        "not_applicable": skipped,
    }


def print_table(rows):
    print()
    print("| target | how | result | playbook runs ok | tasks run | assert tasks passed "
          "| assert tasks failed | first failure or refusal | not applicable |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        result = "pass" if r["passed"] else "FAIL"
        reason = "" if r["passed"] else r["verdict"].replace("|", "\\|")
        skipped = "; ".join(r["not_applicable"]).replace("|", "\\|")
        print(f"| {r['target']} | {r['how']} | {result} | {r['runs']} | {r['tasks']} "
              f"| {r['asserts']} | {r['asserts_failed']} | {reason} | {skipped} |")
    passed = sum(1 for r in rows if r["passed"])
    asserts = sum(r["asserts"] for r in rows)
    print(f"\n{passed} of {len(rows)} targets pass; {asserts} assert tasks passed in all.")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--fast", action="store_true", help="only the targets CI runs")
    parser.add_argument("--slow", action="store_true", help="only those it does not")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    targets = read_targets()
    unknown = set(args.names) - {t["name"] for t in targets}
    if unknown:
        sys.exit(f"ansible-targets: not in targets.txt: {', '.join(sorted(unknown))}")
    if args.names:
        targets = [t for t in targets if t["name"] in args.names]
    if args.fast:
        targets = [t for t in targets if t["fast"]]
    if args.slow:
        targets = [t for t in targets if not t["fast"]]
    scratch = Path(tempfile.mkdtemp(prefix="capstan-targets-"))
    integration, shims = prepare(args.source, scratch)
    not_applicable = read_not_applicable()
    rows = []
    for target in targets:
        try:
            outcome = run_target(target, integration, shims, scratch, not_applicable)
        finally:
            if target["where"] == "container" and not args.keep:
                stop_container(target)
        counts = tally(outcome["home"])
        row = report(target, outcome, counts, scratch)
        rows.append(row)
        print(f"ansible-targets: {row['target']}: {'pass' if row['passed'] else 'FAIL'} "
              f"({row['tasks']} tasks, {row['asserts']} asserts passed, {row['seconds']} s)"
              + ("" if row["passed"] else f" — {row['verdict']}"), file=sys.stderr)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if args.keep:
        print(f"ansible-targets: scratch folder kept: {scratch}", file=sys.stderr)
    else:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
