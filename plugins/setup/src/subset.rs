//! `gather_subset` and `filter`: which of the gathered facts a task keeps.
//! Capstan gathers everything in one command (it costs no more round
//! trips); the subsets then drop what was not asked for, as Ansible's
//! collectors would not have gathered it.

use capstan_plugin_sdk::glob_match;
use serde_json::Value;

/// Facts of the `hardware` subset.
const HARDWARE: &[&str] = &[
    "ansible_memfree_mb",
    "ansible_memtotal_mb",
    "ansible_swaptotal_mb",
    "ansible_processor_vcpus",
];
/// Facts of the `network` subset.
const NETWORK: &[&str] = &["ansible_default_ipv4", "ansible_all_ipv4_addresses"];

/// Subset names Ansible knows that name no fact Capstan gathers beyond
/// the minimal ones: accepted, as Ansible accepts them.
const KNOWN: &[&str] = &[
    "all_ipv4_addresses",
    "all_ipv6_addresses",
    "apparmor",
    "architecture",
    "caps",
    "chroot",
    "cmdline",
    "date_time",
    "default_ipv4",
    "default_ipv6",
    "devices",
    "distribution",
    "distribution_major_version",
    "distribution_release",
    "distribution_version",
    "dns",
    "effective_group_ids",
    "effective_user_id",
    "env",
    "facter",
    "fips",
    "hardware",
    "interfaces",
    "is_chroot",
    "iscsi",
    "kernel",
    "kernel_version",
    "local",
    "lsb",
    "machine",
    "machine_id",
    "mounts",
    "network",
    "ohai",
    "os_family",
    "pkg_mgr",
    "platform",
    "processor",
    "processor_cores",
    "processor_count",
    "python",
    "python_version",
    "real_user_id",
    "selinux",
    "service_mgr",
    "ssh_host_key_dsa_public",
    "ssh_host_key_ecdsa_public",
    "ssh_host_key_ed25519_public",
    "ssh_host_key_rsa_public",
    "ssh_host_pub_keys",
    "ssh_pub_keys",
    "system",
    "system_capabilities",
    "system_capabilities_enforced",
    "user",
    "user_dir",
    "user_gecos",
    "user_gid",
    "user_id",
    "user_shell",
    "user_uid",
    "virtual",
    "virtualization_role",
    "virtualization_type",
    "loadavg",
];

/// What a `gather_subset` keeps beyond the minimal facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subset {
    hardware: bool,
    network: bool,
    /// `!min` with nothing else: no facts at all.
    nothing: bool,
}

impl Subset {
    /// Reads `gather_subset` (empty means `all`).
    pub fn parse(names: &[String]) -> Result<Subset, String> {
        let mut subset = Subset {
            hardware: names.is_empty(),
            network: names.is_empty(),
            nothing: false,
        };
        let mut without_min = false;
        for written in names {
            let (exclude, name) = match written.trim().strip_prefix('!') {
                Some(name) => (true, name),
                None => (false, written.trim()),
            };
            match name {
                "all" => {
                    subset.hardware = !exclude;
                    subset.network = !exclude;
                }
                "min" => without_min = exclude,
                "hardware" | "processor" | "processor_count" | "processor_cores" => {
                    subset.hardware = !exclude;
                }
                "network" | "default_ipv4" | "all_ipv4_addresses" | "interfaces" => {
                    subset.network = !exclude;
                }
                name if KNOWN.contains(&name) => {}
                _ => {
                    return Err(format!(
                        "Bad subset '{name}' given to Ansible. gather_subset options allowed: \
                         all, min, hardware, network, virtual, or a collector's name such as \
                         distribution"
                    ));
                }
            }
        }
        subset.nothing = without_min && !subset.hardware && !subset.network;
        Ok(subset)
    }

    /// Drops from `facts` what the subset leaves out.
    pub fn keep(&self, facts: &mut Value) {
        let Some(map) = facts.as_object_mut() else {
            return;
        };
        if self.nothing {
            map.clear();
            return;
        }
        map.retain(|name, _| {
            (self.hardware || !HARDWARE.contains(&name.as_str()))
                && (self.network || !NETWORK.contains(&name.as_str()))
        });
    }
}

/// Keeps only the facts whose names match one of `patterns` (none: all).
pub fn filter(facts: &mut Value, patterns: &[String]) {
    if patterns.is_empty() {
        return;
    }
    if let Some(map) = facts.as_object_mut() {
        map.retain(|name, _| patterns.iter().any(|p| glob_match(p.trim(), name)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> Value {
        json!({
            "ansible_distribution": "Debian",
            "ansible_distribution_version": "12",
            "ansible_memtotal_mb": 100,
            "ansible_default_ipv4": {},
        })
    }

    fn names(facts: &Value) -> Vec<&str> {
        facts
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn subsets_drop_what_they_leave_out() {
        let mut all = facts();
        Subset::parse(&[]).unwrap().keep(&mut all);
        assert_eq!(names(&all).len(), 4);
        let mut dist = facts();
        Subset::parse(&["distribution".into()])
            .unwrap()
            .keep(&mut dist);
        assert_eq!(
            names(&dist),
            ["ansible_distribution", "ansible_distribution_version"]
        );
        let mut no_net = facts();
        Subset::parse(&["all".into(), "!network".into()])
            .unwrap()
            .keep(&mut no_net);
        assert!(!names(&no_net).contains(&"ansible_default_ipv4"));
        assert!(names(&no_net).contains(&"ansible_memtotal_mb"));
        let mut none = facts();
        Subset::parse(&["!all".into(), "!min".into()])
            .unwrap()
            .keep(&mut none);
        assert!(names(&none).is_empty());
        let error = Subset::parse(&["everything".into()]).unwrap_err();
        assert!(error.contains("Bad subset 'everything'"), "{error}");
    }

    #[test]
    fn filters_are_shell_patterns() {
        let mut some = facts();
        filter(&mut some, &["ansible_distribution*".into()]);
        assert_eq!(
            names(&some),
            ["ansible_distribution", "ansible_distribution_version"]
        );
    }
}
