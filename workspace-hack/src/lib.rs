//! Nothing to call: this crate exists for its `Cargo.toml`, which makes the
//! CLI's build turn on the same features as the window's in the crates
//! both depend on, so the window's build reuses the CLI's.
