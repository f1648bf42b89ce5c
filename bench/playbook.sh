#!/usr/bin/env bash
# Capstan against ansible-playbook, plain and with Mitogen
# (`mitogen_linear`), on the same playbooks and the same kind of hosts, in
# one invocation: N real sshd processes on loopback, and two playbooks: a
# 10-task provisioning run (bench/playbook/ten-tasks.yml) and a role-based
# deploy with a dependency, an include, a block and handlers, five hosts
# at a time (bench/playbook/roles-serial.yml). A first run and a repeat
# run of each with each tool. Ansible gets its best settings: forks = N,
# pipelining, ControlPersist. Prints a table of wall times, the ratios,
# and Capstan's peak memory; then Capstan's peak memory on a mixed
# playbook (facts, a template, a loop, handlers) at 100, 200 and 500 hosts.
#
#   bench/playbook.sh [HOSTS]                 default 20
#   MEMORY_HOSTS="100 200 500" bench/playbook.sh   the memory fleet sizes (0: none)
#   PLAYBOOKS="ten-tasks" bench/playbook.sh   only some of the playbooks
#   PLAYBOOKS=none MEMORY_HOSTS=100 bench/playbook.sh   the memory figure alone
#
# Nothing else should run beside it: a compile doubles every figure.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-20}
memory_hosts=${MEMORY_HOSTS:-100 200 500}
playbooks=${PLAYBOOKS:-ten-tasks roles-serial}
[ "$playbooks" = none ] && playbooks=
mitogen_version=0.3.54

cargo build --release -q -p capstan-cli
capstan=$(realpath "${CARGO_TARGET_DIR:-target}")/release/capstan
ansible_bin=$(tests/ansible/setup-venv)
if ! "$ansible_bin/python" -c 'import ansible_mitogen' 2>/dev/null; then
    echo "bench: installing mitogen $mitogen_version beside ansible-core" >&2
    "$ansible_bin/pip" install -q --disable-pip-version-check "mitogen==$mitogen_version" >&2
fi
mitogen_strategy=$("$ansible_bin/python" -c 'import ansible_mitogen, os; print(os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy"))')
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
mkdir -p "$work/out"
chown "$user" "$work/out"

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
        local tries=0
        until (exec 3<>"/dev/tcp/127.0.0.1/$((port + i))") 2>/dev/null; do
            tries=$((tries + 1))
            if [ "$tries" -gt 200 ]; then
                echo "bench: the sshd of host $i (port $((port + i))) did not start:" >&2
                cat "$work/host-$count-$i/sshd.log" >&2
                exit 1
            fi
            sleep 0.05
        done
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

# Ports below the kernel's ephemeral range (32768 and up), which the
# many client connections of a run would otherwise hold.
start_fleet "$hosts" 12000

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
sed "s|^\\[defaults\\]|[defaults]\\nstrategy_plugins = $mitogen_strategy\\nstrategy = mitogen_linear|" \
    "$work/ansible.cfg" > "$work/mitogen.cfg"

# out NAME: a folder the hosts' user may write, for one run's files.
out() {
    mkdir -p "$work/out/$1"
    chown "$user" "$work/out/$1"
    echo "$work/out/$1"
}
# run_capstan NAME PLAYBOOK [OUT]: a Capstan run into out/OUT (or NAME).
run_capstan() {
    local dir
    dir=$(out "${3:-$1}")
    timed "$1" "$capstan" playbook run "bench/playbook/$2.yml" -i "$work/inventory-$hosts.ini" \
        -e "bench_root=$dir" --trust-new-hosts
}
# run_ansible NAME PLAYBOOK CONFIG OUT: an ansible-playbook run (plain or
# Mitogen's, by its config) into out/OUT.
run_ansible() {
    local dir
    dir=$(out "$4")
    ANSIBLE_CONFIG="$work/$3" timed "$1" "$ansible_bin/ansible-playbook" "bench/playbook/$2.yml" \
        -i "$work/inventory-$hosts.ini" -e "bench_root=$dir"
}

# The compiled-code cache of this run alone.
export CAPSTAN_CACHE="$work/capstan-cache"
export CAPSTAN_HOME="$work/capstan-home"
# Capstan has been used before on this machine (plugins compiled, by a
# run on the local machine); the hosts are new to it.
printf '[all]\nwarm ansible_connection=local\n' > "$work/inventory-local.ini"
"$capstan" playbook run bench/playbook/ten-tasks.yml -i "$work/inventory-local.ini" -e "bench_root=$work/warm" >/dev/null
CAPSTAN_HOME="$work/capstan-prepare-home" "$capstan" plugin prepare >/dev/null

seconds() { cut -d' ' -f1 "$work/$1"; }
peak_mb() { echo "$(cut -d' ' -f2 "$work/$1") / 1024" | bc; }
recap() { grep -E "^h1 " "$work/$1.out" | sed 's/  */ /g; s/ *$//'; }
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.1f'; }

