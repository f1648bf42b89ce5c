//! What Capstan last learnt when it logged in to a host: reachable or not,
//! why, and the fingerprint of a host key it has not been told to trust.

pub use capstan_wire::hosts::HostCheck;

/// The `ALGORITHM SHA256:…` fingerprint in an "unknown host key" refusal
/// from the SSH transport, if `message` is one.
pub fn unknown_key_in(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("unknown host key ")?;
    let mut words = rest.split(|c: char| c.is_whitespace() || c == ';');
    let algorithm = words.next().filter(|w| !w.is_empty())?;
    let fingerprint = words.next().filter(|w| w.starts_with("SHA256:"))?;
    Some(format!("{algorithm} {fingerprint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_read_from_the_refusal() {
        let message = "web-1 (127.0.0.1:2222): unknown host key ssh-ed25519 SHA256:abcDEF+/12; \
                       if that is the host's key, trust it";
        assert_eq!(
            unknown_key_in(message).as_deref(),
            Some("ssh-ed25519 SHA256:abcDEF+/12")
        );
        assert_eq!(unknown_key_in("connection refused"), None);
        assert_eq!(unknown_key_in("unknown host key ssh-rsa"), None);
    }
}
