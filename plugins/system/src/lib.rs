//! Machine settings as Ansible's modules keep them: `cron` jobs and
//! variables, the `hostname`, and kernel parameters (`sysctl`).

mod cron;
mod crontab;
mod hostname;
mod sysctl;

use capstan_plugin_sdk::{Action, Capability, Manifest, Plugin, register_plugin};

struct System;

impl Plugin for System {
    fn manifest() -> Manifest {
        Manifest::new(
            "system",
            env!("CARGO_PKG_VERSION"),
            "Machine settings: cron jobs, the host name and kernel parameters.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::RemoteFiles)
        .capability(Capability::Local)
        .action(
            Action::new(
                "cron",
                "A named cron job or variable in a crontab or /etc/cron.d (Ansible's cron).",
            )
            .run(cron::cron),
        )
        .action(
            Action::new("hostname", "The host's name (Ansible's hostname).")
                .run(hostname::hostname),
        )
        .action(
            Action::new(
                "sysctl",
                "A kernel parameter in a sysctl file, loaded (ansible.posix's sysctl).",
            )
            .run(sysctl::apply),
        )
    }
}

register_plugin!(System);
