//! What one plugin holds: capabilities, and the HTTP hosts it may reach.
//!
//! Most grants are a [`Capability`] alone. Outbound HTTP is granted host by
//! host, like Spin's allowed outbound hosts: `http:hooks.example.com` lets a
//! plugin reach that host on the scheme's default port, and
//! `http:127.0.0.1:8080` that port only. A grant is written as one string
//! (`kv`, `http:api.example.com`) in the store, on the command line and in
//! JSON.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::plugins::Capability;

/// A host a plugin may send HTTP requests to: a name or an IP address, and
/// a port when not the scheme's default.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpHost {
    /// Lower-case host name, IPv4 address, or IPv6 address in brackets.
    pub host: String,
    /// The one port allowed; `None` allows 80 for `http` and 443 for `https`.
    pub port: Option<u16>,
}

impl HttpHost {
    /// True when a request to `host:port` by `scheme` falls within this grant.
    /// `host` must already be lower case (as a parsed URL's is).
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        if self.host != host {
            return false;
        }
        match self.port {
            Some(granted) => granted == port,
            None => matches!((scheme, port), ("http", 80) | ("https", 443)),
        }
    }
}

impl fmt::Display for HttpHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

impl FromStr for HttpHost {
    type Err = String;

    /// Reads `host`, `host:port`, `[v6]` or `[v6]:port`; refuses schemes,
    /// paths, user names, wildcards and anything but plain ASCII names.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = |why: &str| {
            Err(format!(
                "`{}` is not an HTTP host to grant: {why} (write `api.example.com` or \
                 `127.0.0.1:8080`)",
                text.escape_debug()
            ))
        };
        if text.contains("://") {
            return refuse("give the host alone, without a scheme");
        }
        if text.contains(['/', '?', '#', '@', '*']) || text.chars().any(char::is_whitespace) {
            return refuse("it may not hold a path, a user name, a wildcard or spaces");
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let Some((inside, after)) = rest.split_once(']') else {
                return refuse("an IPv6 address needs its closing `]`");
            };
            if inside.parse::<std::net::Ipv6Addr>().is_err() {
                return refuse("what is inside `[...]` is not an IPv6 address");
            }
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(port) => Some(port),
                    None => return refuse("only `:port` may follow `]`"),
                },
            };
            (format!("[{}]", inside.to_ascii_lowercase()), port)
        } else {
            match text.rsplit_once(':') {
                Some((host, port)) => (host.to_ascii_lowercase(), Some(port)),
                None => (text.to_ascii_lowercase(), None),
            }
        };
        let port = match port {
            None => None,
            Some(port) => match port.parse::<u16>() {
                Ok(0) | Err(_) => return refuse("the port must be a number from 1 to 65535"),
                Ok(port) => Some(port),
            },
        };
        if !host.starts_with('[') {
            let valid_name = !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !valid_name {
                return refuse("the host must be a DNS name or an IP address, in ASCII");
            }
        }
        Ok(HttpHost { host, port })
    }
}

/// One thing a user grants a plugin: a capability, or one HTTP host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grant {
    /// A capability such as `kv` or `remote.exec`.
    Capability(Capability),
    /// Requests to one host (`http:HOST[:PORT]`); it implies `http`.
    Http(HttpHost),
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Capability(cap) => f.write_str(cap.name()),
            Grant::Http(host) => write!(f, "http:{host}"),
        }
    }
}

impl FromStr for Grant {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.strip_prefix("http:") {
            Some(host) => host.parse().map(Grant::Http),
            None => text.parse().map(Grant::Capability).map_err(|e| {
                format!("{e}; an HTTP host is granted as `http:HOST` or `http:HOST:PORT`")
            }),
        }
    }
}

impl From<Capability> for Grant {
    fn from(cap: Capability) -> Self {
        Grant::Capability(cap)
    }
}

/// The capabilities and HTTP hosts granted to one plugin. Written as a list
/// of grant strings (`["kv", "http:api.example.com"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantSet {
    capabilities: BTreeSet<Capability>,
    http_hosts: BTreeSet<HttpHost>,
}

impl GrantSet {
    /// A set holding exactly these capabilities (and no HTTP host).
    pub fn new(caps: impl IntoIterator<Item = Capability>) -> Self {
        GrantSet {
            capabilities: caps.into_iter().collect(),
            http_hosts: BTreeSet::new(),
        }
    }

    /// A set holding exactly these grants; an HTTP host brings `http` with it.
    pub fn from_grants(grants: impl IntoIterator<Item = Grant>) -> Self {
        let mut set = GrantSet::default();
        for grant in grants {
            set.add(grant);
        }
        set
    }

