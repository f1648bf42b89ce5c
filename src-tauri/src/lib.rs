//! What of the desktop shell can be tested without building the window:
//! the window's remembered size. (The binary is `main.rs`; it is compiled
//! once, never as a test harness, see `Cargo.toml`.)

pub mod window_state;
