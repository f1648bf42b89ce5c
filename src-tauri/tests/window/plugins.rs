//! Installing a plugin through the grant dialog: what it asks for in plain
//! words, a capability refused there, and a file that is no plugin.

#[test]
fn a_plugin_is_installed_through_the_grant_dialog_with_only_what_was_ticked() {
    let home = tempfile::tempdir().unwrap();
    let mut window = crate::open(home.path(), "plugins");
    window.click("#nav-plugins");
    assert_eq!(window.text("h1"), "Plugins");
    // Bundled plugins are listed before any is installed.
    window.find("[data-plugin='command']");
    window.click("#install-plugin");

    // A file that is not a component: the field says so and keeps the text.
    let not_a_plugin = home.path().join("notes.txt");
    std::fs::write(&not_a_plugin, "hello").unwrap();
    window.type_into("#field-path", &not_a_plugin.to_string_lossy());
    window.click("#read-plugin");
    let error = window.text(".field.invalid .field-error");
    assert!(error.contains("notes.txt"), "{error}");
    let kept = window.script(
        "return document.querySelector('#field-path').value;",
        serde_json::json!([]),
    );
    assert_eq!(kept.as_str(), Some(&*not_a_plugin.to_string_lossy()));
    window.screenshot("not-a-plugin");

    window.type_into("#field-path", capstan_test_fixtures::PROBE);
    window.click("#read-plugin");
    let dialog = window.text(".grant-dialog");
    assert!(dialog.contains("Install probe"), "{dialog}");
    assert!(
        dialog.contains("keep its own data between runs")
            && dialog.contains("run commands, as your login, on the hosts you run it against"),
        "each capability in plain words: {dialog}"
    );
    assert!(
        dialog.contains("on this computer too, as you"),
        "acting on this computer is asked for on its own: {dialog}"
    );
    assert!(
        dialog.contains("send HTTP requests to the hosts you allow it"),
        "a 0.2 plugin's capabilities are asked for too: {dialog}"
    );
    // Refuse remote.exec, local, http and events; grant kv.
    for cap in ["remote.exec", "local", "http", "events"] {
        window.click(&format!(".grant-dialog input[data-cap='{cap}']"));
    }
    window.screenshot("grant-dialog");
    window.click("#confirm-install");
    let notice = window.text(".notice.ok");
    assert!(notice.contains("Installed probe, granted kv."), "{notice}");
    window.find("[data-plugin='probe']");
    window.screenshot("installed");

    let capstan = crate::engine(home.path());
    let installed = capstan
        .plugins()
        .unwrap()
        .into_iter()
        .find(|p| p.manifest.name == "probe")
        .expect("probe is installed");
    let grants: Vec<_> = installed.grants.iter().map(|c| c.name()).collect();
    assert_eq!(grants, ["kv"]);

    // Revoked from its card: the store holds nothing for it any more.
    window.click("[data-plugin='probe'] input[data-cap='kv']");
    let notice = window.wait_text(".notice.ok", |t| t.contains("revoked"));
    assert!(notice.contains("probe: kv revoked"), "{notice}");
    let probe = capstan
        .plugins()
        .unwrap()
        .into_iter()
        .find(|p| p.manifest.name == "probe")
        .unwrap();
    assert_eq!(probe.grants.iter().count(), 0);

    // The same file again: the dialog says what it replaces and asks
    // whether to keep the old plugin's data; the engine records a replace.
    window.click("#install-plugin");
    window.type_into("#field-path", capstan_test_fixtures::PROBE);
    window.click("#read-plugin");
    let replaces = window.text("#replaces");
    assert!(
        replaces.contains("A plugin called probe is installed already (probe"),
        "{replaces}"
    );
    assert!(
        replaces.contains("Keep the old plugin's stored data"),
        "{replaces}"
    );
    assert_eq!(window.text("#confirm-install"), "Replace");
    window.screenshot("replace-dialog");
    window.click("#confirm-install");
    let notice = window.wait_text(".notice.ok", |t| t.contains("Replaced"));
    assert!(notice.contains("Replaced probe, granted"), "{notice}");
    let audit = capstan.audit_log(10).unwrap();
    assert!(
        audit.iter().any(|e| e.action == "replace"
            && e.plugin.as_deref() == Some("probe")
            && e.detail.contains("deleted")),
        "{audit:?}"
    );
}
