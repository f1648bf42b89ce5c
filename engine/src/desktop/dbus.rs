//! Just enough of the D-Bus wire protocol to hand a desktop notification
//! to the session bus: connect over its Unix socket (a path or an abstract
//! name), authenticate as this process's user (`EXTERNAL`), say `Hello`,
//! make method calls and read their replies; and, for tests that stand in
//! for a notification server, own a name, read the calls sent to it and
//! answer them. Values are the few types those need: bytes, 32-bit
//! integers, strings, object paths, signatures, arrays of strings and
//! empty dictionaries. Everything read is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// The longest message accepted from the bus.
const MAX_MESSAGE: usize = 1 << 20;

/// How long any read or write on the bus may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A D-Bus failure, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbusError {
    /// No session bus: the variable is unset, or names no socket we use.
    #[error("{0}")]
    NoBus(String),
    /// The bus could not be reached or broke off.
    #[error("the session bus at {address}: {message}")]
    Io {
        /// The address connected to.
        address: String,
        /// What failed.
        message: String,
    },
    /// The bus or the callee answered with an error.
    #[error("{name}: {message}")]
    Remote {
        /// The D-Bus error name (`org.freedesktop.DBus.Error.ServiceUnknown`).
        name: String,
        /// Its message.
        message: String,
    },
    /// A message did not parse.
    #[error("a malformed D-Bus message: {0}")]
    Malformed(String),
}

/// One value of a message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `u`.
    U32(u32),
    /// `i`.
    I32(i32),
    /// `s`.
    Str(String),
    /// `as`.
    Strings(Vec<String>),
    /// `a{sv}`, always empty here.
    EmptyDict,
}

impl Value {
    fn signature(&self) -> &'static str {
        match self {
            Value::U32(_) => "u",
            Value::I32(_) => "i",
            Value::Str(_) => "s",
            Value::Strings(_) => "as",
            Value::EmptyDict => "a{sv}",
        }
    }
}

/// A message's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A method call.
    Call = 1,
    /// A method's answer.
    Return = 2,
    /// A method's error.
    Error = 3,
    /// A signal.
    Signal = 4,
}

/// A message read from the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its kind.
    pub kind: Kind,
    /// Its serial.
    pub serial: u32,
    /// The call it answers (returns and errors).
    pub reply_serial: Option<u32>,
    /// The member called (calls and signals).
    pub member: Option<String>,
    /// The sender's unique name.
    pub sender: Option<String>,
    /// The error's name (errors).
    pub error_name: Option<String>,
    /// The body's signature.
    pub signature: String,
    /// The body's strings, `u`s and `i`s, in order (the rest skipped).
    pub body: Vec<Value>,
}

/// Writes values with D-Bus alignment, little-endian.
#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, to: usize) {
        while !self.bytes.len().is_multiple_of(to) {
            self.bytes.push(0);
        }
    }
    fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    fn string(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
    }
    fn signature(&mut self, s: &str) {
        self.u8(s.len() as u8);
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
    }
    fn value(&mut self, value: &Value) {
        match value {
            Value::U32(v) => self.u32(*v),
            Value::I32(v) => self.u32(*v as u32),
            Value::Str(s) => self.string(s),
            Value::Strings(list) => {
                self.u32(0);
                let at = self.bytes.len();
                for s in list {
                    self.string(s);
                }
                let length = (self.bytes.len() - at) as u32;
                self.bytes[at - 4..at].copy_from_slice(&length.to_le_bytes());
            }
            Value::EmptyDict => {
                self.u32(0);
                // Dictionary entries align to 8, even when there are none.
                self.pad(8);
            }
        }
    }
}

/// Header field codes.
const PATH: u8 = 1;
const INTERFACE: u8 = 2;
const MEMBER: u8 = 3;
const ERROR_NAME: u8 = 4;
const REPLY_SERIAL: u8 = 5;
const DESTINATION: u8 = 6;
const SENDER: u8 = 7;
const SIGNATURE: u8 = 8;

