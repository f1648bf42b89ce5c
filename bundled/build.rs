//! Compiles the first-party plugins so the binary can embed them.

use sha2::Digest;

fn main() {
    let built = capstan_plugin_builder::build(&[
        "../plugins/apt",
        "../plugins/assert",
        "../plugins/command",
        "../plugins/copy",
        "../plugins/debug",
        "../plugins/docker",
        "../plugins/file",
        "../plugins/find",
        "../plugins/git",
        "../plugins/lineinfile",
        "../plugins/notify",
        "../plugins/service",
        "../plugins/setup",
        "../plugins/system",
        "../plugins/url",
        "../plugins/user",
        "../plugins/wait_for",
    ]);
    let mut code = String::from(
        "/// Every first-party plugin, compiled.\npub static PLUGINS: &[BundledPlugin] = &[\n",
    );
    for plugin in &built {
        let name = plugin.crate_name.trim_start_matches("capstan-plugin-");
        // Hashed here, once, so no run of `capstan` hashes its own plugins.
        let bytes = std::fs::read(&plugin.wasm).expect("the plugin just built");
        let sha256: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        code.push_str(&format!(
            "    BundledPlugin {{ name: {name:?}, sha256: {sha256:?}, wasm: include_bytes!({:?}) }},\n",
            plugin.wasm.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("bundled.rs"), code).unwrap();
}
