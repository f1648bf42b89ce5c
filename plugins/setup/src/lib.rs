//! Ansible's `setup` module: gathers facts about the target (OS family,
//! distribution and version, hostname, architecture, default IPv4, memory,
//! the connecting user, the service manager, the Python interpreter)
//! in one command, and returns them as data under Ansible's names.

mod facts;
mod subset;

use capstan_plugin_sdk::{
    Action, Capability, Context, Error, JsonSchema, Manifest, Outcome, Plugin, register_plugin,
    remote,
};
use serde::Deserialize;

/// Parameters of `gather` (Ansible's `setup` and `gather_facts`).
#[derive(Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
struct SetupParams {
    /// Which facts: `all` (default), `min`, `hardware`, `network`,
    /// `virtual` or a fact's own name, `!` before one leaving it out.
    #[serde(default)]
    gather_subset: Vec<String>,
    /// Only the facts whose names match one of these shell patterns
    /// (`ansible_distribution*`).
    #[serde(default)]
    filter: Vec<String>,
    /// Accepted for Ansible's sake: Capstan gathers in one command.
    gather_timeout: Option<u64>,
}

/// Prints everything the facts are made of, in sections, in one round trip.
/// A fixed script: nothing from the user goes into it.
const PROBE: &str = r#"
echo '== uname'; uname -s; uname -r; uname -m; uname -n
echo '== os-release'; cat /etc/os-release 2>/dev/null
echo '== meminfo'; grep -E '^(MemTotal|MemFree|SwapTotal):' /proc/meminfo 2>/dev/null
echo '== route'; cat /proc/net/route 2>/dev/null
echo '== addr'; ip -o -4 addr show 2>/dev/null
echo '== cpus'; grep -c '^processor' /proc/cpuinfo 2>/dev/null
echo '== user'; id; echo "$HOME"; echo "${SHELL:-}"
echo '== service-mgr'; cat /proc/1/comm 2>/dev/null || echo; for d in /run/systemd/system /sbin/openrc /etc/init.d; do [ -e $d ] && echo $d; done
echo '== python'; if p=$(command -v python3 || command -v python); then
    echo "$p"; r=$(readlink -f "$p"); case ${r##*/} in
    python[0-9].[0-9]*) echo "$r" ;;
    *) "$p" -c 'import sys; print("python%d.%d" % sys.version_info[:2])' 2>/dev/null ;;
    esac
fi
echo '== env'; env
"#;

struct Setup;

impl Plugin for Setup {
    fn manifest() -> Manifest {
        Manifest::new(
            "setup",
            env!("CARGO_PKG_VERSION"),
            "Gather facts about the target.",
        )
        .capability(Capability::RemoteExec)
        .capability(Capability::Local)
        .action(Action::new("gather", "Gather facts (never changes anything).").run(gather))
    }
}

fn gather(params: SetupParams, ctx: &Context) -> Result<Outcome, Error> {
    let wanted = subset::Subset::parse(&params.gather_subset).map_err(Error::InvalidParams)?;
    let _ = params.gather_timeout;
    let output = remote::Command::new(["sh", "-c", PROBE]).run(&ctx.target)?;
    if !output.success() {
        return Err(Error::msg(format!(
            "gathering facts failed: {}",
            output.stderr_text().trim()
        )));
    }
    let mut facts = facts::parse(&output.stdout_text()).map_err(Error::msg)?;
    let summary = format!(
        "{} {} {} ({}), {} MB",
        facts["ansible_distribution"].as_str().unwrap_or("?"),
        facts["ansible_distribution_version"]
            .as_str()
            .unwrap_or("?"),
        facts["ansible_architecture"].as_str().unwrap_or("?"),
        facts["ansible_hostname"].as_str().unwrap_or("?"),
        facts["ansible_memtotal_mb"]
    );
    wanted.keep(&mut facts);
    subset::filter(&mut facts, &params.filter);
    Ok(Outcome::ok(summary).with_data(serde_json::json!({ "ansible_facts": facts })))
}

register_plugin!(Setup);
