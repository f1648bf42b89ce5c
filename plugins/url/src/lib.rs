//! Web requests made from the host itself with its `curl`, as Ansible's
//! modules make them from the managed node: `get_url` (a file downloaded
//! into place, only when it differs) and `uri` (a request and its
//! answer). The plugin needs no network capability of its own.

mod curl;
mod get_url;
mod uri;

use capstan_plugin_sdk::{Action, Capability, Manifest, Plugin, register_plugin};

struct Url;

impl Plugin for Url {
    fn manifest() -> Manifest {
        Manifest::new(
            "url",
            env!("CARGO_PKG_VERSION"),
            "Web requests from the host with its curl: downloads and API calls.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::Local)
        .action(
            Action::new("get", "Download a file into place (Ansible's get_url).")
                .run(get_url::get_url),
        )
        .action(
            Action::new(
                "request",
                "Make a web request and return the answer (Ansible's uri).",
            )
            .run(uri::uri),
        )
    }
}

register_plugin!(Url);
