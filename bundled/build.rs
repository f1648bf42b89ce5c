//! Compiles the first-party plugins so the binary can embed them.

fn main() {
    let built = capstan_plugin_builder::build(&[
        "../plugins/apt",
        "../plugins/assert",
        "../plugins/command",
        "../plugins/copy",
        "../plugins/debug",
        "../plugins/docker",
        "../plugins/file",
        "../plugins/git",
        "../plugins/lineinfile",
        "../plugins/service",
        "../plugins/setup",
        "../plugins/user",
    ]);
    let mut code = String::from(
        "/// Every first-party plugin, compiled.\npub static PLUGINS: &[BundledPlugin] = &[\n",
    );
    for plugin in &built {
        let name = plugin.crate_name.trim_start_matches("capstan-plugin-");
        code.push_str(&format!(
            "    BundledPlugin {{ name: {name:?}, wasm: include_bytes!({:?}) }},\n",
            plugin.wasm.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("bundled.rs"), code).unwrap();
}
