#!/usr/bin/env bash
# Capstan against ansible-playbook on the same playbook and the same kind
# of hosts, in one invocation: N real sshd processes on loopback, a
# 10-task playbook (bench/playbook/ten-tasks.yml), a first run and a
# repeat run each. Ansible gets its best settings: forks = N, pipelining,
# ControlPersist. Prints a table of wall times, the ratio, and peak memory.
#
#   bench/playbook.sh [HOSTS]          default 20
#   MEMORY_HOSTS=100 bench/playbook.sh also measures Capstan's peak memory at 100 hosts
#
# Nothing else should run beside it: a compile doubles every figure.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-20}
memory_hosts=${MEMORY_HOSTS:-100}

cargo build --release -q -p capstan-cli
capstan=$(realpath "${CARGO_TARGET_DIR:-target}")/release/capstan
ansible_bin=$(tests/ansible/setup-venv)
unset RUST_BACKTRACE

work=$(mktemp -d /tmp/capstan-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N "" -f "$work/client_key"
# The hosts' login user: a plain account whose shell reads no rc files,
# as on a server. (Logging in as a developer's own user would time their
# shell start-up too: here, root's .bashrc runs `pyenv init`, which
# serialises concurrent commands on a lock and slowed both tools 10x.)
user=capstan-bench
if ! id "$user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh "$user"
fi
usermod -p '*' "$user"   # no password, but not locked (sshd refuses locked accounts)
chmod 755 "$work"
chmod 644 "$work/client_key.pub"
mkdir -p "$work/capstan-out" "$work/capstan-cold-out" "$work/capstan-bare-out" "$work/ansible-out"
chown "$user" "$work/capstan-out" "$work/capstan-cold-out" "$work/capstan-bare-out" "$work/ansible-out"

# start_fleet COUNT FIRST_PORT: writes $work/inventory-COUNT.ini
start_fleet() {
    local count=$1 port=$2 inventory="$work/inventory-$1.ini"
    echo "[all]" > "$inventory"
    for i in $(seq 1 "$count"); do
        local d="$work/host-$count-$i" p=$((port + i))
        mkdir -p "$d"
        ssh-keygen -q -t ed25519 -N "" -f "$d/host_key"
        cat > "$d/sshd_config" <<CONF
Port $p
ListenAddress 127.0.0.1
HostKey $d/host_key
AuthorizedKeysFile $work/client_key.pub
PidFile $d/sshd.pid
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 200
MaxSessions 100
CONF
        /usr/sbin/sshd -D -e -f "$d/sshd_config" 2>"$d/sshd.log" &
        pids+=($!)
        echo "h$i ansible_host=127.0.0.1 ansible_port=$p ansible_user=$user ansible_ssh_private_key_file=$work/client_key" >> "$inventory"
    done
    for i in $(seq 1 "$count"); do
        until (exec 3<>"/dev/tcp/127.0.0.1/$((port + i))") 2>/dev/null; do sleep 0.05; done
    done
}

# timed NAME COMMAND...: runs it, prints "seconds peak_kb" into $work/NAME
timed() {
    local name=$1; shift
    /usr/bin/time -f "%e %M %U %S" -o "$work/$name" "$@" > "$work/$name.out" 2>&1 || {
        echo "$name failed:" >&2
        grep -E "fatal|FAILED|error" "$work/$name.out" | head -20 >&2
        tail -5 "$work/$name.out" >&2
        exit 1
    }
}

start_fleet "$hosts" 42000

cat > "$work/ansible.cfg" <<CFG
[defaults]
forks = $hosts
host_key_checking = False
interpreter_python = /usr/bin/python3
gathering = explicit
[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=120s -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no
control_path_dir = $work/cp
CFG

playbook=bench/playbook/ten-tasks.yml
export CAPSTAN_HOME="$work/capstan-home"
run_capstan() {
    timed "$1" "$capstan" playbook run "$playbook" -i "$work/inventory-$hosts.ini" \
        -e "bench_root=$work/${2:-capstan-out}" --trust-new-hosts
}
run_ansible() {
    ANSIBLE_CONFIG="$work/ansible.cfg" timed "$1" "$ansible_bin/ansible-playbook" "$playbook" \
        -i "$work/inventory-$hosts.ini" -e "bench_root=$work/ansible-out"
}

echo "bench: $hosts hosts x 10 tasks; first runs, then repeat runs" >&2
# The compiled-code cache of this run alone.
export CAPSTAN_CACHE="$work/capstan-cache"
# "bare": Capstan's very first use, with nothing prepared: a fresh data
# folder and an empty cache, so it also compiles its plugins.
CAPSTAN_CACHE="$work/capstan-bare-cache" CAPSTAN_HOME="$work/capstan-bare-home" \
    run_capstan capstan-bare capstan-bare-out
# "cold": a fresh data folder on a machine where Capstan was installed:
# `./dev run` prepared the bundled plugins (`capstan plugin prepare`).
CAPSTAN_HOME="$work/capstan-prepare-home" "$capstan" plugin prepare >/dev/null
CAPSTAN_HOME="$work/capstan-cold-home" run_capstan capstan-cold capstan-cold-out
# Capstan has been used before on this machine (plugins compiled, by a run
# on the local machine); the hosts are new to it.
printf '[all]\nwarm ansible_connection=local\n' > "$work/inventory-local.ini"
"$capstan" playbook run "$playbook" -i "$work/inventory-local.ini" -e "bench_root=$work/warm" >/dev/null
run_capstan capstan-first
run_ansible ansible-first
run_capstan capstan-repeat
run_ansible ansible-repeat

# All must have left the same files behind.
if ! diff -r "$work/capstan-out" "$work/ansible-out" >/dev/null \
    || ! diff -r "$work/capstan-cold-out" "$work/ansible-out" >/dev/null \
    || ! diff -r "$work/capstan-bare-out" "$work/ansible-out" >/dev/null; then
    echo "bench: Capstan and Ansible left different files:" >&2
    diff -r "$work/capstan-out" "$work/ansible-out" >&2 || true
    exit 1
fi

seconds() { cut -d' ' -f1 "$work/$1"; }
peak_mb() { echo "$(cut -d' ' -f2 "$work/$1") / 1024" | bc; }
recap() { grep -E "^h1 " "$work/$1.out" | sed 's/  */ /g'; }

printf '\n%-26s %12s %12s %10s %22s\n' "run" "ansible (s)" "capstan (s)" "ratio" "capstan peak memory"
row() {
    local a c
    a=$(seconds "$2"); c=$(seconds "$3")
    printf '%-26s %12s %12s %9.1fx %19s MB\n' "$1" "$a" "$c" "$(echo "$a / $c" | bc -l)" "$(peak_mb "$3")"
}
row "first" ansible-first capstan-first
row "repeat" ansible-repeat capstan-repeat
row "first, fresh home" ansible-first capstan-cold
row "first, nothing prepared" ansible-first capstan-bare
echo
echo "recap of h1, ansible first: $(recap ansible-first)"
echo "recap of h1, capstan first: $(recap capstan-first)"
echo "recap of h1, ansible repeat: $(recap ansible-repeat)"
echo "recap of h1, capstan repeat: $(recap capstan-repeat)"

if [ "$memory_hosts" -gt 0 ]; then
    start_fleet "$memory_hosts" 43000
    hosts=$memory_hosts
    export CAPSTAN_HOME="$work/capstan-home-$memory_hosts"
    run_capstan capstan-memory
    echo
    echo "capstan at $memory_hosts hosts: $(seconds capstan-memory) s, peak memory $(peak_mb capstan-memory) MB"
fi
if [ -n "${BENCH_CPU:-}" ]; then
    for f in "$work"/capstan-* "$work"/ansible-*; do
        case "$f" in *.out) continue ;; esac
        echo "$(basename "$f"): wall, peak KB, user s, system s = $(cat "$f")"
    done
fi
