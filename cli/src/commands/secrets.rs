//! `capstan secrets set|list|remove`: the encrypted store of values that
//! unattended runs need. A value is read from stdin or a file, never from
//! the command line, and never printed back.

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;

use clap::Subcommand;

use capstan_engine::{Capstan, MAX_SECRET_BYTES};
use capstan_wire::secrets::SecretInfo;

use crate::commands::plugin::JsonFlag;
use crate::exit::{BadInput, Exit};
use crate::output::{print_json, timestamp};

/// Secrets subcommands.
#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Store a secret (replacing one of that name). The value comes from
    /// stdin (typed without being shown, on a terminal) or --from-file.
    Set {
        /// Its name: a variable name, as playbooks use it.
        name: String,
        /// Read the value from this file (a trailing newline is dropped).
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
    },
    /// Every secret's name and dates (never a value).
    List {
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Remove a secret.
    Remove {
        /// Its name.
        name: String,
    },
}

/// Runs a secrets subcommand.
pub fn exec(capstan: &Capstan, command: SecretsCommand) -> anyhow::Result<Exit> {
    let me = capstan.actor();
    match command {
        SecretsCommand::Set { name, from_file } => {
            let value = read_value(&name, from_file)?;
            capstan.set_secret(&name, &value, &me)?;
            println!("secret {name} stored (sealed; `--stored-secret {name}` uses it)");
            Ok(Exit::Success)
        }
        SecretsCommand::List { json } => print_list(&capstan.secrets()?, json.json),
        SecretsCommand::Remove { name } => {
            capstan.remove_secret(&name, &me)?;
            println!("secret {name} removed");
            Ok(Exit::Success)
        }
    }
}

/// A secret's value from a file, or stdin (one line when typed).
pub fn read_value(name: &str, from_file: Option<PathBuf>) -> anyhow::Result<String> {
    let value = match from_file {
        Some(file) => std::fs::read_to_string(&file)
            .map_err(|e| BadInput(format!("--from-file {}: {e}", file.display())))?,
        None if std::io::stdin().is_terminal() => {
            eprint!("value of {name} (not shown): ");
            let _quiet = crate::terminal::EchoOff::new();
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            eprintln!();
            line
        }
        None => {
            let mut text = String::new();
            std::io::stdin()
                .lock()
                .take(MAX_SECRET_BYTES as u64 + 2)
                .read_to_string(&mut text)
                .map_err(|e| BadInput(format!("stdin: {e}")))?;
            text
        }
    };
    Ok(value.trim_end_matches(['\n', '\r']).to_string())
}

/// Prints secrets, one per line (or as JSON).
pub fn print_list(secrets: &[SecretInfo], json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(&secrets)?;
        return Ok(Exit::Success);
    }
    if secrets.is_empty() {
        println!("no secrets: `capstan secrets set NAME` stores one");
    }
    for secret in secrets {
        println!(
            "{:<24} set {} by {}",
            secret.name,
            timestamp(secret.updated_at_ms),
            secret.updated_by
        );
    }
    Ok(Exit::Success)
}
