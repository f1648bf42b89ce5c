//! Turns the probe's sections into Ansible-named facts.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The sections the probe prints, in order.
const SECTIONS: [&str; 10] = [
    "uname",
    "os-release",
    "meminfo",
    "route",
    "addr",
    "cpus",
    "user",
    "service-mgr",
    "python",
    "env",
];

/// Splits `== name` sections and builds the facts. An answer that is not
/// the probe's (every section, in order, `uname` with its four lines) is
/// refused: something else answered on the host, and empty facts would
/// only mislead the tasks that use them.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut sections: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut order = Vec::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            let name = name.trim();
            current = Some(name);
            order.push(name);
            sections.entry(name).or_default();
        } else if let Some(name) = current {
            sections.entry(name).or_default().push(line);
        } else if !line.trim().is_empty() {
            return Err(not_the_probe(&format!("it starts with `{}`", shown(line))));
        }
    }
    if order != SECTIONS {
        return Err(not_the_probe(&format!(
            "its sections are [{}], not [{}]",
            order
                .iter()
                .map(|s| shown(s))
                .collect::<Vec<_>>()
                .join(", "),
            SECTIONS.join(", ")
        )));
    }
    if sections["uname"].len() != 4 {
        return Err(not_the_probe("`uname` did not print four lines"));
    }
    let section = |name: &str| sections.get(name).cloned().unwrap_or_default();

    let uname = section("uname");
    let os: BTreeMap<&str, String> = section("os-release")
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k, v.trim_matches('"').to_string()))
        .collect();
    let id = os.get("ID").cloned().unwrap_or_default();
    let like = os.get("ID_LIKE").cloned().unwrap_or_default();
    let version = os.get("VERSION_ID").cloned().unwrap_or_default();
    let memory_kb = |key: &str| {
        section("meminfo")
            .iter()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (iface, gateway) = default_route(&section("route")).unwrap_or_default();
    let address = section("addr")
        .iter()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words.len() > 3 && words[1] == iface && words[2] == "inet")
                .then(|| words[3].split('/').next().unwrap_or("").to_string())
        })
        .next()
        .unwrap_or_default();
    let hostname = uname.get(3).copied().unwrap_or("").to_string();
    let python = python(&section("python"));
    let user = section("user");
    let id_of = |key: &str| id_field(user.first().copied().unwrap_or_default(), key);

    let family = os_family(&id, &like);
    Ok(json!({
        "ansible_system": uname.first().copied().unwrap_or(""),
        "ansible_kernel": uname.get(1).copied().unwrap_or(""),
        "ansible_architecture": uname.get(2).copied().unwrap_or(""),
        "ansible_hostname": hostname.split('.').next().unwrap_or(""),
        "ansible_nodename": hostname.clone(),
        // The node name, not a DNS lookup: gathering facts sends nothing
        // beyond the target.
        "ansible_fqdn": hostname,
        "ansible_distribution": distribution(&id),
        "ansible_distribution_version": version,
        "ansible_distribution_major_version": version.split('.').next().unwrap_or(""),
        "ansible_distribution_release": os.get("VERSION_CODENAME").cloned().unwrap_or_default(),
        "ansible_pkg_mgr": pkg_mgr(&family),
        "ansible_os_family": family,
        "ansible_memtotal_mb": memory_kb("MemTotal:") / 1024,
        "ansible_memfree_mb": memory_kb("MemFree:") / 1024,
        "ansible_swaptotal_mb": memory_kb("SwapTotal:") / 1024,
        "ansible_processor_vcpus": section("cpus").first().and_then(|n| n.trim().parse::<u64>().ok()).unwrap_or(0),
        "ansible_default_ipv4": if iface.is_empty() {
            json!({})
        } else {
            json!({ "interface": iface, "address": address, "gateway": gateway })
        },
        "ansible_user_id": id_of("uid").and_then(|(_, name)| name).unwrap_or_default(),
        "ansible_user_uid": id_of("uid").map(|(n, _)| n),
        "ansible_user_gid": id_of("gid").map(|(n, _)| n),
        "ansible_user_dir": user.get(1).copied().unwrap_or_default(),
        "ansible_user_shell": user.get(2).copied().unwrap_or_default(),
        "ansible_service_mgr": service_mgr(&section("service-mgr")),
        "ansible_python": python.clone().unwrap_or_else(|| json!({})),
        "ansible_python_version": python
            .as_ref()
            .map(|p| format!("{}.{}", p["version"]["major"], p["version"]["minor"]))
            .unwrap_or_default(),
        "ansible_env": environment(&section("env")),
    }))
}

