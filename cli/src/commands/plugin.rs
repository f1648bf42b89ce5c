//! `capstan plugin …`: install (with a grant prompt), list, show, grant,
//! revoke, limits, remove, prepare.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use capstan_engine::capability::{Grant, GrantSet};
use capstan_engine::plugin::{LimitOverrides, Limits};
use capstan_engine::store::PluginRecord;
use capstan_engine::{Capstan, PrepareOutcome};

use crate::exit::{BadInput, Exit};
use crate::output::{print_json, timestamp};

/// Plugin subcommands.
#[derive(Subcommand)]
pub enum PluginCommand {
    /// Install a plugin from a `.wasm` component, granting what it asks for.
    Install {
        /// The component file.
        path: PathBuf,
        /// Grant this capability (repeat for several). Without it, you are asked.
        #[arg(long = "grant", value_name = "CAP")]
        grants: Vec<String>,
        /// Grant everything the plugin asks for without asking.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Replace an installed (or bundled) plugin of the same name.
        #[arg(long)]
        replace: bool,
        /// When replacing, keep the old plugin's stored data (else deleted).
        #[arg(long, requires = "replace")]
        keep_data: bool,
    },
    /// List installed plugins (and the bundled ones not used yet).
    List(JsonFlag),
    /// Show a plugin: actions, capabilities asked for and granted, limits.
    Show {
        /// Plugin name.
        name: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Grant a capability the plugin asked for.
    Grant {
        /// Plugin name.
        name: String,
        /// Capability (kv, remote.exec, remote.files, ...), or an HTTP host
        /// for a plugin that asked for `http`: `http:HOST` or `http:HOST:PORT`.
        capability: String,
    },
    /// Revoke a capability; the plugin's next host call is denied.
    Revoke {
        /// Plugin name.
        name: String,
        /// Capability, or `http:HOST` (`http` revokes every host).
        capability: String,
    },
    /// Set a plugin's own limits (the rest stay at their defaults).
    Limits(LimitArgs),
    /// Uninstall a plugin and delete its stored data.
    Remove {
        /// Plugin name.
        name: String,
    },
    /// Compile the bundled and installed plugins ahead of their first run,
    /// into the compiled-code cache every data folder of yours shares.
    Prepare,
}

/// `--json` for commands that print data.
#[derive(Args)]
pub struct JsonFlag {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `plugin limits`.
#[derive(Args)]
pub struct LimitArgs {
    /// Plugin name.
    name: String,
    /// Linear memory, in MiB (default 64, at most 1024).
    #[arg(long, value_name = "MIB")]
    memory_mib: Option<u64>,
    /// Guest CPU time per call, in ms (default 10000).
    #[arg(long, value_name = "MS")]
    cpu_ms: Option<u64>,
    /// Wall time per call, in ms (default 600000).
    #[arg(long, value_name = "MS")]
    wall_ms: Option<u64>,
    /// Log written per call, in KiB (default 1024).
    #[arg(long, value_name = "KIB")]
    log_kib: Option<u64>,
    /// Outcome and command output size, in KiB (default 4096).
    #[arg(long, value_name = "KIB")]
    output_kib: Option<u64>,
    /// Keys its kv store may hold, across runs (default 10000).
    #[arg(long, value_name = "N")]
    kv_keys: Option<u64>,
    /// Size of its kv store (keys and values), in MiB (default 16).
    #[arg(long, value_name = "MIB")]
    kv_mib: Option<u64>,
    /// Go back to the defaults.
    #[arg(long)]
    reset: bool,
}

/// Runs a plugin subcommand.
pub async fn exec(capstan: &Capstan, command: PluginCommand) -> anyhow::Result<Exit> {
    match command {
        PluginCommand::Install {
            path,
            grants,
            yes,
            replace,
            keep_data,
        } => {
            let replacing = Replacing { replace, keep_data };
            install(capstan, path, grants, yes, replacing).await
        }
        PluginCommand::List(flag) => list(capstan, flag.json),
        PluginCommand::Show { name, json } => show(capstan, &name, json.json).await,
        PluginCommand::Grant { name, capability } => {
            let granted = capstan.grant(&name, parse_capability(&capability)?).await?;
            println!("{name}: granted {}", grant_names(&granted));
            Ok(Exit::Success)
        }
        PluginCommand::Revoke { name, capability } => {
            let granted = capstan
                .revoke(&name, parse_capability(&capability)?)
                .await?;
            println!("{name}: now granted {}", grant_names(&granted));
            Ok(Exit::Success)
        }
        PluginCommand::Limits(args) => limits(capstan, args).await,
        PluginCommand::Remove { name } => {
            capstan.remove(&name)?;
            println!("removed {name} and its stored data");
            Ok(Exit::Success)
        }
        PluginCommand::Prepare => prepare(capstan),
    }
}

fn prepare(capstan: &Capstan) -> anyhow::Result<Exit> {
    let started = std::time::Instant::now();
    let report = capstan.prepare_plugins()?;
    let mut failed = 0;
    for plugin in &report {
        let what = match &plugin.outcome {
            PrepareOutcome::Ready => "ready (cached)".to_string(),
            PrepareOutcome::Compiled(took) => format!("compiled in {} ms", took.as_millis()),
            PrepareOutcome::Failed(why) => {
                failed += 1;
                format!("FAILED: {why}")
            }
        };
        println!("{:<12} {what}", plugin.name);
    }
    println!(
        "{} plugins prepared in {} ms, in {}",
        report.len() - failed,
        started.elapsed().as_millis(),
        capstan.home().cache_dir().display()
    );
    Ok(if failed == 0 {
        Exit::Success
    } else {
        Exit::Failed
    })
}

/// What `--replace` and `--keep-data` said.
struct Replacing {
    replace: bool,
    keep_data: bool,
}

async fn install(
    capstan: &Capstan,
    path: PathBuf,
    grants: Vec<String>,
    yes: bool,
    replacing: Replacing,
) -> anyhow::Result<Exit> {
    let inspected = capstan.inspect_file(&path).await?;
    let manifest = &inspected.manifest;
    let replaces = capstan.replaces(&manifest.name)?;
    eprintln!(
        "{} {} — {}",
        manifest.name, manifest.version, manifest.summary
    );
    eprintln!(
        "  contract capstan:plugin@{}, sha256 {}",
        inspected.version.as_str(),
        &inspected.sha256[..16]
    );
    if inspected.requested.is_empty() {
        eprintln!("  asks for no capabilities");
    } else {
        eprintln!("  asks to:");
        for cap in &inspected.requested {
            eprintln!("    {:<13} {}", cap.name(), cap.plain_words());
        }
    }

    let granted = if !grants.is_empty() {
        GrantSet::from_grants(
            grants
                .iter()
                .map(|g| parse_capability(g))
                .collect::<anyhow::Result<Vec<_>>>()?,
        )
    } else if yes || inspected.requested.is_empty() {
        GrantSet::new(inspected.requested.iter().copied())
    } else if std::io::stdin().is_terminal() {
        if ask("Grant these and install? [y/N] ")? {
            GrantSet::new(inspected.requested.iter().copied())
        } else {
            eprintln!("not installed");
            return Ok(Exit::DeniedOrBadInput);
        }
    } else {
        return Err(BadInput(
            "no terminal to ask for the grants: pass --yes to grant what it asks for, or --grant CAP for each".into(),
        )
        .into());
    };
    if let Some(what) = &replaces {
        let data = capstan.kv_usage(&manifest.name)?;
        eprintln!(
            "  replaces the plugin `{}` {what}; its stored data ({} keys) is {}",
            manifest.name,
            data.keys,
            if replacing.keep_data {
                "kept (--keep-data)"
            } else {
                "deleted"
            }
        );
        if !replacing.replace {
            if !std::io::stdin().is_terminal() {
                return Err(BadInput(format!(
                    "a plugin called `{}` is {what}: pass --replace to replace it (and \
                     --keep-data to keep its stored data)",
                    manifest.name
                ))
                .into());
            }
            if !ask("Replace it? [y/N] ")? {
                eprintln!("not installed");
                return Ok(Exit::DeniedOrBadInput);
            }
        }
    }
    let record = match replaces {
        Some(_) => capstan.install_over(&inspected, granted, replacing.keep_data)?,
        None => capstan.install(&inspected, granted)?,
    };
    println!(
        "installed {} {} (granted {})",
        record.manifest.name,
        record.manifest.version,
        grant_names(&record.grants)
    );
    Ok(Exit::Success)
}

fn ask(question: &str) -> anyhow::Result<bool> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

fn list(capstan: &Capstan, json: bool) -> anyhow::Result<Exit> {
    let plugins = capstan.plugins()?;
    let available = capstan.bundled_not_installed()?;
    if json {
        let installed: Vec<_> = plugins.iter().map(record_json).collect();
        let available: Vec<_> = available.iter().map(|b| b.name).collect();
        print_json(&json!({ "installed": installed, "bundled_not_installed": available }))?;
        return Ok(Exit::Success);
    }
    if plugins.is_empty() && available.is_empty() {
        println!("no plugins installed: `capstan plugin install FILE.wasm`");
    }
    for p in &plugins {
        println!(
            "{:<12} {:<8} {:<9} granted: {:<40} {}",
            p.manifest.name,
            p.manifest.version,
            if p.bundled { "bundled" } else { "installed" },
            grant_names(&p.grants),
            p.manifest.summary
        );
    }
    for b in &available {
        println!(
            "{:<12} {:<8} {:<9} (installed on first use)",
            b.name, "-", "bundled"
        );
    }
    Ok(Exit::Success)
}

async fn show(capstan: &Capstan, name: &str, json: bool) -> anyhow::Result<Exit> {
    let record = capstan.plugin(name).await?;
    if json {
        print_json(&record_json(&record))?;
        return Ok(Exit::Success);
    }
    let m = &record.manifest;
    println!("{} {} — {}", m.name, m.version, m.summary);
    println!("contract:  capstan:plugin@{}", record.api_version);
    println!(
        "installed: {}{}",
        timestamp(record.installed_at),
        if record.bundled { " (bundled)" } else { "" }
    );
    println!("file:      {}", record.wasm_path.display());
    println!(
        "asks for:  {}",
        if m.capabilities.is_empty() {
            "nothing".into()
        } else {
            m.capabilities.join(", ")
        }
    );
    println!("granted:   {}", grant_names(&record.grants));
    if !m.subscriptions.is_empty() {
        let kinds: Vec<_> = m.subscriptions.iter().map(|k| k.name()).collect();
        println!(
            "handles:   {} (while `capstan serve` runs)",
            kinds.join(", ")
        );
    }
    println!(
        "limits:    {}",
        describe_limits(&Limits::default().with(&record.limits))
    );
    let used = capstan.kv_usage(name)?;
    println!("kv:        {} keys, {} bytes in use", used.keys, used.bytes);
    println!("actions:");
    for action in &m.actions {
        println!("  {:<14} {}", action.name, action.summary);
        if let Some(props) = action
            .params_schema
            .get("properties")
            .and_then(|p| p.as_object())
        {
            for (param, schema) in props {
                let ty = schema.get("type").and_then(|t| t.as_str()).unwrap_or("any");
                let doc = schema
                    .get("description")
                    .and_then(|d| d.as_str())
                    .unwrap_or("");
                println!("      -p {param:<10} {ty:<8} {doc}");
            }
        }
    }
    Ok(Exit::Success)
}

async fn limits(capstan: &Capstan, args: LimitArgs) -> anyhow::Result<Exit> {
    let record = capstan.plugin(&args.name).await?;
    let mut overrides = if args.reset {
        LimitOverrides::default()
    } else {
        record.limits
    };
    let mib = |v: u64| v << 20;
    let kib = |v: u64| v << 10;
    overrides.memory_bytes = args.memory_mib.map(mib).or(overrides.memory_bytes);
    overrides.cpu_ms = args.cpu_ms.or(overrides.cpu_ms);
    overrides.wall_ms = args.wall_ms.or(overrides.wall_ms);
    overrides.log_bytes = args.log_kib.map(kib).or(overrides.log_bytes);
    overrides.output_bytes = args.output_kib.map(kib).or(overrides.output_bytes);
    overrides.kv_keys = args.kv_keys.or(overrides.kv_keys);
    overrides.kv_bytes = args.kv_mib.map(mib).or(overrides.kv_bytes);
    capstan.set_limits(&args.name, overrides).await?;
    let limits = Limits::default().with(&overrides);
    println!("{}: {}", args.name, describe_limits(&limits));
    Ok(Exit::Success)
}

/// A plugin's limits in one line.
fn describe_limits(limits: &Limits) -> String {
    format!(
        "memory {} MiB, cpu {} ms, wall {} ms, log {} KiB, output {} KiB, kv {} keys / {} MiB",
        limits.memory_bytes >> 20,
        limits.cpu_ms,
        limits.wall_ms,
        limits.log_bytes >> 10,
        limits.output_bytes >> 10,
        limits.kv_keys,
        limits.kv_bytes >> 20
    )
}

fn record_json(p: &PluginRecord) -> serde_json::Value {
    json!({
        "name": p.manifest.name,
        "version": p.manifest.version,
        "summary": p.manifest.summary,
        "contract": p.api_version,
        "bundled": p.bundled,
        "sha256": p.wasm_sha256,
        "requested": p.manifest.capabilities,
        "granted": p.grants.grants().map(|g| g.to_string()).collect::<Vec<_>>(),
        "subscriptions": p.manifest.subscriptions,
        "limits": Limits::default().with(&p.limits),
        "actions": p.manifest.actions,
    })
}

fn parse_capability(name: &str) -> anyhow::Result<Grant> {
    name.parse::<Grant>().map_err(|e| BadInput(e).into())
}

fn grant_names(grants: &GrantSet) -> String {
    let names: Vec<_> = grants.grants().map(|g| g.to_string()).collect();
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}
