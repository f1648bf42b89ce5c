//! A small SMTP client for e-mail notifications: one message per
//! connection, STARTTLS when offered (or required, or TLS from the start),
//! `AUTH PLAIN` only over TLS or to a server on loopback, every line read
//! with a size and time bound. No header is taken from what a job said
//! without refusing line breaks, so nothing can add a header or a
//! recipient.

use std::sync::Arc;
use std::time::Duration;

use capstan_wire::notifications::{SmtpSecurity, SmtpSettings};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The longest any one step (connect, a reply, the TLS handshake) may take.
const STEP_TIME: Duration = Duration::from_secs(20);
/// The longest reply line read.
const MAX_LINE: usize = 4_096;

/// One message to send.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The recipients.
    pub to: Vec<String>,
    /// The subject (one line).
    pub subject: String,
    /// The text body.
    pub body: String,
}

/// Anything the conversation can run over.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Checks an address: one `@`, no spaces, angle brackets or line breaks.
pub fn check_address(address: &str) -> Result<(), String> {
    let ok = address.len() <= 254
        && address.matches('@').count() == 1
        && !address.starts_with('@')
        && !address.ends_with('@')
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an e-mail address Capstan sends to",
            address.escape_debug()
        ))
    }
}

/// Sends `mail` through `settings`' server; `password` is the login's
/// (from the secrets store). Returns what the server said on accepting it.
pub async fn send(
    settings: &SmtpSettings,
    password: Option<&str>,
    mail: &Mail,
) -> Result<String, String> {
    check_address(&settings.from)?;
    for to in &mail.to {
        check_address(to)?;
    }
    if mail.to.is_empty() {
        return Err("no recipient".into());
    }
    let place = format!("{}:{}", settings.host, settings.port);
    let tcp = step(
        &place,
        "connect",
        tokio::net::TcpStream::connect((settings.host.as_str(), settings.port)),
    )
    .await?
    .map_err(|e| format!("{place}: could not connect: {e}"))?;
    let loopback = tcp.peer_addr().is_ok_and(|a| a.ip().is_loopback());
    let mut tls = false;
    let mut io: Box<dyn Io> = if settings.security == SmtpSecurity::Tls {
        tls = true;
        Box::new(handshake(settings, tcp).await?)
    } else {
        Box::new(tcp)
    };
    expect(&mut io, &place, 220).await?;
    let mut offers = ehlo(&mut io, &place).await?;
    let starttls = offers.iter().any(|o| o.eq_ignore_ascii_case("STARTTLS"));
    if !tls && (starttls || settings.security == SmtpSecurity::Required) {
        if !starttls {
            return Err(format!(
                "{place} does not offer STARTTLS, and security is `required`"
            ));
        }
        command(&mut io, &place, "STARTTLS", 220).await?;
        io = Box::new(handshake(settings, io).await?);
        tls = true;
        offers = ehlo(&mut io, &place).await?;
    }
    if let Some(user) = &settings.user {
        if !tls && !loopback {
            return Err(format!(
                "{place} offered no TLS: Capstan does not send a password in clear beyond loopback"
            ));
        }
        if !offers.iter().any(|o| {
            o.to_ascii_uppercase().starts_with("AUTH") && o.to_ascii_uppercase().contains("PLAIN")
        }) {
            return Err(format!("{place} does not offer AUTH PLAIN"));
        }
        let token = base64(format!("\0{user}\0{}", password.unwrap_or("")).as_bytes());
        command(&mut io, &place, &format!("AUTH PLAIN {token}"), 235)
            .await
            .map_err(|e| e.replace(&token, "********"))?;
    }
    command(
        &mut io,
        &place,
        &format!("MAIL FROM:<{}>", settings.from),
        250,
    )
    .await?;
    for to in &mail.to {
        command(&mut io, &place, &format!("RCPT TO:<{to}>"), 250).await?;
    }
    command(&mut io, &place, "DATA", 354).await?;
    let message = message(&settings.from, mail)?;
    step(&place, "send the message", io.write_all(message.as_bytes()))
        .await?
        .map_err(|e| format!("{place}: the connection broke: {e}"))?;
    let accepted = expect(&mut io, &place, 250).await?;
    let _ = command(&mut io, &place, "QUIT", 221).await;
    Ok(accepted)
}

