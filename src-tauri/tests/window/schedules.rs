//! The Schedules and Secrets pages: a schedule added from the form (a bad
//! cron expression named first), shown with its next times, paused and
//! removed; a secret stored from a password field, listed by name only,
//! and removed. The engine on the same data folder sees each change.

#[test]
fn a_schedule_is_added_paused_and_removed_and_a_secret_stored_from_the_window() {
    let home = tempfile::tempdir().unwrap();
    let mut window = crate::open(home.path(), "schedules");
    window.click("#nav-schedules");
    window.find(".empty");
    window.click("#add-schedule");
    window.type_into("#field-schedule-name", "tick");
    window.type_into("#field-cron", "*/5 * * * * * *");
    window.type_into("#field-plugin", "debug");
    window.type_into("#field-action", "msg");
    window.type_into("#field-params", r#"{"msg": "from a schedule"}"#);
    window.click("#save-schedule");
    let error = window.text(".schedule-form .notice.error");
    assert!(
        error.contains("`*/5 * * * * * *`"),
        "the expression is named: {error}"
    );
    window.screenshot("bad-cron");

    window.type_into("#field-cron", "*/5 * * * * *");
    window.click("#save-schedule");
    let added = window.text(".notice.ok");
    assert!(added.contains("Added tick"), "{added}");
    let next = window.text("tr[data-schedule='tick'] .next-runs");
    assert!(!next.is_empty() && next != "paused", "{next}");
    let row = window.text("tr[data-schedule='tick']");
    assert!(
        row.contains("debug msg") && row.contains("*/5 * * * * *"),
        "{row}"
    );
    window.screenshot("added");
    let engine = crate::engine(home.path());
    let stored = engine.schedules().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].created_by, engine.actor());

    window.click("tr[data-schedule='tick'] button.pause");
    window.wait_text("tr[data-schedule='tick'] .next-runs", |t| t == "paused");
    assert!(engine.schedules().unwrap()[0].paused);
    window.screenshot("paused");
    window.click("tr[data-schedule='tick'] button.remove");
    window.click("tr[data-schedule='tick'] button.remove");
    window.find(".empty");
    assert!(engine.schedules().unwrap().is_empty());

    window.click("#nav-secrets");
    window.type_into("#field-secret-name", "slack_url");
    window.type_into("#field-secret-value", "hush-8812-never-shown");
    window.click("#save-secret");
    window.find("tr[data-secret='slack_url']");
    assert!(
        !window.page_text().contains("hush-8812"),
        "the value is never shown"
    );
    let value = window.script(
        "return document.querySelector('#field-secret-value').value;",
        serde_json::json!([]),
    );
    assert_eq!(value.as_str(), Some(""), "the field is cleared once stored");
    assert_eq!(
        engine.secret_value("slack_url").unwrap(),
        "hush-8812-never-shown"
    );
    window.screenshot("secret-stored");
    window.click("tr[data-secret='slack_url'] button.remove");
    window.click("tr[data-secret='slack_url'] button.remove");
    window.find(".empty");
    assert!(engine.secrets().unwrap().is_empty());
}