/// `ansible_env`: the login's environment, `NAME=value` lines (a line that
/// starts no variable continues the value before it, which held a newline).
fn environment(lines: &[&str]) -> Value {
    let mut env = serde_json::Map::new();
    let mut last: Option<String> = None;
    for line in lines {
        let starts_variable = line.split_once('=').filter(|(name, _)| {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        match (starts_variable, &last) {
            (Some((name, value)), _) => {
                env.insert(name.to_string(), json!(value));
                last = Some(name.to_string());
            }
            (None, Some(name)) => {
                if let Some(Value::String(value)) = env.get_mut(name) {
                    value.push('\n');
                    value.push_str(line);
                }
            }
            (None, None) => {}
        }
    }
    Value::Object(env)
}

/// The package manager Ansible's `package` would use for an OS family.
fn pkg_mgr(family: &str) -> &'static str {
    match family {
        "Debian" => "apt",
        "RedHat" => "dnf",
        "Alpine" => "apk",
        "Suse" => "zypper",
        "Archlinux" => "pacman",
        _ => "unknown",
    }
}

/// What starts and stops services, as Ansible names it: PID 1's command
/// unless it is `init` or a shell (a container's), else what the system
/// holds (systemd's run folder, OpenRC, init scripts).
fn service_mgr(lines: &[&str]) -> String {
    let comm = lines.first().map(|l| l.trim()).unwrap_or_default();
    if !comm.is_empty() && comm != "init" && !comm.ends_with("sh") {
        return match comm {
            "procd" => "openwrt_init",
            "runit-init" => "runit",
            "svscan" => "svc",
            "openrc-init" => "openrc",
            other => other,
        }
        .to_string();
    }
    let has = |path: &str| lines.iter().skip(1).any(|l| l.trim() == path);
    if has("/run/systemd/system") {
        "systemd"
    } else if has("/sbin/openrc") {
        "openrc"
    } else if has("/etc/init.d") {
        "sysvinit"
    } else {
        "service"
    }
    .to_string()
}

/// A field of `id`'s answer (`uid=1000(ann) gid=1000(ann) groups=...`):
/// the number and, when `id` gave it, the name.
fn id_field(line: &str, key: &str) -> Option<(u64, Option<String>)> {
    let field = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))?;
    let (number, name) = match field.split_once('(') {
        Some((number, rest)) => (number, Some(rest.trim_end_matches(')').to_string())),
        None => (field, None),
    };
    Some((number.parse().ok()?, name))
}

/// Ansible's `python` fact from the interpreter's path and the file it
/// resolves to (`/usr/bin/python3.11`), so that it need not run (the probe
/// asks it only when the name does not say): major and minor only.
fn python(lines: &[&str]) -> Option<Value> {
    let executable = lines.first()?.trim();
    let resolved = lines.get(1).copied().unwrap_or(executable).trim();
    let name = resolved.rsplit('/').next()?;
    let (major, minor) = name.strip_prefix("python")?.split_once('.')?;
    let (major, minor): (u64, u64) = (major.parse().ok()?, minor.parse().ok()?);
    Some(json!({
        "executable": executable,
        "type": "cpython",
        "version": { "major": major, "minor": minor, "releaselevel": "final" },
    }))
}

fn not_the_probe(why: &str) -> String {
    format!(
        "the host's answer is not the facts probe's output ({why}): something else answers \
         commands there (a ForceCommand, a login script that prints, a broken shell)"
    )
}

/// At most 40 characters of host text, printable.
fn shown(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// The interface and gateway of the default route in /proc/net/route.
fn default_route(lines: &[&str]) -> Option<(String, String)> {
    lines.iter().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 2 && f[1] == "00000000").then(|| {
            let gw = u32::from_str_radix(f[2], 16).unwrap_or(0).to_le_bytes();
            (
                f[0].to_string(),
                format!("{}.{}.{}.{}", gw[0], gw[1], gw[2], gw[3]),
            )
        })
    })
}

fn distribution(id: &str) -> String {
    match id {
        "debian" => "Debian",
        "ubuntu" => "Ubuntu",
        "centos" => "CentOS",
        "rhel" => "RedHat",
        "fedora" => "Fedora",
        "rocky" => "Rocky",
        "almalinux" => "AlmaLinux",
        "alpine" => "Alpine",
        "arch" => "Archlinux",
        "opensuse-leap" | "opensuse-tumbleweed" | "sles" => "openSUSE",
        "" => "",
        other => return capitalise(other),
    }
    .to_string()
}

