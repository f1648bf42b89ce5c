#!/usr/bin/env bash
# Prints the "lighter and quicker" table: each figure beside its goal, every
# one a ratio (or a difference) against a baseline measured in the same
# invocation. Runs bench/run.sh, bench/window.sh and bench/playbook.sh one
# after another (about 10 minutes once built; the playbook bench installs
# ansible-core into its own venv the first time), keeps their whole output
# in a folder it names, and needs what `./dev setup` installs. Nothing else
# should run beside it. `./dev run`'s cold figure is not here: it needs a
# new machine, and `./dev run` prints its own step times.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/capstan-figures.XXXXXX)
echo "figures: full outputs in $out" >&2

echo "figures: plugin host (bench/run.sh)..." >&2
bench/run.sh >"$out/run.txt"
echo "figures: window (bench/window.sh)..." >&2
bench/window.sh >"$out/window.txt"
echo "figures: first playbook, 20 hosts (bench/playbook.sh)..." >&2
MEMORY_HOSTS=0 bench/playbook.sh 20 >"$out/playbook.txt"

# The first match of an extended regex's group 1 in a file, or "?".
pick() {
    local file=$1 pattern=$2 found
    found=$(sed -nE "s/$pattern/\\1/p" "$out/$file" | head -n1)
    echo "${found:-?}"
}

pss=$(pick window.txt '.*memory .*ratio ([0-9.]+x).*')
start=$(pick window.txt '^ +ratio ([0-9.]+x).*')
fresh=$(pick playbook.txt '^first, fresh home +[0-9.]+ +[0-9.]+ +([0-9.]+x).*')
bare=$(pick playbook.txt '^first, nothing prepared +[0-9.]+ +[0-9.]+ +([0-9.]+x).*')
process=$(pick run.txt '^whole process, p50: .*: ([0-9.]+ ?[mµu]?s) more.*')
pooled=$(pick run.txt '^\| `debug msg` through the engine, instantiate \+ call \(pooling\) \|.*\| ([0-9.]+x) \|$')

printf '\n| %-62s | %-14s | %-9s |\n' "measure" "now" "goal"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..64})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..11})"
row() { printf '| %-62s | %-14s | %-9s |\n' "$1" "$2" "$3"; }
row "window PSS, 5 s idle, 100 hosts + 1,000 jobs (vs empty Tauri)" "$pss" "<= 1.10x"
row "window start -> interactive paint (vs empty Tauri)" "$start" "<= 1.30x"
row "first playbook, fresh data folder, 20 hosts (x Ansible)" "$fresh faster" ">= 25x"
row "  the same with nothing prepared (x Ansible)" "$bare faster" "-"
row "whole \`capstan run debug msg\`, warm (over /bin/true)" "+$process" "< 5 ms"
row "plugin instantiate + call, pooled (vs bare wit-bindgen guest)" "$pooled" "<= 1.50x"
