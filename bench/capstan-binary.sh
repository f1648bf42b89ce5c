# Sourced by the bench scripts: sets $capstan to the CLI they measure,
# the release build (built here), or CAPSTAN_BIN's to compare two builds.
if [ -n "${CAPSTAN_BIN:-}" ]; then
    capstan="$(realpath "$CAPSTAN_BIN")"
else
    cargo build --release -p capstan-cli >&2
    capstan="$(realpath "${CARGO_TARGET_DIR:-target}/release/capstan")"
fi