/// What a message to send says.
pub struct Outgoing<'a> {
    /// Its kind.
    pub kind: Kind,
    /// The object path (calls).
    pub path: Option<&'a str>,
    /// The interface (calls).
    pub interface: Option<&'a str>,
    /// The member (calls).
    pub member: Option<&'a str>,
    /// Where it goes.
    pub destination: Option<&'a str>,
    /// The call it answers (returns).
    pub reply_serial: Option<u32>,
    /// Its body.
    pub body: &'a [Value],
}

fn encode(message: &Outgoing<'_>, serial: u32) -> Vec<u8> {
    let mut body = Writer::default();
    let mut signature = String::new();
    for value in message.body {
        body.value(value);
        signature.push_str(value.signature());
    }
    let mut out = Writer::default();
    out.u8(b'l');
    out.u8(message.kind as u8);
    out.u8(0);
    out.u8(1);
    out.u32(body.bytes.len() as u32);
    out.u32(serial);
    out.u32(0);
    let fields_at = out.bytes.len();
    let field = |out: &mut Writer, code: u8, kind: &str, write: &dyn Fn(&mut Writer)| {
        out.pad(8);
        out.u8(code);
        out.signature(kind);
        write(out);
    };
    if let Some(path) = message.path {
        field(&mut out, PATH, "o", &|w| w.string(path));
    }
    if let Some(interface) = message.interface {
        field(&mut out, INTERFACE, "s", &|w| w.string(interface));
    }
    if let Some(member) = message.member {
        field(&mut out, MEMBER, "s", &|w| w.string(member));
    }
    if let Some(destination) = message.destination {
        field(&mut out, DESTINATION, "s", &|w| w.string(destination));
    }
    if let Some(reply) = message.reply_serial {
        field(&mut out, REPLY_SERIAL, "u", &|w| w.u32(reply));
    }
    if !signature.is_empty() {
        field(&mut out, SIGNATURE, "g", &|w| w.signature(&signature));
    }
    let length = (out.bytes.len() - fields_at) as u32;
    out.bytes[fields_at - 4..fields_at].copy_from_slice(&length.to_le_bytes());
    out.pad(8);
    out.bytes.extend_from_slice(&body.bytes);
    out.bytes
}

/// Reads values out of a message, in its byte order.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    big: bool,
}

impl Reader<'_> {
    fn malformed(what: &str) -> DbusError {
        DbusError::Malformed(what.to_string())
    }
    fn align(&mut self, to: usize) -> Result<(), DbusError> {
        let next = self.at.div_ceil(to) * to;
        if next > self.bytes.len() {
            return Err(Self::malformed("it ends inside its padding"));
        }
        self.at = next;
        Ok(())
    }
    fn u8(&mut self) -> Result<u8, DbusError> {
        let v = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| Self::malformed("it ends early"))?;
        self.at += 1;
        Ok(v)
    }
    fn u32(&mut self) -> Result<u32, DbusError> {
        self.align(4)?;
        let raw: [u8; 4] = self
            .bytes
            .get(self.at..self.at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| Self::malformed("it ends inside a number"))?;
        self.at += 4;
        Ok(if self.big {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        })
    }
    fn text(&mut self, length: usize) -> Result<String, DbusError> {
        let end = self.at + length;
        let raw = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| Self::malformed("it ends inside a string"))?;
        let text = String::from_utf8(raw.to_vec())
            .map_err(|_| Self::malformed("a string is not UTF-8"))?;
        self.at = end + 1;
        Ok(text)
    }
    fn string(&mut self) -> Result<String, DbusError> {
        let length = self.u32()? as usize;
        self.text(length)
    }
    fn signature(&mut self) -> Result<String, DbusError> {
        let length = self.u8()? as usize;
        self.text(length)
    }
    /// One value of type `code`, or `None` when it is not a simple type
    /// (the reader then stops reading the body).
    fn simple(&mut self, code: u8) -> Result<Option<Value>, DbusError> {
        Ok(Some(match code {
            b'u' => Value::U32(self.u32()?),
            b'i' => Value::I32(self.u32()? as i32),
            b's' | b'o' => Value::Str(self.string()?),
            b'g' => Value::Str(self.signature()?),
            _ => return Ok(None),
        }))
    }
}

