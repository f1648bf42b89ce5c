//! Property tests of every parser a user or a plugin feeds: playbooks,
//! INI and YAML inventories, `k=v` arguments, templates. Whatever the
//! input, each answers with a value or a named error: no panic, no hang.
//! The budget is proptest's (256 cases each); `bench/fuzz.sh` runs more.

use std::sync::Arc;

use capstan_engine::inventory::{ini, yaml as yaml_inventory};
use capstan_engine::playbook::model::parse_plays;
use capstan_engine::playbook::modules::{self, NAMES};
use capstan_engine::playbook::template::{Origin, Scope, Templates};
use capstan_engine::playbook::{PlaybookEvent, PlaybookOptions};
use proptest::prelude::*;
use serde_json::json;

use crate::support::engine;

/// Text made mostly of what INI inventories give a meaning to.
fn iniish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just("[web]".to_string()),
        Just("[web:vars]".to_string()),
        Just("[all:children]".to_string()),
        Just("ansible_host=".to_string()),
        Just("ansible_port=".to_string()),
        Just("ansible_password=x".to_string()),
        Just("h[1:3]".to_string()),
        "[\\[\\]:=#; '\"\\\\]".prop_map(String::from),
        "[a-z0-9.-]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|p| p.concat())
}

/// A playbook shaped like a real one, with random names, values and keys.
fn playbookish() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "[a-z0-9 ={}%.|'\"]{0,20}".prop_map(|s| format!("{s:?}")),
        Just("{{ item }}".to_string()),
        Just("[1, 2]".to_string()),
        Just("{a: 1}".to_string()),
        Just("yes".to_string()),
    ];
    let module = prop_oneof![
        prop::sample::select(NAMES).prop_map(String::from),
        "[a-z_.]{1,12}",
    ];
    let key = prop_oneof![
        prop::sample::select(
            &[
                "when",
                "loop",
                "register",
                "notify",
                "become",
                "tags",
                "vars",
                "with_items",
                "ignore_errors",
                "changed_when",
                "failed_when",
                "no_log",
                "args",
                "name",
            ][..]
        )
        .prop_map(String::from),
        "[a-z_]{1,10}",
    ];
    let task = (
        module,
        value.clone(),
        prop::collection::vec((key, value), 0..3),
    )
        .prop_map(|(module, args, extra)| {
            let mut text = format!("    - {module}: {args}\n");
            for (k, v) in extra {
                text.push_str(&format!("      {k}: {v}\n"));
            }
            text
        });
    let play = (
        "[a-z:!&*]{1,10}",
        prop::collection::vec(task, 0..5),
        any::<bool>(),
    )
        .prop_map(|(hosts, tasks, facts)| {
            format!(
                "- hosts: {hosts:?}\n  gather_facts: {facts}\n  tasks:\n{}",
                tasks.concat()
            )
        });
    prop::collection::vec(play, 1..3).prop_map(|p| p.concat())
}

/// Template text: Jinja's punctuation, names and a few filters.
fn templateish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{%".to_string()),
        Just("%}".to_string()),
        Just("{#".to_string()),
        Just(" for i in range(99) ".to_string()),
        Just(" endfor ".to_string()),
        Just(" if ".to_string()),
        Just(" x | default('d') ".to_string()),
        Just(" l | join(',') ".to_string()),
        Just(" m.a ".to_string()),
        Just(" regex_replace('(a+)+$', 'b') ".to_string()),
        "[()\\[\\]|.,'\"~+*/%-]".prop_map(String::from),
        "[a-z0-9 ]{1,5}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn an_ini_inventory_is_hosts_or_a_named_error(text in iniish()) {
        if let Err(e) = ini::parse(&text, "me") {
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn a_yaml_inventory_is_hosts_or_a_named_error(text in "[a-z:\\- \n\\[\\]{}&*=_]{0,200}") {
        if let Err(e) = yaml_inventory::parse("inv.yml", &text, "me") {
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn a_playbook_is_plays_or_an_error_with_its_place(text in playbookish()) {
        if let Err(e) = parse_plays("site.yml", &text) {
            prop_assert!(!e.message.is_empty());
            prop_assert!(e.to_string().starts_with("site.yml"), "{e}");
        }
    }

    #[test]
    fn key_value_arguments_are_params_or_a_named_error(
        module in prop::sample::select(NAMES),
        text in "[a-z=\"' \\\\{}]{0,60}",
    ) {
        let module = modules::resolve(module).unwrap();
        if let Err(e) = modules::params(module, Some(&text), None) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn a_template_renders_or_says_why(text in templateish()) {
        let vars = json!({ "x": 1, "l": ["a", "b"], "m": { "a": "{{ x }}" }, "item": "i" });
        let scope = Scope::layered([(vars.as_object().unwrap(), Origin::Written)]);
        let templates = Templates::new();
        if let Err(e) = templates.render_text(&text, &scope) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

/// The sizes the issue names, through the whole playbook path: each is a
/// clear error and nothing runs.
#[tokio::test]
async fn huge_deep_and_non_utf8_playbooks_are_refused_by_name() {
    let (dir, capstan) = engine();
    let huge = dir.path().join("huge.yml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let deep = dir.path().join("deep.yml");
    std::fs::write(
        &deep,
        format!(
            "- hosts: all\n  vars:\n    v: {}{}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        ),
    )
    .unwrap();
    let latin1 = dir.path().join("latin1.yml");
    std::fs::write(
        &latin1,
        b"- hosts: all\n  tasks:\n    - debug: msg=caf\xe9\n",
    )
    .unwrap();
    let bomb = dir.path().join("bomb.yml");
    let mut text = String::from("- hosts: all\n  vars:\n    a0: &a0 [x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let items = vec![format!("*a{}", i - 1); 8].join(", ");
        text.push_str(&format!("    a{i}: &a{i} [{items}]\n"));
    }
    std::fs::write(&bomb, text).unwrap();

    for (path, says) in [
        (&huge, "larger than 32 MiB"),
        (&deep, "levels deep"),
        (&latin1, "latin1.yml:3: not UTF-8"),
        (&bomb, "alias bomb"),
    ] {
        let options = PlaybookOptions {
            playbook: path.clone(),
            ..Default::default()
        };
        let err = capstan
            .run_playbook(options, Arc::new(|_: &PlaybookEvent| {}))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(says),
            "{}: `{err}` should say `{says}`",
            path.display()
        );
    }
    assert!(capstan.jobs(10).unwrap().is_empty(), "nothing ran");
}
