//! A tiny static web server for the Docker tests, built by the test harness
//! with `rustc -C target-feature=+crt-static` and packed `FROM scratch`.
//!
//! `GET /` answers `<VERSION> <hostname>`, `GET /healthz` answers `ok`;
//! any other path answers 404. `webapp --check` asks the local server for
//! `/healthz` and exits 0 when it answers (the image's health check). SIGTERM is ignored on purpose: the
//! engine kills the task after its grace period, and the server keeps
//! answering until then, as a well-behaved app drains.
//!
//! `webapp proxy` is the front door the swarm tests publish: for every
//! request it resolves `UPSTREAM` (a `dnsrr` service: one A record per
//! task) through the engine's DNS and forwards to the first task that
//! accepts the connection, as Traefik or nginx do in front of a swarm. It
//! stands in for the ingress routing mesh, which needs IPVS in the kernel.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

unsafe extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
}

const SIGTERM: i32 = 15;
const SIG_IGN: usize = 1;

fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    if std::env::args().nth(1).as_deref() == Some("--check") {
        std::process::exit(check(&port));
    }
    if std::env::args().nth(1).as_deref() == Some("proxy") {
        proxy(&port);
    }
    if std::env::var("CRASH").is_ok_and(|v| v == "1") {
        eprintln!("CRASH=1: exiting at start, as a broken image would");
        std::process::exit(3);
    }
    // SAFETY: `signal` with SIG_IGN installs no Rust code as a handler.
    #[allow(unsafe_code)]
    unsafe {
        signal(SIGTERM, SIG_IGN);
    }
    let version = std::env::var("VERSION").unwrap_or_else(|_| "v1".into());
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let body = format!("{version} {}\n", host.trim());
    let listener = TcpListener::bind(("0.0.0.0", port.parse::<u16>().expect("PORT is a number")))
        .expect("bind");
    eprintln!("serving {version} on :{port}");
    for stream in listener.incoming().flatten() {
        let body = body.clone();
        std::thread::spawn(move || serve(stream, &body));
    }
}

fn serve(mut stream: TcpStream, body: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let (status, body) = if seen.starts_with(b"GET /healthz ") {
        ("200 OK", "ok\n")
    } else if seen.starts_with(b"GET / ") || seen.starts_with(b"HEAD / ") {
        ("200 OK", body)
    } else {
        ("404 Not Found", "not found\n")
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn check(port: &str) -> i32 {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap_or(8080))) else {
        return 1;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").is_err() {
        return 1;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    if answer.starts_with("HTTP/1.1 200") { 0 } else { 1 }
}

fn proxy(port: &str) -> ! {
    let upstream = std::env::var("UPSTREAM").expect("UPSTREAM names the service");
    let upstream_port: u16 = std::env::var("UPSTREAM_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = TcpListener::bind(("0.0.0.0", port.parse::<u16>().expect("PORT is a number")))
        .expect("bind");
    eprintln!("proxying :{port} to {upstream}:{upstream_port}");
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for client in listener.incoming().flatten() {
        let upstream = upstream.clone();
        let counter = counter.clone();
        std::thread::spawn(move || forward(client, &upstream, upstream_port, &counter));
    }
    std::process::exit(1)
}

fn forward(mut client: TcpStream, upstream: &str, port: u16, counter: &std::sync::atomic::AtomicUsize) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    // The front door's own health does not depend on its upstream.
    if request.starts_with(b"GET /healthz ") {
        let _ = client.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
        return;
    }
    let addrs = resolve(upstream).unwrap_or_default();
    let start = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    for i in 0..addrs.len() {
        let addr = std::net::SocketAddr::from((addrs[(start + i) % addrs.len()], port));
        let Ok(mut server) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) else {
            continue;
        };
        let _ = server.set_read_timeout(Some(Duration::from_secs(5)));
        if server.write_all(&request).is_err() {
            continue;
        }
        let mut answer = Vec::new();
        if server.read_to_end(&mut answer).is_err() || answer.is_empty() {
            continue;
        }
        let _ = client.write_all(&answer);
        return;
    }
    let body = format!("no task of {upstream} answered ({} addresses)\n", addrs.len());
    let _ = write!(
        client,
        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A records of `name` from the resolver in /etc/resolv.conf (the engine's
/// embedded DNS inside a container).
fn resolve(name: &str) -> Option<Vec<std::net::Ipv4Addr>> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    let server = conf
        .lines()
        .find_map(|l| l.strip_prefix("nameserver "))?
        .trim()
        .to_string();
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    let id: u16 = (std::process::id() as u16) ^ 0x5a5a;
    let mut query = Vec::new();
    query.extend_from_slice(&id.to_be_bytes());
    query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]);
    socket.send_to(&query, (server.as_str(), 53)).ok()?;
    let mut answer = [0u8; 1500];
    let n = socket.recv(&mut answer).ok()?;
    let answer = &answer[..n];
    let count = u16::from_be_bytes([answer[6], answer[7]]) as usize;
    let mut at = query.len();
    let mut addrs = Vec::new();
    for _ in 0..count {
        // Name: a pointer (2 bytes) or labels ending in 0.
        if answer.get(at)? & 0xc0 == 0xc0 {
            at += 2;
        } else {
            while *answer.get(at)? != 0 {
                at += 1 + *answer.get(at)? as usize;
            }
            at += 1;
        }
        let kind = u16::from_be_bytes([*answer.get(at)?, *answer.get(at + 1)?]);
        let len = u16::from_be_bytes([*answer.get(at + 8)?, *answer.get(at + 9)?]) as usize;
        at += 10;
        if kind == 1 && len == 4 {
            let b = answer.get(at..at + 4)?;
            addrs.push(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]));
        }
        at += len;
    }
    Some(addrs)
}
