//! Compiles Capstan plugin crates to `wasm32-wasip2` components from a build
//! script, so that no test or binary depends on someone having built the
//! plugins by hand.
//!
//! ```no_run
//! // build.rs of a crate that embeds plugins
//! let built = capstan_plugin_builder::build(&["../plugins/command"]);
//! for plugin in &built {
//!     println!("{} -> {}", plugin.crate_name, plugin.wasm.display());
//! }
//! ```
//!
//! The plugins are built once, in the `plugin` profile (release, size
//! optimised), by one cargo into a target folder of their own beside the
//! caller's, so the nested cargo never waits on the outer one's lock. Each
//! plugin crate declares `crate-type = ["cdylib"]`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every plugin is compiled for.
pub const PLUGIN_TARGET: &str = "wasm32-wasip2";
/// The cargo profile plugins are compiled with (defined in the workspace).
pub const PLUGIN_PROFILE: &str = "plugin";

/// One plugin crate compiled to a component.
#[derive(Debug, Clone)]
pub struct BuiltPlugin {
    /// The crate's package name, e.g. `capstan-plugin-command`.
    pub crate_name: String,
    /// Where the component was written.
    pub wasm: PathBuf,
}

/// Builds the plugin crates in `crate_dirs` (relative to the calling crate's
/// manifest folder) and returns where each component landed. Panics with a
/// message that says what to do when the build fails: it is meant for build
/// scripts, where a panic is the error report.
pub fn build(crate_dirs: &[&str]) -> Vec<BuiltPlugin> {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("run from a build script"));
    let dirs: Vec<PathBuf> = crate_dirs.iter().map(|d| manifest_dir.join(d)).collect();
    let names: Vec<String> = dirs.iter().map(|d| package_name(d)).collect();
    let target_dir = plugin_target_dir();

    // `cargo rustc --crate-type cdylib` makes the component while the
    // crates stay plain libraries on the host, where their unit tests run
    // (a host cdylib cannot even link: export names contain ':').
    if dirs.is_empty() {
        return Vec::new();
    }
    // One cargo for all of them: the crates compile side by side on every
    // core (each links with LTO and one codegen unit, so one at a time
    // would leave the other cores idle). Each crate says it is a cdylib.
    let mut cargo = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .args([
            "build",
            "--lib",
            "--target",
            PLUGIN_TARGET,
            "--profile",
            PLUGIN_PROFILE,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--manifest-path")
        .arg(dirs[0].join("Cargo.toml"));
    for name in &names {
        cargo.arg("-p").arg(name);
    }
    scrub_outer_build_env(&mut cargo);
    let status = cargo
        .status()
        .expect("could not start cargo to build the plugins");
    if !status.success() {
        panic!(
            "building the plugins {} for {PLUGIN_TARGET} failed ({status}): see the \
             compiler's messages above. If it says the target is missing, run \
             `rustup target add {PLUGIN_TARGET}` (or ../shared/toolchain/install-wasm-targets).",
            names.join(", ")
        );
    }

    for dir in &dirs {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    let sdk = sdk_dir(&manifest_dir);
    println!("cargo:rerun-if-changed={}", sdk.join("src").display());
    println!("cargo:rerun-if-changed={}", sdk.join("wit").display());

    names
        .into_iter()
        .map(|crate_name| {
            let wasm = target_dir
                .join(PLUGIN_TARGET)
                .join(PLUGIN_PROFILE)
                .join(format!("{}.wasm", crate_name.replace('-', "_")));
            assert!(
                wasm.is_file(),
                "cargo built {crate_name} but left no {}",
                wasm.display()
            );
            BuiltPlugin { crate_name, wasm }
        })
        .collect()
}

/// Removes the outer build's settings, which are for the host, not for
/// wasm guests.
fn scrub_outer_build_env(cargo: &mut Command) {
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
        "__CARGO_FIX_PLZ",
    ] {
        cargo.env_remove(var);
    }
    for (key, _) in env::vars() {
        if key.starts_with("CARGO_PROFILE_") || key.starts_with("CARGO_CFG_") {
            cargo.env_remove(key);
        }
    }
}

/// Writes `$OUT_DIR/plugins.rs` with one `pub const` path per built plugin,
/// named after the crate with `prefix` removed (`capstan-test-loop` with
/// prefix `capstan-test-` becomes `LOOP`).
pub fn write_path_constants(built: &[BuiltPlugin], prefix: &str) {
    let mut code = String::new();
    for plugin in built {
        let ident = plugin
            .crate_name
            .trim_start_matches(prefix)
            .replace('-', "_")
            .to_uppercase();
        code.push_str(&format!(
            "/// The compiled `{}` component.\npub const {ident}: &str = {:?};\n",
            plugin.crate_name,
            plugin.wasm.display().to_string()
        ));
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("run from a build script"));
    fs::write(out.join("plugins.rs"), code).expect("write plugins.rs");
}

/// The plugins' own target folder: beside the outer build's, so `cargo
/// clean` removes it too and it is shared by every crate that builds
/// plugins, in every profile and for every target the outer build is for
/// (a plugin is the same wasm32-wasip2 module whether it is embedded in a
/// Linux build or checked for Windows).
fn plugin_target_dir() -> PathBuf {
    if let Ok(dir) = env::var("CAPSTAN_PLUGIN_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("run from a build script"));
    shared_plugin_dir(&out, env::var("TARGET").ok().as_deref())
}

/// `<target>/wasm-plugins` for a build script's `OUT_DIR`, which is
/// `<target>/[<triple>/]<profile>/build/<pkg>-<hash>/out` (the triple's
/// folder only in a build for an explicit `--target`).
fn shared_plugin_dir(out_dir: &Path, triple: Option<&str>) -> PathBuf {
    let build = out_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .expect("OUT_DIR under a build folder");
    let mut target = build
        .parent()
        .and_then(Path::parent)
        .expect("target folder above the profile folder");
    if let Some(triple) = triple
        && target.file_name().is_some_and(|n| n == triple)
    {
        target = target.parent().expect("target folder above the triple's");
    }
    target.join("wasm-plugins")
}

/// Reads `name = "..."` from the `[package]` table of a crate's manifest.
fn package_name(crate_dir: &Path) -> String {
    let manifest = crate_dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("read {}: {e}", manifest.display()));
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package
            && let Some(rest) = line.strip_prefix("name")
            && let Some(value) = rest.trim_start().strip_prefix('=')
        {
            return value.trim().trim_matches('"').to_string();
        }
    }
    panic!("{} has no [package] name", manifest.display());
}