/// Parses one whole message.
fn decode(bytes: &[u8]) -> Result<Message, DbusError> {
    let big = match bytes.first() {
        Some(b'l') => false,
        Some(b'B') => true,
        _ => return Err(DbusError::Malformed("an unknown byte order".into())),
    };
    let mut r = Reader { bytes, at: 1, big };
    let kind = match r.u8()? {
        1 => Kind::Call,
        2 => Kind::Return,
        3 => Kind::Error,
        4 => Kind::Signal,
        other => return Err(DbusError::Malformed(format!("message type {other}"))),
    };
    r.at = 4;
    let body_length = r.u32()? as usize;
    let serial = r.u32()?;
    let fields_length = r.u32()? as usize;
    let fields_end = 16 + fields_length;
    let mut message = Message {
        kind,
        serial,
        reply_serial: None,
        member: None,
        sender: None,
        error_name: None,
        signature: String::new(),
        body: Vec::new(),
    };
    while r.at < fields_end {
        r.align(8)?;
        let code = r.u8()?;
        let kind = r.signature()?;
        let value = match kind.as_bytes() {
            [one] => r.simple(*one)?,
            _ => None,
        }
        .ok_or_else(|| DbusError::Malformed(format!("header field of type {kind}")))?;
        match (code, value) {
            (MEMBER, Value::Str(s)) => message.member = Some(s),
            (ERROR_NAME, Value::Str(s)) => message.error_name = Some(s),
            (SENDER, Value::Str(s)) => message.sender = Some(s),
            (SIGNATURE, Value::Str(s)) => message.signature = s,
            (REPLY_SERIAL, Value::U32(n)) => message.reply_serial = Some(n),
            _ => {}
        }
    }
    r.at = fields_end;
    r.align(8)?;
    let body_start = r.at;
    if body_start + body_length > bytes.len() {
        return Err(DbusError::Malformed("its body is cut short".into()));
    }
    let mut body = Reader {
        bytes: &bytes[..body_start + body_length],
        at: body_start,
        big,
    };
    // Only leading simple values are read: what a notification and an
    // error carry first (the rest, arrays and dictionaries, is skipped).
    for code in message.signature.clone().bytes() {
        match body.simple(code)? {
            Some(value) => message.body.push(value),
            None => break,
        }
    }
    Ok(message)
}

/// A connection to a bus.
pub struct Connection {
    stream: BufReader<UnixStream>,
    address: String,
    next_serial: u32,
    /// This connection's unique name on the bus.
    pub unique_name: String,
}

