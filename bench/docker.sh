#!/usr/bin/env bash
# Prints the Docker view figures (1,000 containers listed and summarised;
# event → view latency) against baselines measured in the same run. Needs
# the local Docker engine; creates and removes its own containers.
# Nothing else should run beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p capstan-bench --bin docker-views
exec "${CARGO_TARGET_DIR:-target}/release/docker-views" "${1:-1000}"
