//! The first-party plugins, compiled to components at build time and
//! embedded, so `capstan` can install them on first use with no files
//! beside the binary.

/// A plugin shipped inside the binary.
#[derive(Debug)]
pub struct BundledPlugin {
    /// The plugin's name, as it appears in its manifest (`command`, `debug`).
    pub name: &'static str,
    /// SHA-256 of the component, as lower-case hex (computed at build).
    pub sha256: &'static str,
    /// The component's bytes.
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The bundled plugin called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static BundledPlugin> {
    PLUGINS.iter().find(|p| p.name == name)
}