impl Connection {
    /// Connects to the session bus that `DBUS_SESSION_BUS_ADDRESS` names.
    pub fn session() -> Result<Connection, DbusError> {
        let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").map_err(|_| {
            DbusError::NoBus(
                "no session bus: DBUS_SESSION_BUS_ADDRESS is not set (desktop notifications need \
                 Capstan to run in a desktop session)"
                    .into(),
            )
        })?;
        Connection::open(&address)
    }

    /// Connects to the bus at `address` (`unix:path=…` or
    /// `unix:abstract=…`; the first address of a list that is one).
    pub fn open(address: &str) -> Result<Connection, DbusError> {
        let stream = address
            .split(';')
            .find_map(|one| connect(one).transpose())
            .unwrap_or_else(|| {
                Err(DbusError::NoBus(format!(
                    "the session bus address `{address}` names no Unix socket Capstan can use"
                )))
            })?;
        let io = |e: std::io::Error| DbusError::Io {
            address: address.to_string(),
            message: e.to_string(),
        };
        stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
        stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
        let mut connection = Connection {
            stream: BufReader::new(stream),
            address: address.to_string(),
            next_serial: 1,
            unique_name: String::new(),
        };
        connection.authenticate()?;
        let hello = connection.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            &[],
        )?;
        if let Some(Value::Str(name)) = hello.body.first() {
            connection.unique_name = name.clone();
        }
        Ok(connection)
    }

    fn io_error(&self, e: std::io::Error) -> DbusError {
        DbusError::Io {
            address: self.address.clone(),
            message: e.to_string(),
        }
    }

    fn authenticate(&mut self) -> Result<(), DbusError> {
        // SAFETY: getuid has no preconditions and cannot fail.
        #[allow(unsafe_code)]
        let uid = unsafe { libc::getuid() };
        let hex: String = uid
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        let hello = format!("\0AUTH EXTERNAL {hex}\r\n");
        self.stream
            .get_mut()
            .write_all(hello.as_bytes())
            .map_err(|e| self.io_error(e))?;
        let mut line = String::new();
        (&mut self.stream)
            .take(4096)
            .read_line(&mut line)
            .map_err(|e| self.io_error(e))?;
        if !line.starts_with("OK ") {
            return Err(DbusError::Remote {
                name: "auth".into(),
                message: format!("the bus refused this user: {}", line.trim()),
            });
        }
        self.stream
            .get_mut()
            .write_all(b"BEGIN\r\n")
            .map_err(|e| self.io_error(e))
    }

    /// Sends a message; its serial.
    pub fn send(&mut self, message: &Outgoing<'_>) -> Result<u32, DbusError> {
        let serial = self.next_serial;
        self.next_serial += 1;
        let bytes = encode(message, serial);
        self.stream
            .get_mut()
            .write_all(&bytes)
            .map_err(|e| self.io_error(e))?;
        Ok(serial)
    }

    /// Reads the next message.
    pub fn read(&mut self) -> Result<Message, DbusError> {
        let mut fixed = [0u8; 16];
        self.stream
            .read_exact(&mut fixed)
            .map_err(|e| self.io_error(e))?;
        let number = |at: usize| {
            let raw: [u8; 4] = fixed[at..at + 4].try_into().unwrap_or_default();
            if fixed[0] == b'B' {
                u32::from_be_bytes(raw)
            } else {
                u32::from_le_bytes(raw)
            }
        };
        let (body, fields) = (number(4) as usize, number(12) as usize);
        let total = (16 + fields).div_ceil(8) * 8 + body;
        if total > MAX_MESSAGE {
            return Err(DbusError::Malformed(format!(
                "a message of {total} bytes, over the {MAX_MESSAGE} accepted"
            )));
        }
        let mut bytes = fixed.to_vec();
        bytes.resize(total, 0);
        self.stream
            .read_exact(&mut bytes[16..])
            .map_err(|e| self.io_error(e))?;
        decode(&bytes)
    }

    /// Calls a method and waits for its answer (signals and other
    /// messages meanwhile are skipped); an error answer is an error.
    pub fn call(
        &mut self,
        destination: &str,
        path: &str,
        interface: &str,
        member: &str,
        body: &[Value],
    ) -> Result<Message, DbusError> {
        let serial = self.send(&Outgoing {
            kind: Kind::Call,
            path: Some(path),
            interface: Some(interface),
            member: Some(member),
            destination: Some(destination),
            reply_serial: None,
            body,
        })?;
        loop {
            let message = self.read()?;
            if message.reply_serial != Some(serial) {
                continue;
            }
            return match message.kind {
                Kind::Error => Err(DbusError::Remote {
                    name: message.error_name.clone().unwrap_or_default(),
                    message: match message.body.first() {
                        Some(Value::Str(text)) => text.clone(),
                        _ => String::new(),
                    },
                }),
                _ => Ok(message),
            };
        }
    }

    /// Owns `name` on the bus (as a stand-in service does).
    pub fn request_name(&mut self, name: &str) -> Result<(), DbusError> {
        let answer = self.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "RequestName",
            &[Value::Str(name.into()), Value::U32(4)],
        )?;
        match answer.body.first() {
            Some(Value::U32(1)) => Ok(()),
            other => Err(DbusError::Remote {
                name: "RequestName".into(),
                message: format!("{name} was not given to this connection ({other:?})"),
            }),
        }
    }

    /// Answers the call `to` with `body`.
    pub fn reply(&mut self, to: &Message, body: &[Value]) -> Result<(), DbusError> {
        self.send(&Outgoing {
            kind: Kind::Return,
            path: None,
            interface: None,
            member: None,
            destination: to.sender.as_deref(),
            reply_serial: Some(to.serial),
            body,
        })
        .map(|_| ())
    }
}

