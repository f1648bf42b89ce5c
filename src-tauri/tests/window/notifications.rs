//! The Webhooks and Notifications pages: a webhook added from the form (a
//! missing secret named first) and removed; a channel and a rule added, a
//! channel in use kept, a real failed delivery shown with its attempt, the
//! SMTP server saved (a bad port named), and the rule and channel removed.
//! The engine on the same data folder sees each change.

use std::sync::Arc;

use serde_json::json;

#[test]
fn webhooks_channels_rules_and_deliveries_are_managed_from_the_window() {
    let home = tempfile::tempdir().unwrap();
    let engine = crate::engine(home.path());
    let me = engine.actor();
    engine.set_secret("deploy_key", "k-1", &me).unwrap();
    let mut window = crate::open(home.path(), "notifications");

    // A webhook: its secret must exist.
    window.click("#nav-webhooks");
    window.find(".empty");
    window.click("#add-webhook");
    window.type_into("#field-webhook-name", "deploy");
    window.type_into("#field-webhook-secret", "no_such_secret");
    window.type_into("#field-plugin", "debug");
    window.type_into("#field-action", "msg");
    window.type_into("#field-params", r#"{"msg": "pushed"}"#);
    window.click("#save-webhook");
    let error = window.text(".webhook-form .notice.error");
    assert!(
        error.contains("no_such_secret"),
        "the secret is named: {error}"
    );
    window.type_into("#field-webhook-secret", "deploy_key");
    window.click("#save-webhook");
    let added = window.text(".notice.ok");
    assert!(added.contains("/api/v1/hooks/deploy"), "{added}");
    let row = window.text("tr[data-webhook='deploy']");
    assert!(
        row.contains("debug msg") && row.contains("HMAC") && row.contains("deploy_key"),
        "{row}"
    );
    window.screenshot("webhook-added");
    let hooks = engine.webhooks().unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].created_by, me);
    window.click("tr[data-webhook='deploy'] button.remove");
    window.click("tr[data-webhook='deploy'] button.remove");
    window.find(".empty");
    assert!(engine.webhooks().unwrap().is_empty());

    // A webhook channel to a port nobody listens on, and a rule.
    let closed = {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    window.click("#nav-notifications");
    window.click("#add-channel");
    window.type_into("#field-channel-name", "out");
    window.select("#field-channel-kind", "webhook");
    window.type_into("#field-url", &format!("http://127.0.0.1:{closed}/notify"));
    window.click("#save-channel");
    window.find("tr[data-channel='out']");
    assert_eq!(
        engine.channels().unwrap()[0].host,
        format!("127.0.0.1:{closed}")
    );
    window.click("#add-rule");
    window.type_into("#field-rule-name", "debug-ends");
    window.select("#field-on", "finished");
    window.select("#field-channel", "out");
    window.type_into("#field-rule-plugin", "debug");
    window.click("#save-rule");
    let rule = window.text("tr[data-rule='debug-ends']");
    assert!(
        rule.contains("finishes") && rule.contains("plugin debug") && rule.contains("out"),
        "{rule}"
    );
    // A channel a rule sends to stays.
    window.click("tr[data-channel='out'] button.remove");
    window.click("tr[data-channel='out'] button.remove");
    let kept = window.text(".notice.error");
    assert!(kept.contains("debug-ends"), "the rule is named: {kept}");
    assert_eq!(engine.channels().unwrap().len(), 1);

    // A job the rule matches, and a real attempt that fails.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let request = capstan_engine::jobs::RunRequest::new(
            "debug",
            "msg",
            json!({ "msg": "hello" }),
            ["local"],
        );
        let done = engine.run(request, Arc::new(|_| {})).await.unwrap();
        let job = engine.job(done.job_id).unwrap();
        assert_eq!(engine.queue_notifications(&job).unwrap(), 1);
        engine
            .send_due_notifications(capstan_engine::clock::now_ms())
            .await
            .unwrap();
    });
    window.click("#reload-deliveries");
    window.find("tr[data-delivery][data-state='pending']");
    window.click("tr[data-delivery] details.attempts summary");
    let attempt = window.text("tr[data-delivery] details.attempts li");
    assert!(!attempt.is_empty(), "the attempt says what happened");
    window.screenshot("delivery-failed");

    // The SMTP server: a bad port is named, then it is saved.
    window.type_into("#field-smtp-host", "127.0.0.1");
    window.type_into("#field-smtp-port", "twenty-five");
    window.type_into("#field-smtp-from", "capstan@example.org");
    window.click("#save-smtp");
    let error = window.text(".smtp-form .field-error");
    assert!(error.contains("port"), "{error}");
    window.type_into("#field-smtp-port", "2525");
    window.click("#save-smtp");
    window.wait_text(".notice.ok", |t| t.contains("E-mail server saved"));
    let smtp = engine.smtp().unwrap().unwrap();
    assert_eq!((smtp.host.as_str(), smtp.port), ("127.0.0.1", 2525));
    window.screenshot("smtp-saved");

    // The rule, then the channel, go.
    window.click("tr[data-rule='debug-ends'] button.remove");
    window.click("tr[data-rule='debug-ends'] button.remove");
    window.wait_text(".notice.ok", |t| t.contains("debug-ends removed"));
    window.click("tr[data-channel='out'] button.remove");
    window.click("tr[data-channel='out'] button.remove");
    window.wait_text(".notice.ok", |t| t.contains("out removed"));
    assert!(engine.rules().unwrap().is_empty());
    assert!(engine.channels().unwrap().is_empty());
}
