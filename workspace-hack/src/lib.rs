//! Nothing to call: this crate exists for its `Cargo.toml`, which makes the
//! CLI's build and the window's turn on the same features in the crates
//! both depend on, so the window's build reuses the CLI's
//! (`tests/features_match.rs` checks it).
