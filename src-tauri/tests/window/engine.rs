//! The engine on a test's (or the benchmark's) data folder, opened as the
//! app opens it, to seed it and to check what the window did.

/// The engine on `home`, with the bundled plugins.
pub fn open(home: &std::path::Path) -> capstan_engine::Capstan {
    let bundled = capstan_bundled::PLUGINS
        .iter()
        .map(|p| capstan_engine::BundledPlugin {
            name: p.name,
            sha256: p.sha256,
            wasm: p.wasm,
        });
    capstan_engine::Capstan::open(capstan_engine::Home::at(home).unwrap())
        .unwrap()
        .with_bundled(bundled)
}