fn os_family(id: &str, like: &str) -> String {
    let words: Vec<&str> = std::iter::once(id).chain(like.split_whitespace()).collect();
    let has = |names: &[&str]| words.iter().any(|w| names.contains(w));
    if has(&["debian", "ubuntu"]) {
        "Debian".into()
    } else if has(&["rhel", "centos", "fedora", "rocky", "almalinux"]) {
        "RedHat".into()
    } else if has(&["alpine"]) {
        "Alpine".into()
    } else if has(&["arch"]) {
        "Archlinux".into()
    } else if has(&["suse", "opensuse", "sles"]) {
        "Suse".into()
    } else {
        capitalise(id)
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "== uname\nLinux\n6.1.0-18-amd64\nx86_64\nweb-1.example.com\n\
== os-release\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n\
== meminfo\nMemTotal:        2048000 kB\nMemFree:          512000 kB\nSwapTotal:             0 kB\n\
== route\nIface\tDestination\tGateway \tFlags\nens3\t00000000\t0100000A\t0003\nens3\t0000000A\t00000000\t0001\n\
== addr\n2: ens3    inet 10.0.0.5/24 brd 10.0.0.255 scope global ens3\n== cpus\n2\n\
== user\nuid=1000(ann) gid=1001(staff) groups=1001(staff)\n/home/ann\n/bin/bash\n\
== service-mgr\nsystemd\n/run/systemd/system\n/etc/init.d\n\
== python\n/usr/bin/python3\n/usr/bin/python3.11\n\
== env\nHOME=/home/ann\nPATH=/usr/bin:/bin\nMOTD=two\nlines\n";

    #[test]
    fn facts_have_ansible_names_and_values() {
        let facts = parse(SAMPLE).unwrap();
        assert_eq!(facts["ansible_os_family"], "Debian");
        assert_eq!(facts["ansible_distribution"], "Debian");
        assert_eq!(facts["ansible_distribution_major_version"], "12");
        assert_eq!(facts["ansible_hostname"], "web-1");
        assert_eq!(facts["ansible_service_mgr"], "systemd");
        assert_eq!(facts["ansible_pkg_mgr"], "apt");
        assert_eq!(facts["ansible_architecture"], "x86_64");
        assert_eq!(facts["ansible_memtotal_mb"], 2000);
        assert_eq!(
            facts["ansible_default_ipv4"],
            json!({ "interface": "ens3", "address": "10.0.0.5", "gateway": "10.0.0.1" })
        );
        assert_eq!(facts["ansible_python"]["executable"], "/usr/bin/python3");
        assert_eq!(facts["ansible_python"]["version"]["minor"], 11);
        assert_eq!(facts["ansible_python_version"], "3.11");
        assert_eq!(facts["ansible_user_id"], "ann");
        assert_eq!(facts["ansible_user_uid"], 1000);
        assert_eq!(facts["ansible_user_gid"], 1001);
        assert_eq!(facts["ansible_user_dir"], "/home/ann");
        assert_eq!(
            facts["ansible_env"],
            json!({ "HOME": "/home/ann", "PATH": "/usr/bin:/bin", "MOTD": "two\nlines" })
        );
        let none = parse(&SAMPLE.replace("/usr/bin/python3\n/usr/bin/python3.11\n", "")).unwrap();
        assert_eq!(none["ansible_python"], json!({}));
    }

    #[test]
    fn an_answer_that_is_not_the_probes_is_refused_by_name() {
        let err = parse("\u{1b}[31mgarbage\n== uname\n").unwrap_err();
        assert!(err.contains("it starts with `[31mgarbage`"), "{err}");
        let err = parse("== uname\nLinux\n").unwrap_err();
        assert!(err.contains("its sections are [uname]"), "{err}");
        let short = SAMPLE.replace("x86_64\n", "");
        let err = parse(&short).unwrap_err();
        assert!(err.contains("four lines"), "{err}");
        assert!(parse("").is_err());
    }

    #[test]
    fn the_service_manager_is_pid_1_unless_a_shell_or_init() {
        assert_eq!(service_mgr(&["systemd", "/run/systemd/system"]), "systemd");
        assert_eq!(service_mgr(&["bash", "/etc/init.d"]), "sysvinit");
        assert_eq!(service_mgr(&["init", "/run/systemd/system"]), "systemd");
        assert_eq!(service_mgr(&["runit-init"]), "runit");
        assert_eq!(service_mgr(&["sh"]), "service");
    }

    #[test]
    fn families_follow_id_like() {
        assert_eq!(os_family("linuxmint", "ubuntu debian"), "Debian");
        assert_eq!(os_family("rocky", "rhel centos fedora"), "RedHat");
        assert_eq!(os_family("gentoo", ""), "Gentoo");
    }
}
