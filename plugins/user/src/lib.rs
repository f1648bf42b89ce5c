//! Ansible's `user` and `group` modules: accounts and groups made to match,
//! with `useradd`/`usermod`/`userdel` and `groupadd`/`groupmod`/`groupdel`
//! on the target — idempotent, with check mode and a diff of the fields —
//! `authorized_key`, a user's SSH keys, and `getent`, lookups in the
//! host's name databases.

mod account;
mod authorized_key;
mod getent;
mod group;
mod shadow;
mod ssh_key;

use capstan_plugin_sdk::{Action, Capability, Manifest, Plugin, register_plugin};

struct User;

impl Plugin for User {
    fn manifest() -> Manifest {
        Manifest::new(
            "user",
            env!("CARGO_PKG_VERSION"),
            "Manage user accounts and groups.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::RemoteFiles)
        .capability(Capability::Local)
        .action(
            Action::new(
                "user",
                "Make a user account present (with these fields) or absent.",
            )
            .run(account::user),
        )
        .action(
            Action::new("group", "Make a group present (with this gid) or absent.")
                .run(group::group),
        )
        .action(
            Action::new(
                "authorized_key",
                "Make an SSH public key present in (or absent from) a user's authorized_keys.",
            )
            .run(authorized_key::authorized_key),
        )
        .action(
            Action::new(
                "getent",
                "Entries of a name database as facts (Ansible's getent).",
            )
            .run(getent::getent),
        )
    }
}

register_plugin!(User);
