#!/usr/bin/env bash
# Prints the desktop window's figures against an empty Tauri window run in
# the same invocation, on one Xvfb display: start to first interactive
# paint, memory (PSS of the app and its WebKit processes) idle with 100
# hosts and 1,000 jobs in the store, and a live job log of 10,000 lines
# (append-to-frame latency, frame gaps while it streams). Needs what
# `./dev setup` installs; nothing else should run beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
./dev build-ui >/dev/null
cargo build --release -p capstan-app -p capstan-bench-empty-window -p capstan-bench --bin window --bin capstan-app --bin capstan-bench-empty-window
exec "$target/release/window" "$target/release/capstan-app" "$target/release/capstan-bench-empty-window" "${1:-5}"