    /// True when `cap` is granted.
    pub fn contains(&self, cap: Capability) -> bool {
        self.capabilities.contains(&cap)
    }

    /// The granted capabilities, sorted.
    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        self.capabilities.iter().copied()
    }

    /// The HTTP hosts granted, sorted.
    pub fn http_hosts(&self) -> impl Iterator<Item = &HttpHost> + '_ {
        self.http_hosts.iter()
    }

    /// Every grant, capabilities first, as they are stored and printed.
    pub fn grants(&self) -> impl Iterator<Item = Grant> + '_ {
        self.iter()
            .map(Grant::Capability)
            .chain(self.http_hosts.iter().cloned().map(Grant::Http))
    }

    /// True when a request to `host:port` by `scheme` is granted: `http`
    /// is held and some granted host allows it.
    pub fn allows_http(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.contains(Capability::Http)
            && self
                .http_hosts
                .iter()
                .any(|granted| granted.allows(scheme, host, port))
    }

    /// Adds a grant (an HTTP host adds `http` too).
    pub fn add(&mut self, grant: Grant) {
        match grant {
            Grant::Capability(cap) => {
                self.capabilities.insert(cap);
            }
            Grant::Http(host) => {
                self.capabilities.insert(Capability::Http);
                self.http_hosts.insert(host);
            }
        }
    }

    /// Takes a grant away; taking `http` takes every HTTP host with it.
    pub fn remove(&mut self, grant: &Grant) {
        match grant {
            Grant::Capability(Capability::Http) => {
                self.capabilities.remove(&Capability::Http);
                self.http_hosts.clear();
            }
            Grant::Capability(cap) => {
                self.capabilities.remove(cap);
            }
            Grant::Http(host) => {
                self.http_hosts.remove(host);
            }
        }
    }
}

impl Serialize for GrantSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.grants().map(|g| g.to_string()))
    }
}

impl<'de> Deserialize<'de> for GrantSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        names
            .iter()
            .map(|name| name.parse::<Grant>())
            .collect::<Result<Vec<_>, _>>()
            .map(GrantSet::from_grants)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for GrantSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(
                        "A capability (`kv`, `remote.exec`, ...) or an HTTP host (`http:HOST[:PORT]`)",
                    )),
            )
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for GrantSet {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_to_their_canonical_form_and_bad_ones_say_why() {
        let host: HttpHost = "Hooks.Example.COM".parse().unwrap();
        assert_eq!(host.to_string(), "hooks.example.com");
        assert_eq!(
            "127.0.0.1:8080".parse::<HttpHost>().unwrap().port,
            Some(8080)
        );
        assert_eq!(
            "[::1]:9000".parse::<HttpHost>().unwrap().to_string(),
            "[::1]:9000"
        );
        for (bad, why) in [
            ("https://x.example", "without a scheme"),
            ("x.example/path", "path"),
            ("user@x.example", "user name"),
            ("*.example.com", "wildcard"),
            ("x.example:0", "port"),
            ("x.example:99999", "port"),
            ("", "DNS name"),
            ("bad_name.example", "DNS name"),
            ("[not-v6]", "IPv6"),
            ("bücher.example", "ASCII"),
        ] {
            let err = bad.parse::<HttpHost>().unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn a_host_grant_allows_its_port_only() {
        let set = GrantSet::from_grants([
            "http:hooks.example.com".parse().unwrap(),
            "http:127.0.0.1:8080".parse().unwrap(),
        ]);
        assert!(set.allows_http("https", "hooks.example.com", 443));
        assert!(set.allows_http("http", "hooks.example.com", 80));
        assert!(!set.allows_http("https", "hooks.example.com", 8443));
        assert!(!set.allows_http("https", "evil.example.com", 443));
        assert!(!set.allows_http("https", "example.com", 443));
        assert!(set.allows_http("http", "127.0.0.1", 8080));
        assert!(!set.allows_http("http", "127.0.0.1", 80));
    }

    #[test]
    fn taking_http_takes_every_host_and_round_trips_as_strings() {
        let mut set =
            GrantSet::from_grants(["kv".parse().unwrap(), "http:a.example".parse().unwrap()]);
        assert!(set.contains(Capability::Http));
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["kv","http","http:a.example"]"#);
        assert_eq!(serde_json::from_str::<GrantSet>(&json).unwrap(), set);
        set.remove(&Grant::Capability(Capability::Http));
        assert!(!set.allows_http("https", "a.example", 443));
        assert_eq!(set.http_hosts().count(), 0);
        let err = "network".parse::<Grant>().unwrap_err();
        assert!(err.contains("http:HOST"), "{err}");
    }
}
