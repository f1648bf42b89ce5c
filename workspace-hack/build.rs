//! Empty: the build dependencies are here for their features (see
//! `Cargo.toml`).

fn main() {}
