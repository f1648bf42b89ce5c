#!/usr/bin/env bash
# Prints the webhook → job started latency of `capstan serve` (issue 13:
# p95 < 50 ms): N signed deliveries (HMAC-SHA256, each its own delivery
# id) to a hook that runs `debug msg`, one after another on 127.0.0.1,
# each timed from sending to the 202 that comes once the job is recorded;
# beside N GET /healthz on the same service as the baseline (the same
# HTTP stack, no signature, no store write).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/capstan-binary.sh
N="${N:-300}"
home="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; wait "${server:-0}" 2>/dev/null || true; rm -rf "$home" "$home-work"' EXIT
export CAPSTAN_HOME="$home"
echo -n "bench-hook-key" | "$capstan" secrets set hook_key >/dev/null
"$capstan" webhooks add bench --secret hook_key -- run debug msg -p msg=hooked >/dev/null 2>&1
"$capstan" plugin prepare >/dev/null 2>&1 || true
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$capstan" serve --listen "127.0.0.1:$port" 2>"$home/serve.log" &
server=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
python3 - "$port" "$N" <<'PY'
import hashlib, hmac, http.client, json, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])

def timed(method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    elapsed = (time.perf_counter() - start) * 1000
    conn.close()
    return response.status, elapsed

def summary(name, times):
    times = sorted(times)
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"{name:<34} p50 {pick(0.50):6.2f} ms  p95 {pick(0.95):6.2f} ms  max {times[-1]:6.2f} ms  (n={len(times)})")
    return pick(0.95)

# Warm both paths once (the first plugin load is not a delivery's cost).
timed("GET", "/healthz")
deliveries, baseline = [], []
for i in range(n + 1):
    body = json.dumps({"ref": "refs/heads/main", "after": f"{i:040x}"}).encode()
    signature = "sha256=" + hmac.new(b"bench-hook-key", body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": signature, "X-GitHub-Delivery": f"bench-{i}",
               "X-GitHub-Event": "push", "Content-Type": "application/json"}
    status, ms = timed("POST", "/api/v1/hooks/bench", body, headers)
    assert status == 202, status
    if i > 0:
        deliveries.append(ms)
    status, ms = timed("GET", "/healthz")
    baseline.append(ms)
hook = summary("webhook -> job started (202)", deliveries)
base = summary("baseline GET /healthz", baseline)
print(f"webhook p95 / baseline p95: {hook / base:.1f}x; goal p95 < 50 ms: {'met' if hook < 50 else 'NOT met'}")
PY
