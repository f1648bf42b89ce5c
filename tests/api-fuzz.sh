#!/usr/bin/env bash
# Fuzzes every operation of `capstan serve`'s OpenAPI document with
# Schemathesis (PyPI), after openapi-spec-validator accepts the document:
# no 5xx, and every answer matches its schema. Bounded: N examples per
# operation (API_FUZZ_EXAMPLES, default 25). The service runs on a
# throwaway data folder with an admin token; the two streams (SSE, a
# job's log and its updates) have their own tests in server/tests/api.rs
# and are left out here. Left out too:
# Schemathesis' `positive_data_acceptance`, which expects every request its
# schema allows to succeed, where the API rightly refuses (400) what no
# schema can say: a plugin that is not installed, params that do not fit
# that action, a token name already taken.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
capstan="$(realpath "$target/debug/capstan")"
[ -x "$capstan" ] || cargo build -p capstan-cli

# The tools, in a virtualenv kept in the target folder (pinned versions).
venv="$target/api-fuzz-venv"
if [ ! -x "$venv/bin/st" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'schemathesis==4.32.*' 'openapi-spec-validator==0.9.*'
fi

home="$(mktemp -d)"
# Uploaded playbooks go beside the data folder, in "$home-work".
trap 'kill "${server:-0}" 2>/dev/null || true; wait "${server:-0}" 2>/dev/null || true; rm -rf "$home" "$home-work"' EXIT
export CAPSTAN_HOME="$home"
token="$("$capstan" tokens create fuzz --scope admin 2>/dev/null)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# Schemathesis checks that bad tokens are refused; a high limit keeps
# those refusals from blocking the rest of its requests.
"$capstan" serve --listen "127.0.0.1:$port" --auth-failures 1000000 2>"$home/serve.log" &
server=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$port/api/v1/openapi.json" -o "$home/openapi.json"
"$venv/bin/openapi-spec-validator" "$home/openapi.json"

"$venv/bin/st" run "$home/openapi.json" \
    --url "http://127.0.0.1:$port" \
    -H "Authorization: Bearer $token" \
    --checks all \
    --exclude-checks positive_data_acceptance \
    --exclude-path-regex '/(log|updates)$' \
    --max-examples "${API_FUZZ_EXAMPLES:-25}" \
    --generation-deterministic \
    --request-timeout 10
if grep -q "panicked" "$home/serve.log"; then
    echo "api-fuzz: the service panicked:" >&2
    cat "$home/serve.log" >&2
    exit 1
fi
