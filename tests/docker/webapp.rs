//! A tiny static web server for the Docker tests, built by the test harness
//! with `rustc -C target-feature=+crt-static` and packed `FROM scratch`.
//!
//! `GET /` answers `<VERSION> <hostname>`; any other path answers 404.
//! `webapp --check` asks the local server for `/` and exits 0 when it
//! answers (the image's health check). SIGTERM is ignored on purpose: the
//! engine kills the task after its grace period, and the server keeps
//! answering until then, as a well-behaved app drains.

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
    let ok = seen.starts_with(b"GET / ") || seen.starts_with(b"HEAD / ");
    let (status, body) = if ok { ("200 OK", body) } else { ("404 Not Found", "not found\n") };
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
    if stream.write_all(b"GET / HTTP/1.0\r\n\r\n").is_err() {
        return 1;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    if answer.starts_with("HTTP/1.1 200") { 0 } else { 1 }
}
