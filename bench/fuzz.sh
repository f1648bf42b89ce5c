#!/usr/bin/env bash
# Runs the parsers' property tests far longer than `./dev test` does (256
# cases each there): YAML, playbooks, INI and YAML inventories, `k=v`
# arguments, templates, parameter schemas and Compose files.
#
#   bench/fuzz.sh [CASES]     (default 20000 per property)
#
# Prints how many cases ran per property and how long each suite took.
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-20000}"
export PROPTEST_CASES="$cases"
unset RUST_BACKTRACE
run() {
    local started=$SECONDS
    cargo test "$@" 2>&1 | grep -E '^test |test result' || return 1
    echo "fuzz: $* — $cases cases per property in $((SECONDS - started)) s"
}
cargo test --no-run -p capstan-yaml -p capstan-engine -p capstan-plugin-docker >/dev/null 2>&1
run -p capstan-yaml --test fuzz
run -p capstan-engine --test all fuzz::
run -p capstan-engine --lib schema::tests::any_
run -p capstan-plugin-docker --lib any_compose
