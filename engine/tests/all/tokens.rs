//! API tokens: the secret is shown once and only its hash is stored; a
//! revoked or expired token is refused at once; every change is audited.

use std::time::Duration;

use capstan_engine::{Error, TOKEN_PREFIX, TokenRefused};
use capstan_wire::Actor;
use capstan_wire::tokens::Scope;

use crate::support::{assert_no_file_holds, engine, open};

#[test]
fn a_token_revoked_by_another_process_is_refused_by_the_next_request() {
    let (dir, service) = engine();
    let cli = open(&dir);
    let alice = Actor::User("alice".into());
    let made = cli
        .create_token("deploy", Scope::Run, None, &alice)
        .unwrap();
    for _ in 0..3 {
        // Answered from memory after the first: the database is unchanged.
        assert!(service.authenticate(&made.secret).unwrap().is_ok());
    }
    cli.revoke_token("deploy", &alice).unwrap();
    assert_eq!(
        service.authenticate(&made.secret).unwrap(),
        Err(TokenRefused::Revoked("deploy".into()))
    );
    let remade = cli
        .create_token("deploy", Scope::Read, None, &alice)
        .unwrap();
    assert_eq!(
        service.authenticate(&remade.secret).unwrap().unwrap().scope,
        Scope::Read
    );
}

#[test]
fn a_token_authenticates_until_revoked_and_its_secret_is_never_stored() {
    let (dir, capstan) = engine();
    let alice = Actor::User("alice".into());
    let made = capstan
        .create_token("ci", Scope::Run, None, &alice)
        .unwrap();
    assert!(made.secret.starts_with(TOKEN_PREFIX), "{}", made.secret);
    assert_eq!(made.secret.len(), TOKEN_PREFIX.len() + 48);
    assert!(made.secret.starts_with(&made.info.prefix));

    let token = capstan.authenticate(&made.secret).unwrap().unwrap();
    assert_eq!((token.name.as_str(), token.scope), ("ci", Scope::Run));
    assert_eq!(token.created_by, alice);
    assert!(
        capstan.tokens().unwrap()[0].last_used_at_ms.is_some(),
        "its use is recorded"
    );
    let wrong = format!("{}0", &made.secret[..made.secret.len() - 1]);
    let guessed = if wrong == made.secret {
        format!("{TOKEN_PREFIX}x")
    } else {
        wrong
    };
    assert_eq!(
        capstan.authenticate(&guessed).unwrap(),
        Err(TokenRefused::Unknown)
    );
    assert_eq!(
        capstan.authenticate("").unwrap(),
        Err(TokenRefused::Unknown)
    );

    let again = capstan.create_token("ci", Scope::Read, None, &alice);
    assert!(
        matches!(&again, Err(Error::BadInput(m)) if m.contains("a token named `ci` exists")),
        "{again:?}"
    );
    assert!(matches!(
        capstan.create_token("no spaces", Scope::Read, None, &alice),
        Err(Error::BadInput(_))
    ));

    capstan.revoke_token("ci", &alice).unwrap();
    assert_eq!(
        capstan.authenticate(&made.secret).unwrap(),
        Err(TokenRefused::Revoked("ci".into()))
    );
    assert!(matches!(
        capstan.revoke_token("ci", &alice),
        Err(Error::BadInput(_))
    ));
    // The name is free again; the old secret stays refused.
    let renewed = capstan
        .create_token("ci", Scope::Admin, None, &alice)
        .unwrap();
    assert_eq!(
        capstan
            .authenticate(&renewed.secret)
            .unwrap()
            .unwrap()
            .scope,
        Scope::Admin
    );
    assert!(capstan.authenticate(&made.secret).unwrap().is_err());

    let listed = capstan.tokens().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed[0].revoked_at_ms.is_none() && listed[1].revoked_at_ms.is_some(),
        "live first"
    );

    let audit = capstan.audit_log(10).unwrap();
    let said: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.subject.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            ("alice", "create", "token:ci"),
            ("alice", "revoke", "token:ci"),
            ("alice", "create", "token:ci"),
        ]
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
    );
    assert!(audit.iter().all(|e| e.plugin.is_none()));

    drop(capstan);
    for secret in [&made.secret, &renewed.secret] {
        assert_no_file_holds(dir.path(), secret, "a token's secret");
    }
}

#[test]
fn an_expired_token_is_refused() {
    let (_dir, capstan) = engine();
    let made = capstan
        .create_token(
            "brief",
            Scope::Read,
            Some(Duration::from_millis(1)),
            &Actor::Token("admin".into()),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        capstan.authenticate(&made.secret).unwrap(),
        Err(TokenRefused::Expired("brief".into()))
    );
    let entry = &capstan.audit_log(1).unwrap()[0];
    assert_eq!(
        entry.actor, "token:admin",
        "made through the API by another token"
    );
}
