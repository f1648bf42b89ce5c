//! The host list as people read it.

use capstan_engine::inventory::{Host, HostAuth};

use crate::support::{engine, host_names};

/// A host reached through the ssh-agent, in `group` and `environment`.
fn host(name: &str, group: Option<&str>, environment: Option<&str>) -> Host {
    Host {
        name: name.into(),
        address: "127.0.0.1".into(),
        port: 22,
        user: "deploy".into(),
        auth: HostAuth::Agent,
        environment: environment.map(Into::into),
        groups: group.into_iter().map(Into::into).collect(),
        vars: Default::default(),
    }
}

#[test]
fn hosts_are_listed_in_natural_order() {
    let (_dir, capstan) = engine();
    for name in ["web-10", "web-2", "db", "web-1"] {
        capstan.add_host(&host(name, None, None)).unwrap();
    }
    assert_eq!(host_names(&capstan), ["db", "web-1", "web-2", "web-10"]);
}

#[test]
fn a_host_is_renamed_in_one_step_keeping_everything_else() {
    let (_dir, capstan) = engine();
    let host = |name: &str, address: &str| Host {
        name: name.into(),
        address: address.into(),
        port: 2222,
        user: "deploy".into(),
        auth: HostAuth::Agent,
        environment: Some("prod".into()),
        groups: vec!["web".into()],
        vars: Default::default(),
    };
    capstan.add_host(&host("web-1", "10.0.0.5")).unwrap();
    capstan.add_host(&host("db-1", "10.0.0.9")).unwrap();

    let renamed = capstan.rename_host("web-1", "web-01").unwrap();
    assert_eq!(renamed, host("web-01", "10.0.0.5"));
    assert_eq!(host_names(&capstan), ["db-1", "web-01"]);

    // Onto another host's name: refused, and both stay as they were.
    let err = capstan
        .rename_host("web-01", "db-1")
        .unwrap_err()
        .to_string();
    assert!(err.contains("a host called `db-1` already exists"), "{err}");
    let err = capstan.rename_host("nope", "x").unwrap_err().to_string();
    assert!(err.contains("nope"), "{err}");
    let err = capstan
        .rename_host("web-01", "bad name!")
        .unwrap_err()
        .to_string();
    assert!(err.contains("name"), "{err}");
    assert_eq!(capstan.hosts().unwrap().len(), 2);
    assert_eq!(
        capstan.hosts().unwrap()[1],
        host("web-01", "10.0.0.5"),
        "an edit with the same name saves in place"
    );
}

/// `capstan run -t` takes the playbooks' host patterns: one resolver.
#[test]
fn run_targets_take_the_playbooks_host_patterns() {
    let (_dir, capstan) = engine();
    for (name, group) in [
        ("web-1", "web"),
        ("web-2", "web"),
        ("web-3", "web"),
        ("db-1", "db"),
    ] {
        let environment = if name == "web-1" { "prod" } else { "dev" };
        capstan
            .add_host(&host(name, Some(group), Some(environment)))
            .unwrap();
    }
    let resolve = |pattern: &str| -> Result<Vec<String>, String> {
        capstan
            .resolve_targets(
                &[pattern.to_string()],
                capstan_engine::remote::HostKeyPolicy::RequireKnown,
            )
            .map(|ts| ts.into_iter().map(|t| t.name).collect())
            .map_err(|e| e.to_string())
    };
    assert_eq!(resolve("web:!web-3").unwrap(), ["web-1", "web-2"]);
    assert_eq!(resolve("web:&prod").unwrap(), ["web-1"]);
    assert_eq!(resolve("*-1").unwrap(), ["db-1", "web-1"]);
    assert_eq!(resolve("db").unwrap(), ["db-1"]);
    let err = resolve("web:nosuch").unwrap_err();
    assert!(
        err.contains("target pattern `web:nosuch`: no host or group is called `nosuch`"),
        "{err}"
    );
    let err = resolve("nosuch").unwrap_err();
    assert!(err.contains("unknown target `nosuch`"), "{err}");
    assert_eq!(resolve("local").unwrap(), ["local"]);
}
