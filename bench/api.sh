#!/usr/bin/env bash
# Prints `capstan serve`'s figures (issue 13):
#   - GET /api/v1/jobs?limit=50 over a store of 100,000 jobs: p99 latency
#     and requests/s from wrk (2 threads, 32 connections, 127.0.0.1),
#     beside GET /healthz on the same service as the baseline (the same
#     HTTP stack, auth-free and with no store read), wrk's own CPU share
#     (it runs on the same 2 cores), and the service's CPU time per
#     request (steadier than either between runs on a noisy machine);
#   - the service's resident memory idle after start and after the load.
# Nothing else should run beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/capstan-binary.sh
command -v wrk >/dev/null || { echo "bench/api.sh needs wrk (apt-get install wrk)" >&2; exit 1; }

JOBS="${JOBS:-100000}"
DURATION="${DURATION:-10s}"
home="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$home"' EXIT
export CAPSTAN_HOME="$home"

# The store, with its schema, then 100,000 finished jobs of one result
# each, written straight into SQLite (as 100,000 runs would leave them).
"$capstan" jobs list >/dev/null
python3 - "$home/capstan.db" "$JOBS" <<'PY'
import sqlite3, sys, json
db, count = sys.argv[1], int(sys.argv[2])
conn = sqlite3.connect(db)
request = json.dumps({"kind": "action", "plugin": "command", "action": "exec",
                      "params": {"cmd": "uptime"}, "targets": ["web-1"], "check": False, "diff": False})
with conn:
    conn.executemany(
        "INSERT INTO jobs (id, kind, plugin, action, params_json, targets, check_mode, state, owner_pid, "
        "started_at, finished_at, request_json, launched_by) VALUES (?, 'action', 'command', 'exec', "
        "'{\"cmd\":\"uptime\"}', '[\"web-1\"]', 0, 'finished', 1, ?, ?, ?, 'user:bench')",
        ((i, 1_700_000_000_000 + i * 1000, 1_700_000_000_000 + i * 1000 + 420, request) for i in range(1, count + 1)))
    conn.executemany(
        "INSERT INTO job_results (job_id, target, status, summary, duration_ms) VALUES (?, 'web-1', 'changed', "
        "' 10:00:00 up 12 days,  3 users,  load average: 0.08, 0.03, 0.01', 420)",
        ((i,) for i in range(1, count + 1)))
PY
token="$("$capstan" tokens create bench --scope read 2>/dev/null)"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$capstan" serve --listen "127.0.0.1:$port" 2>/dev/null &
server=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
sleep 2
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
idle_rss=$(rss_kb)

# The service's CPU time so far, in clock ticks (user + system).
service_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }

# One wrk run: prints "req/s p99_ms wrk_cpu_percent service_cpu_us_per_request".
load() {
    local url=$1 out start_ticks
    out="$(mktemp)"
    start_ticks=$(service_ticks)
    /usr/bin/time -f '%U %S %e' -o "$out.time" \
        wrk -t2 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$url" >"$out"
    echo "$(( $(service_ticks) - start_ticks )) $(getconf CLK_TCK)" >"$out.ticks"
    python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
user, system, wall = map(float, open(sys.argv[1] + ".time").read().split())
ticks, per_second = map(int, open(sys.argv[1] + ".ticks").read().split())
total = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
value, unit = float(p99.group(1)), p99.group(2)
ms = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit(f"wrk saw {errors.group(1)} failed responses:\n{text}")
print(f"{rps:.0f} {ms:.2f} {100 * (user + system) / wall / 2:.0f} {1e6 * ticks / per_second / total:.0f}")
PY
    rm -f "$out" "$out.time" "$out.ticks"
}

# A first page read warms the store's caches; then each figure.
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/jobs?limit=50" >/dev/null
read -r jobs_rps jobs_p99 jobs_wrk jobs_cpu <<<"$(load "http://127.0.0.1:$port/api/v1/jobs?limit=50")"
read -r base_rps base_p99 base_wrk base_cpu <<<"$(load "http://127.0.0.1:$port/healthz")"
loaded_rss=$(rss_kb)

printf '%-52s %10s %8s %14s %18s\n' "measure ($JOBS jobs, wrk -t2 -c32 -d$DURATION)" "req/s" "p99 ms" "wrk CPU share" "service CPU/req"
printf '%-52s %10s %8s %13s%% %15s us\n' "GET /api/v1/jobs?limit=50" "$jobs_rps" "$jobs_p99" "$jobs_wrk" "$jobs_cpu"
printf '%-52s %10s %8s %13s%% %15s us\n' "GET /healthz (baseline: no token, no store)" "$base_rps" "$base_p99" "$base_wrk" "$base_cpu"
python3 -c "print(f'{\"jobs page / healthz throughput\":<52} {$jobs_rps / $base_rps:11.2f}x')"
printf '%-52s %9.1f MB\n' "service RSS, idle after start" "$(echo "$idle_rss / 1024" | bc -l)"
printf '%-52s %9.1f MB\n' "service RSS, after the load" "$(echo "$loaded_rss / 1024" | bc -l)"
