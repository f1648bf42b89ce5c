//! The host list as people read it.

use capstan_engine::inventory::{Host, HostAuth};

use crate::support::engine;

#[test]
fn hosts_are_listed_in_natural_order() {
    let (_dir, capstan) = engine();
    for name in ["web-10", "web-2", "db", "web-1"] {
        let host = Host {
            name: name.into(),
            address: "127.0.0.1".into(),
            port: 22,
            user: "deploy".into(),
            auth: HostAuth::Agent,
            environment: None,
            groups: vec![],
            vars: Default::default(),
        };
        capstan.add_host(&host).unwrap();
    }
    let names: Vec<String> = capstan
        .hosts()
        .unwrap()
        .into_iter()
        .map(|h| h.name)
        .collect();
    assert_eq!(names, ["db", "web-1", "web-2", "web-10"]);
}
