//! Ansible's `find`, a plugin of its own: it carries a regular
//! expression engine, which the `file` plugin (on nearly every host of
//! nearly every run) is better without.

mod find;

use capstan_plugin_sdk::{Action, Capability, Manifest, Plugin, register_plugin};

struct Find;

impl Plugin for Find {
    fn manifest() -> Manifest {
        Manifest::new(
            "find",
            env!("CARGO_PKG_VERSION"),
            "Find files under folders by name, type, age, size and content.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::Local)
        .action(
            Action::new(
                "find",
                "Files under folders chosen by name, type, age, size and content (Ansible's \
                 find); never changes anything.",
            )
            .run(find::find),
        )
    }
}

register_plugin!(Find);