/// The SDK whose changes rebuild the plugins: the `plugin-sdk` folder of
/// the checkout the build script runs in (found from its crate upward),
/// not the one this builder was compiled in — a target folder shared by
/// two checkouts keeps one compiled builder for both.
fn sdk_dir(manifest_dir: &Path) -> PathBuf {
    manifest_dir
        .ancestors()
        .map(|dir| dir.join("plugin-sdk"))
        .find(|sdk| sdk.join("wit").is_dir() && sdk.join("src").is_dir())
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("sdk folder")
                .to_path_buf()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_and_target_shares_one_plugin_folder() {
        let out = |rest: &str| PathBuf::from(format!("/t/{rest}/build/capstan-bundled-0123/out"));
        let shared = PathBuf::from("/t/wasm-plugins");
        let host = "x86_64-unknown-linux-gnu";
        assert_eq!(shared_plugin_dir(&out("debug"), Some(host)), shared);
        assert_eq!(shared_plugin_dir(&out("release"), Some(host)), shared);
        let windows = "x86_64-pc-windows-gnu";
        assert_eq!(
            shared_plugin_dir(&out(&format!("{windows}/debug")), Some(windows)),
            shared
        );
        // Only the build's own triple is stepped over.
        assert_eq!(
            shared_plugin_dir(&out(&format!("{host}/debug")), Some(windows)),
            PathBuf::from(format!("/t/{host}/wasm-plugins"))
        );
    }
}
