//! The secrets store: values sealed under a 0600 key, never in clear on
//! disk, bound to their names, refused when altered, and masked in what a
//! playbook that uses them records.

use capstan_engine::Error;
use capstan_engine::playbook::PlaybookEvent;
use capstan_wire::Actor;

use crate::support::{assert_no_file_holds, engine, play};

const VALUE: &str = "correct-horse-battery-staple";

#[tokio::test]
async fn a_secret_is_sealed_on_disk_listed_by_name_and_masked_in_a_run() {
    let (dir, capstan) = engine();
    let alice = Actor::User("alice".into());
    capstan.set_secret("db_password", VALUE, &alice).unwrap();
    assert_eq!(capstan.secret_value("db_password").unwrap(), VALUE);
    let listed = capstan.secrets().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), &listed[0].updated_by),
        ("db_password", &alice)
    );

    let key = dir.path().join("secrets.key");
    let meta = std::fs::metadata(&key).unwrap();
    assert_eq!(meta.len(), 32);
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );

    // A playbook given it prints and records it masked.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("inv.ini"),
        "box ansible_connection=local\n",
    )
    .unwrap();
    std::fs::write(
        work.path().join("site.yml"),
        "- hosts: box\n  gather_facts: no\n  tasks:\n    - debug: msg=\"the password is {{ db_password }}\"\n",
    )
    .unwrap();
    let (report, events) = play(
        &capstan,
        &work.path().join("site.yml"),
        &work.path().join("inv.ini"),
        |options| {
            capstan
                .add_stored_secrets(options, &["db_password".to_string()])
                .unwrap()
        },
    )
    .await;
    assert!(!report.failed());
    let said = events
        .iter()
        .find_map(|e| match e {
            PlaybookEvent::HostDone(outcome) => Some(outcome.summary.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(said, "the password is ********");
    drop(capstan);
    assert_no_file_holds(dir.path(), VALUE, "secret's value");

    let capstan = crate::support::open(&dir);
    capstan
        .set_secret("db_password", "another-value", &alice)
        .unwrap();
    capstan.remove_secret("db_password", &alice).unwrap();
    assert!(matches!(
        capstan.secret_value("db_password"),
        Err(Error::NotFound(_))
    ));
    let actions: Vec<String> = capstan
        .audit_log(10)
        .unwrap()
        .into_iter()
        .filter(|e| e.subject == "secret:db_password")
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["remove", "replace", "add"], "newest first");
}

#[tokio::test]
async fn an_altered_moved_or_wrongly_keyed_secret_is_refused_by_name() {
    let (dir, capstan) = engine();
    let me = capstan.actor();
    capstan.set_secret("api_key", VALUE, &me).unwrap();
    drop(capstan);
    let db = rusqlite::Connection::open(dir.path().join("capstan.db")).unwrap();
    // Moved to another name: its name is sealed with it.
    db.execute(
        "INSERT INTO secrets (name, nonce, sealed, updated_by, created_at, updated_at)
         SELECT 'other_key', nonce, sealed, updated_by, created_at, updated_at FROM secrets WHERE name = 'api_key'",
        [],
    )
    .unwrap();
    let capstan = crate::support::open(&dir);
    let error = capstan.secret_value("other_key").unwrap_err().to_string();
    assert!(error.contains("`other_key` cannot be opened"), "{error}");
    assert_eq!(capstan.secret_value("api_key").unwrap(), VALUE);
    // A flipped bit.
    db.execute(
        "UPDATE secrets SET sealed = CAST(substr(sealed, 2) || substr(sealed, 1, 1) AS BLOB) WHERE name = 'api_key'",
        [],
    )
    .unwrap();
    assert!(capstan.secret_value("api_key").is_err());
    // Another key: every secret is refused, naming the key file.
    capstan.set_secret("fresh", VALUE, &me).unwrap();
    std::fs::write(dir.path().join("secrets.key"), [7u8; 32]).unwrap();
    let error = capstan.secret_value("fresh").unwrap_err().to_string();
    assert!(error.contains("secrets.key"), "{error}");
    std::fs::write(dir.path().join("secrets.key"), b"short").unwrap();
    let error = capstan.secret_value("fresh").unwrap_err().to_string();
    assert!(error.contains("holds 5 bytes"), "{error}");
}

#[test]
fn bad_names_and_values_are_refused() {
    let (_dir, capstan) = engine();
    let me = capstan.actor();
    for (name, value, says) in [
        ("1abc", "x", "secret name"),
        ("has space", "x", "secret name"),
        ("ok", "", "empty"),
    ] {
        let error = capstan
            .set_secret(name, value, &me)
            .unwrap_err()
            .to_string();
        assert!(error.contains(says), "{name:?}: {error}");
    }
    let big = "x".repeat(capstan_engine::MAX_SECRET_BYTES + 1);
    assert!(capstan.set_secret("big", &big, &me).is_err());
    assert!(capstan.secrets().unwrap().is_empty());
}
