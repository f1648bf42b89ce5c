//! [`Actor`]: who did something — started a job, cancelled it, granted a
//! capability. Written `kind:name` on the wire and in the store.

use std::fmt;
use std::str::FromStr;

/// Who acted. Jobs record who launched them; the audit log who changed what.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Actor {
    /// An OS user, through the CLI or the window on their machine.
    User(String),
    /// An API token, by its name.
    Token(String),
    /// A schedule, by its name.
    Schedule(String),
    /// An incoming webhook, by its name.
    Webhook(String),
}

impl Actor {
    /// The kind's word: `user`, `token`, `schedule` or `webhook`.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::Token(_) => "token",
            Actor::Schedule(_) => "schedule",
            Actor::Webhook(_) => "webhook",
        }
    }

    /// The user's, token's, schedule's or webhook's name.
    pub fn name(&self) -> &str {
        match self {
            Actor::User(n) | Actor::Token(n) | Actor::Schedule(n) | Actor::Webhook(n) => n,
        }
    }
}

impl Default for Actor {
    /// What records made before actors were kept read as: an unnamed user.
    fn default() -> Self {
        Actor::User(String::new())
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.name())
    }
}

impl FromStr for Actor {
    type Err = std::convert::Infallible;

    /// Reads `kind:name`; a bare name (no known kind before a colon) is a
    /// user, as the audit log wrote them before kinds existed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kind, name) = text.split_once(':').unwrap_or(("user", text));
        let name = name.to_string();
        match kind {
            "user" => Ok(Actor::User(name)),
            "token" => Ok(Actor::Token(name)),
            "schedule" => Ok(Actor::Schedule(name)),
            "webhook" => Ok(Actor::Webhook(name)),
            _ => Ok(Actor::User(text.to_string())),
        }
    }
}

impl serde::Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let Ok(actor) = text.parse();
        Ok(actor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_as_kind_and_name() {
        for actor in [
            Actor::User("alice".into()),
            Actor::Token("ci".into()),
            Actor::Schedule("nightly".into()),
            Actor::Webhook("deploy".into()),
        ] {
            let text = actor.to_string();
            assert_eq!(text.parse::<Actor>(), Ok(actor.clone()));
            let json = serde_json::to_string(&actor).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<Actor>(&json).unwrap(), actor);
        }
    }

    #[test]
    fn a_bare_name_is_a_user() {
        assert_eq!("root".parse::<Actor>(), Ok(Actor::User("root".into())));
        assert_eq!(
            "a:b".parse::<Actor>(),
            Ok(Actor::User("a:b".into())),
            "an unknown kind is part of a user's name"
        );
    }
}