/// The message as sent after `DATA`: headers, the body with every line
/// ending in CRLF and a leading dot doubled, and the closing dot.
fn message(from: &str, mail: &Mail) -> Result<String, String> {
    if mail.subject.contains(['\r', '\n']) {
        return Err("the subject holds a line break".into());
    }
    let mut text = format!(
        "From: {from}\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        mail.to.join(", "),
        mail.subject
    );
    for line in mail.body.lines() {
        if line.starts_with('.') {
            text.push('.');
        }
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str(".\r\n");
    Ok(text)
}

/// `EHLO`, and the extensions the server lists.
async fn ehlo(io: &mut Box<dyn Io>, place: &str) -> Result<Vec<String>, String> {
    send_line(io, place, "EHLO capstan").await?;
    let reply = read_reply(io, place).await?;
    if reply.0 != 250 {
        return Err(format!("{place} refused EHLO: {}", reply.1.join(" ")));
    }
    Ok(reply.1.into_iter().skip(1).collect())
}

/// Sends one command and expects `code`; the reply's text.
async fn command(
    io: &mut Box<dyn Io>,
    place: &str,
    line: &str,
    code: u16,
) -> Result<String, String> {
    send_line(io, place, line).await?;
    let verb = line.split(' ').next().unwrap_or(line);
    expect(io, place, code)
        .await
        .map_err(|e| format!("{e} (after {verb})"))
}

async fn send_line(io: &mut Box<dyn Io>, place: &str, line: &str) -> Result<(), String> {
    step(
        place,
        "send",
        io.write_all(format!("{line}\r\n").as_bytes()),
    )
    .await?
    .map_err(|e| format!("{place}: the connection broke: {e}"))
}

/// Reads a reply and checks its code.
async fn expect(io: &mut Box<dyn Io>, place: &str, code: u16) -> Result<String, String> {
    let (got, lines) = read_reply(io, place).await?;
    if got != code {
        return Err(format!("{place} answered {got} {}", lines.join(" ")));
    }
    Ok(format!("{got} {}", lines.join(" ")))
}

/// One reply: its code and the text of each line.
async fn read_reply(io: &mut Box<dyn Io>, place: &str) -> Result<(u16, Vec<String>), String> {
    let mut reader = BufReader::new(io);
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let read = step(place, "read a reply", async {
            let mut limited = (&mut reader).take(MAX_LINE as u64);
            limited.read_until(b'\n', &mut line).await
        })
        .await?
        .map_err(|e| format!("{place}: the connection broke: {e}"))?;
        if read == 0 {
            return Err(format!("{place} closed the connection"));
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let code = text
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| format!("{place} answered something that is not SMTP"))?;
        let last = text.as_bytes().get(3) != Some(&b'-');
        lines.push(text.get(4..).unwrap_or("").to_string());
        if last {
            return Ok((code, lines));
        }
        if lines.len() > 100 {
            return Err(format!("{place} answered with too many lines"));
        }
    }
}

/// The TLS handshake with the server, trusting the system's roots and the
/// settings' `ca_cert`.
async fn handshake<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    settings: &SmtpSettings,
    stream: S,
) -> Result<tokio_rustls::client::TlsStream<S>, String> {
    let place = format!("{}:{}", settings.host, settings.port);
    let mut roots = system_roots().clone();
    if let Some(path) = &settings.ca_cert {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let certs =
            CertificateDer::pem_file_iter(path).map_err(|e| format!("ca_cert {path}: {e}"))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("ca_cert {path}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_cert {path}: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(settings.host.clone())
        .map_err(|e| format!("{place}: not a name TLS can check: {e}"))?;
    step(
        &place,
        "finish the TLS handshake",
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, stream),
    )
    .await?
    .map_err(|e| format!("{place}: TLS failed: {e}"))
}

/// The system's trusted certificates, read once per process.
fn system_roots() -> &'static rustls::RootCertStore {
    static ROOTS: std::sync::OnceLock<rustls::RootCertStore> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        roots
    })
}

/// Runs one step within [`STEP_TIME`].
async fn step<T>(place: &str, what: &str, work: impl Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(STEP_TIME, work)
        .await
        .map_err(|_| format!("{place}: did not {what} within {} s", STEP_TIME.as_secs()))
}

/// Standard base64 with padding (AUTH PLAIN's encoding).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn a_message_cannot_gain_headers_and_its_dots_are_doubled() {
        let mail = Mail {
            to: vec!["ops@example.com".into()],
            subject: "job 1 failed".into(),
            body: "line one\n.hidden\nend".into(),
        };
        let text = message("capstan@example.com", &mail).unwrap();
        assert!(
            text.contains("\r\n\r\nline one\r\n..hidden\r\nend\r\n.\r\n"),
            "{text}"
        );
        let bad = Mail {
            subject: "x\r\nBcc: evil@example.com".into(),
            ..mail
        };
        assert!(message("capstan@example.com", &bad).is_err());
        for address in [
            "a b@example.com",
            "<a@example.com>",
            "a@example.com\r\nRCPT",
            "noat",
        ] {
            assert!(check_address(address).is_err(), "{address}");
        }
        assert!(check_address("ops+capstan@example.com").is_ok());
    }
}
