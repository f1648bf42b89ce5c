#!/usr/bin/env bash
# Prints the plugin host figures: builds in release, then runs the
# benchmark with the capstan binary for the whole-process comparison.
# Nothing else should run beside it (a compile doubles the figures).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p capstan-cli -p capstan-bench
unset RUST_BACKTRACE
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/plugin-host" "$target/release/capstan"
