//! Adding a host of the test fleet (a real sshd on loopback) through the
//! form, checking it, trusting its host key after seeing the fingerprint,
//! and seeing it reachable on the Overview.

use crate::fleet::Sshd;

#[test]
fn a_fleet_host_is_added_checked_and_trusted_from_the_window() {
    let sshd = Sshd::start();
    let home = tempfile::tempdir().unwrap();
    let mut window = crate::open(home.path(), "hosts");
    window.click("#nav-hosts");
    window.click("#add-host");
    window.type_into("#field-name", "web-1");
    window.type_into("#field-address", "127.0.0.1");
    window.type_into("#field-port", "70000");
    window.type_into("#field-user", &sshd.user);
    window.select("#field-auth", "key");
    window.type_into("#field-auth_value", &sshd.client_key.to_string_lossy());
    window.select("#field-environment", "dev");
    window.click("#save-host");

    // The wrong field is named; what was typed stays.
    let error = window.text(".field.invalid .field-error");
    assert!(error.contains("port") && error.contains("70000"), "{error}");
    let name = window.script(
        "return document.querySelector('#field-name').value;",
        serde_json::json!([]),
    );
    assert_eq!(name.as_str(), Some("web-1"));
    window.screenshot("bad-port");
    window.type_into("#field-port", &sshd.port.to_string());
    window.click("#save-host");
    window.text(".notice.ok");
    window.find("tr[data-host='web-1']");

    // First contact: the host key is unknown; its fingerprint is shown.
    window.click("tr[data-host='web-1'] button.check");
    let trust = window.text(".trust");
    assert!(trust.contains("SHA256:"), "{trust}");
    window.screenshot("trust-step");
    window.click(".trust-key");
    let check = window.wait_text("tr[data-host='web-1'] .check-cell", |t| {
        t.contains("reachable") && !t.contains("unreachable")
    });
    assert!(check.contains("Linux"), "uname answered: {check}");
    window.screenshot("checked");

    // Facts, gathered over the same login by the setup plugin.
    window.click("tr[data-host='web-1'] button.facts");
    let facts = window.wait_text(".facts-panel", |t| t.contains("ansible_system"));
    assert!(facts.contains("Linux"), "{facts}");
    window.screenshot("facts");

    // The Overview counts it reachable in dev.
    window.click("#nav-overview");
    let hosts = window.text(".card:nth-child(1)");
    assert!(hosts.contains("dev"), "{hosts}");
    let reachable = window.text(".env .dot.ok");
    assert_eq!(reachable, "1");
    window.screenshot("overview-reachable");

    // Renamed from its Edit form: one step in the engine, the old name gone.
    window.click("#nav-hosts");
    window.click("tr[data-host='web-1'] button.edit");
    window.type_into("#field-name", "web-01");
    window.click("#save-host");
    window.find("tr[data-host='web-01']");
    let names: Vec<String> = crate::engine(home.path())
        .hosts()
        .unwrap()
        .into_iter()
        .map(|h| h.name)
        .collect();
    assert_eq!(names, ["web-01"]);
}