/// A stream for one address of the list, `None` when it is not one
/// Capstan connects to.
fn connect(address: &str) -> Result<Option<UnixStream>, DbusError> {
    let Some(rest) = address.strip_prefix("unix:") else {
        return Ok(None);
    };
    let keys: Vec<(&str, &str)> = rest
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let io = |e: std::io::Error| DbusError::Io {
        address: address.to_string(),
        message: e.to_string(),
    };
    for (key, value) in keys {
        let value = unescape(value);
        match key {
            "path" => return UnixStream::connect(&value).map(Some).map_err(io),
            #[cfg(target_os = "linux")]
            "abstract" => {
                use std::os::linux::net::SocketAddrExt;
                let at = std::os::unix::net::SocketAddr::from_abstract_name(value.as_bytes())
                    .map_err(io)?;
                return UnixStream::connect_addr(&at).map(Some).map_err(io);
            }
            _ => {}
        }
    }
    Ok(None)
}

/// A D-Bus address value with its `%XX` escapes undone.
fn unescape(value: &str) -> String {
    let mut out = Vec::new();
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_reads_back_as_written() {
        let body = [
            Value::Str("Capstan".into()),
            Value::U32(0),
            Value::Str(String::new()),
            Value::Str("job 7 failed".into()),
            Value::Str("apt upgrade on web".into()),
            Value::Strings(vec!["default".into(), "Open".into()]),
            Value::EmptyDict,
            Value::I32(-1),
        ];
        let bytes = encode(
            &Outgoing {
                kind: Kind::Call,
                path: Some("/org/freedesktop/Notifications"),
                interface: Some("org.freedesktop.Notifications"),
                member: Some("Notify"),
                destination: Some("org.freedesktop.Notifications"),
                reply_serial: None,
                body: &body,
            },
            9,
        );
        let message = decode(&bytes).unwrap();
        assert_eq!(message.kind, Kind::Call);
        assert_eq!(message.serial, 9);
        assert_eq!(message.member.as_deref(), Some("Notify"));
        assert_eq!(message.signature, "susssasa{sv}i");
        assert_eq!(message.body, body[..5].to_vec());
    }

    #[test]
    fn a_truncated_or_strange_message_is_refused_not_trusted() {
        let bytes = encode(
            &Outgoing {
                kind: Kind::Return,
                path: None,
                interface: None,
                member: None,
                destination: None,
                reply_serial: Some(3),
                body: &[Value::Str("x".repeat(40))],
            },
            4,
        );
        for cut in [1, 5, 17, bytes.len() - 10] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut odd = bytes.clone();
        odd[0] = b'x';
        assert!(decode(&odd).is_err());
    }

    #[test]
    fn addresses_are_unescaped_and_others_are_not_used() {
        assert_eq!(unescape("/run/user/1000/b%2cus"), "/run/user/1000/b,us");
        assert!(connect("tcp:host=localhost,port=1").unwrap().is_none());
        assert!(matches!(
            Connection::open("tcp:host=localhost,port=1"),
            Err(DbusError::NoBus(_))
        ));
    }
}