for pb in $playbooks; do
    echo "bench: $hosts hosts, $pb; first runs, then repeat runs" >&2
    # "bare": Capstan's very first use, with nothing prepared: a fresh
    # data folder and an empty cache, so it also compiles its plugins.
    CAPSTAN_CACHE="$work/capstan-bare-cache-$pb" CAPSTAN_HOME="$work/capstan-bare-home-$pb" \
        run_capstan "$pb-capstan-bare" "$pb"
    # "fresh home": a fresh data folder on a machine where Capstan was
    # installed (`./dev run` prepared the bundled plugins).
    CAPSTAN_HOME="$work/capstan-cold-home-$pb" run_capstan "$pb-capstan-cold" "$pb"
    run_capstan "$pb-capstan-first" "$pb" "$pb-capstan"
    run_ansible "$pb-ansible-first" "$pb" ansible.cfg "$pb-ansible"
    run_ansible "$pb-mitogen-first" "$pb" mitogen.cfg "$pb-mitogen"
    run_capstan "$pb-capstan-repeat" "$pb" "$pb-capstan"
    run_ansible "$pb-ansible-repeat" "$pb" ansible.cfg "$pb-ansible"
    run_ansible "$pb-mitogen-repeat" "$pb" mitogen.cfg "$pb-mitogen"

    # All must have left the same files behind.
    for other in capstan-bare capstan-cold capstan mitogen; do
        if ! diff -r "$work/out/$pb-$other" "$work/out/$pb-ansible" >/dev/null; then
            echo "bench: $pb: $other and Ansible left different files:" >&2
            diff -r "$work/out/$pb-$other" "$work/out/$pb-ansible" >&2 || true
            exit 1
        fi
    done
    for tool in ansible mitogen capstan; do
        for run in first repeat; do
            if [ "$(recap "$pb-$tool-$run" | cut -d: -f2)" != "$(recap "$pb-ansible-$run" | cut -d: -f2)" ]; then
                echo "bench: $pb: $tool's $run recap differs from Ansible's:" >&2
                echo "  $(recap "$pb-$tool-$run")" >&2
                echo "  $(recap "$pb-ansible-$run")" >&2
                exit 1
            fi
        done
    done

    echo
    echo "$pb, $hosts hosts (recap of h1 first: $(recap "$pb-capstan-first" | cut -d: -f2 | xargs))"
    printf '%-24s %9s %9s %9s %11s %11s %12s\n' "run" "ansible" "mitogen" "capstan" "vs ansible" "vs mitogen" "capstan peak"
    row() {
        local a m c
        a=$(seconds "$pb-ansible-$2"); m=$(seconds "$pb-mitogen-$2"); c=$(seconds "$pb-capstan-$3")
        printf '%-24s %8ss %8ss %8ss %10sx %10sx %9s MB\n' "$1" "$a" "$m" "$c" \
            "$(ratio "$a" "$c")" "$(ratio "$m" "$c")" "$(peak_mb "$pb-capstan-$3")"
    }
    row "first" first first
    row "repeat" repeat repeat
    row "first, fresh home" first cold
    row "first, nothing prepared" first bare
done

if [ "$memory_hosts" != 0 ]; then
    echo
    echo "capstan on bench/playbook/mixed.yml (facts, template, loop, handlers), peak memory:"
    printf '%-8s %10s %12s %12s %14s\n' "hosts" "first (s)" "first (MB)" "repeat (MB)" "MB per host"
    port=13000
    for n in $memory_hosts; do
        start_fleet "$n" "$port"
        port=$((port + n + 10))
        saved_hosts=$hosts
        hosts=$n
        CAPSTAN_HOME="$work/capstan-memory-home-$n" run_capstan "memory-first-$n" mixed "memory-$n"
        CAPSTAN_HOME="$work/capstan-memory-home-$n" run_capstan "memory-repeat-$n" mixed "memory-$n"
        hosts=$saved_hosts
        first=$(peak_mb "memory-first-$n"); repeat=$(peak_mb "memory-repeat-$n")
        printf '%-8s %10s %12s %12s %14s\n' "$n" "$(seconds "memory-first-$n")" "$first" "$repeat" \
            "$(echo "$first / $n" | bc -l | xargs printf '%.2f')"
        # The next fleet needs the ports and processes this one holds.
        for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
        pids=()
    done
fi
if [ -n "${BENCH_CPU:-}" ]; then
    for f in "$work"/*-capstan-* "$work"/*-ansible-* "$work"/*-mitogen-*; do
        case "$f" in *.out) continue ;; esac
        echo "$(basename "$f"): wall, peak KB, user s, system s = $(cat "$f")"
    done
fi
