//! `capstan adhoc PATTERN -m MODULE -a ARGS`: one module on the hosts a
//! pattern names, as Ansible's ad-hoc `ansible` runs it (`capstan adhoc
//! all -m ping`, `capstan adhoc web -a 'uptime'`), printed as it prints
//! it. It is a playbook of one task underneath: a recorded job, the
//! inventory's variables, become, check mode.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value as Json};

use capstan_engine::Capstan;
use capstan_engine::playbook::AdHoc;

use super::playbook::{Printer, RunFlags};
use crate::exit::Exit;

/// Arguments of `capstan adhoc`.
#[derive(Args)]
pub struct AdhocArgs {
    /// The hosts to run on: a pattern of the inventory (`all`,
    /// `web:!web-3`, `localhost`).
    pattern: String,
    /// The module to run.
    #[arg(short = 'm', long = "module-name", default_value = "command")]
    module: String,
    /// The module's arguments: `key=value ...` (the command line itself
    /// for command and shell), or a JSON object.
    #[arg(short = 'a', long = "args", value_name = "ARGS")]
    args: Option<String>,
    /// Run the module as another user through sudo (`become`).
    #[arg(short = 'b', long = "become")]
    become_: bool,
    /// The user `--become` runs it as (default root).
    #[arg(long, value_name = "USER")]
    become_user: Option<String>,
    /// Log in to the hosts as this user.
    #[arg(short = 'u', long = "user", value_name = "USER")]
    user: Option<String>,
    /// How the hosts are reached unless the inventory says: `ssh` or
    /// `local`.
    #[arg(short = 'c', long, value_name = "CONNECTION")]
    connection: Option<String>,
    /// The folder it runs from: its `ansible.cfg`, `roles/` and files are
    /// found there (default: the current folder).
    #[arg(long, value_name = "DIR")]
    playbook_dir: Option<PathBuf>,
    #[command(flatten)]
    run: RunFlags,
}

/// Runs the command.
pub async fn exec(capstan: &Capstan, args: AdhocArgs) -> anyhow::Result<Exit> {
    let dir = match &args.playbook_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()?,
    };
    let mut keywords = Map::new();
    if args.become_ {
        keywords.insert("become".into(), Json::Bool(true));
    }
    for (keyword, value) in [
        ("become_user", &args.become_user),
        ("remote_user", &args.user),
        ("connection", &args.connection),
    ] {
        if let Some(value) = value {
            keywords.insert(keyword.into(), Json::String(value.clone()));
        }
    }
    let mut options = args.run.options(dir.join("ad-hoc"))?;
    options.adhoc = Some(AdHoc {
        pattern: args.pattern.clone(),
        module: args.module.clone(),
        args: args.args.clone(),
        keywords,
    });
    let printer = Printer::new(args.run.json()).adhoc();
    args.run.run(capstan, options, printer).await
}
