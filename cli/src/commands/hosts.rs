//! `capstan hosts …`: the inventory, and checking that Capstan can log in.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use capstan_engine::Capstan;
use capstan_engine::inventory::{Host, HostAuth};
use capstan_engine::remote::HostKeyPolicy;

use crate::commands::plugin::JsonFlag;
use crate::exit::{BadInput, Exit};
use crate::output::print_json;

/// Hosts subcommands.
#[derive(Subcommand)]
pub enum HostsCommand {
    /// Add a host (or replace one with the same name).
    Add(AddArgs),
    /// Import hosts from an Ansible INI inventory (replacing same-named hosts).
    Import {
        /// The inventory file.
        file: PathBuf,
    },
    /// List the inventory.
    List(JsonFlag),
    /// Rename a host, keeping its address, login, groups and vars.
    Rename {
        /// Its name now.
        old: String,
        /// Its new name.
        new: String,
    },
    /// Remove a host from the inventory.
    Remove {
        /// Host name.
        name: String,
    },
    /// Log in to hosts and run `uname`: proves address, host key and login.
    Check {
        /// Host names.
        #[arg(required = true)]
        names: Vec<String>,
        /// Record whatever key a host with no recorded key shows (prefer
        /// `hosts trust NAME --fingerprint`, which records only the key you
        /// compared).
        #[arg(long)]
        trust_new_hosts: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Pin a host's key to the fingerprint you compared with the host's own
    /// (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` there), replacing
    /// any key recorded for it: a new host, or one whose key was changed on
    /// purpose.
    Trust {
        /// Host name.
        name: String,
        /// The `SHA256:…` fingerprint the host must show.
        #[arg(long, required = true)]
        fingerprint: String,
    },
}

/// Arguments of `hosts add`.
#[derive(Args)]
pub struct AddArgs {
    /// The name runs and results use (e.g. web-1).
    name: String,
    /// Address or DNS name.
    #[arg(long)]
    address: String,
    /// SSH port.
    #[arg(long, default_value_t = 22)]
    port: u16,
    /// Login user (default: yours).
    #[arg(long)]
    user: Option<String>,
    /// Log in with this private key file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["agent", "password_env"])]
    key: Option<PathBuf>,
    /// Log in with the keys of the running ssh-agent (the default).
    #[arg(long)]
    agent: bool,
    /// Log in with the password in this environment variable (read when
    /// connecting, never stored).
    #[arg(long, value_name = "VAR", conflicts_with = "agent")]
    password_env: Option<String>,
    /// dev, preprod or prod.
    #[arg(long = "env", value_name = "ENV")]
    environment: Option<String>,
    /// A group it belongs to (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
}

/// Runs a hosts subcommand.
pub async fn exec(capstan: &Capstan, command: HostsCommand) -> anyhow::Result<Exit> {
    match command {
        HostsCommand::Add(args) => add(capstan, args),
        HostsCommand::Import { file } => import(capstan, &file),
        HostsCommand::List(flag) => {
            let hosts = capstan.hosts()?;
            if flag.json {
                print_json(&hosts)?;
            } else if hosts.is_empty() {
                println!("no hosts yet: `capstan hosts add NAME --address ADDRESS`");
            } else {
                for h in hosts {
                    println!(
                        "{:<16} {}@{}:{:<6} {:<8} {}",
                        h.name,
                        h.user,
                        h.address,
                        h.port,
                        h.environment.as_deref().unwrap_or("-"),
                        h.groups.join(",")
                    );
                }
            }
            Ok(Exit::Success)
        }
        HostsCommand::Rename { old, new } => {
            capstan.rename_host(&old, &new)?;
            println!("renamed {old} to {new}");
            Ok(Exit::Success)
        }
        HostsCommand::Remove { name } => {
            capstan.remove_host(&name)?;
            println!("removed {name}");
            Ok(Exit::Success)
        }
        HostsCommand::Check {
            names,
            trust_new_hosts,
            json,
        } => check(capstan, names, trust_new_hosts, json.json).await,
        HostsCommand::Trust { name, fingerprint } => trust(capstan, &name, fingerprint).await,
    }
}

async fn trust(capstan: &Capstan, name: &str, fingerprint: String) -> anyhow::Result<Exit> {
    if !fingerprint
        .split_whitespace()
        .last()
        .is_some_and(|f| f.starts_with("SHA256:"))
    {
        return Err(BadInput(format!(
            "--fingerprint: expected the SHA256:… fingerprint the host shows, not `{fingerprint}`"
        ))
        .into());
    }
    let check = capstan
        .check_host(name, HostKeyPolicy::Repin(fingerprint))
        .await?;
    if check.reachable {
        println!("{name}: key pinned; logged in: {}", check.message);
        Ok(Exit::Success)
    } else {
        eprintln!("{name}: {}", check.message);
        Ok(Exit::Failed)
    }
}

fn add(capstan: &Capstan, args: AddArgs) -> anyhow::Result<Exit> {
    let auth = match (args.key, args.password_env) {
        (Some(key), _) => {
            let key = std::path::absolute(&key).unwrap_or(key);
            if !key.is_file() {
                return Err(BadInput(format!("key file {} does not exist", key.display())).into());
            }
            HostAuth::KeyFile(key.to_string_lossy().into_owned())
        }
        (None, Some(var)) => HostAuth::PasswordEnv(var),
        (None, None) => HostAuth::Agent,
    };
    let host = Host {
        name: args.name,
        address: args.address,
        port: args.port,
        user: args.user.unwrap_or_else(current_user),
        auth,
        environment: args.environment,
        groups: args.groups,
        vars: Default::default(),
    };
    capstan.add_host(&host)?;
    println!(
        "added {} ({}@{}:{}); check it with `capstan hosts check {}`",
        host.name, host.user, host.address, host.port, host.name
    );
    Ok(Exit::Success)
}

async fn check(
    capstan: &Capstan,
    names: Vec<String>,
    trust_new_hosts: bool,
    json: bool,
) -> anyhow::Result<Exit> {
    let policy = HostKeyPolicy::trusting_new(trust_new_hosts);
    let mut results = Vec::new();
    for name in &names {
        results.push(capstan.check_host(name, policy.clone()).await?);
    }
    if json {
        print_json(&results)?;
    } else {
        for r in &results {
            let state = if r.reachable { "ok" } else { "unreachable" };
            println!(
                "{:<16} {:<12} {:>5} ms  {}",
                r.name, state, r.elapsed_ms, r.message
            );
        }
        if results
            .iter()
            .any(|r| r.message.contains("unknown host key"))
            && std::io::stdout().is_terminal()
        {
            eprintln!(
                "compare the fingerprint with the host's own (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` there), then pin it with `capstan hosts trust NAME --fingerprint SHA256:…`"
            );
        }
    }
    Ok(if results.iter().all(|r| r.reachable) {
        Exit::Success
    } else {
        Exit::Failed
    })
}

fn import(capstan: &Capstan, file: &std::path::Path) -> anyhow::Result<Exit> {
    let hosts = capstan.import_inventory(file)?;
    println!("imported {} hosts from {}", hosts.len(), file.display());
    Ok(Exit::Success)
}

fn current_user() -> String {
    capstan_engine::inventory::current_user()
}
