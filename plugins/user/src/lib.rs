//! Ansible's `user` and `group` modules: accounts and groups made to match,
//! with `useradd`/`usermod`/`userdel` and `groupadd`/`groupmod`/`groupdel`
//! on the target — idempotent, with check mode and a diff of the fields.

mod account;

use capstan_plugin_sdk::{
    Action, Context, Error, Manifest, Outcome, Plugin, Request, register_plugin,
};

struct User;

impl Plugin for User {
    fn manifest() -> Manifest {
        Manifest::new("user", env!("CARGO_PKG_VERSION"), "Manage user accounts and groups.")
            .capability("remote.exec")
            .capability("local")
            .action(Action::new("user", "Make a user account present (with these fields) or absent.").params_schema(serde_json::json!({
                "type": "object",
                "properties": {
                    "name": { "type": "string", "description": "Login name." },
                    "state": { "enum": ["present", "absent"], "description": "Default: present." },
                    "uid": { "type": "integer", "description": "User id." },
                    "group": { "type": "string", "description": "Primary group (name or number)." },
                    "groups": { "type": "array", "items": { "type": "string" }, "description": "Supplementary groups." },
                    "append": { "type": "boolean", "description": "Add to `groups` without leaving others (default false)." },
                    "shell": { "type": "string", "description": "Login shell." },
                    "home": { "type": "string", "description": "Home folder." },
                    "create_home": { "type": "boolean", "description": "Create the home folder for a new user (default true)." },
                    "system": { "type": "boolean", "description": "A system account (new users only)." },
                    "comment": { "type": "string", "description": "The GECOS field." },
                    "remove": { "type": "boolean", "description": "With state=absent, remove the home folder too." }
                },
                "required": ["name"],
                "additionalProperties": false
            })))
            .action(Action::new("group", "Make a group present (with this gid) or absent.").params_schema(serde_json::json!({
                "type": "object",
                "properties": {
                    "name": { "type": "string", "description": "Group name." },
                    "state": { "enum": ["present", "absent"], "description": "Default: present." },
                    "gid": { "type": "integer", "description": "Group id." },
                    "system": { "type": "boolean", "description": "A system group (new groups only)." }
                },
                "required": ["name"],
                "additionalProperties": false
            })))
    }

    fn run(request: Request, ctx: &Context) -> Result<Outcome, Error> {
        match request.action.as_str() {
            "user" => account::user(request.params()?, ctx),
            "group" => account::group(request.params()?, ctx),
            other => Err(Error::UnknownAction(other.into())),
        }
    }
}

register_plugin!(User);
