//! `get_url` and `uri`: requests made from the host with its curl, to a
//! small HTTP server of the test's own on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

use crate::support::{engine, play, unignored_failures};

/// Answers each request on its own thread; the routes below.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    port
}

fn answer(mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let body = String::from_utf8_lossy(&body).into_owned();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut words = request_line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, extra, content_type, reply) = match (method, path) {
        ("GET", "/file.txt") => (
            "200 OK",
            "",
            "text/plain",
            "hello from the server\n".to_string(),
        ),
        ("GET", "/v2") => ("200 OK", "", "text/plain", "version two\n".to_string()),
        ("GET", "/named") => (
            "200 OK",
            "Content-Disposition: attachment; filename=\"given.txt\"\r\n",
            "text/plain",
            "named\n".to_string(),
        ),
        ("GET", "/moved") => (
            "302 Found",
            "Location: /file.txt\r\n",
            "text/plain",
            String::new(),
        ),
        ("GET", "/private")
            if header("authorization").as_deref() == Some("Basic YW5uOnMzY3JldA==") =>
        {
            (
                "200 OK",
                "",
                "application/json",
                "{\"user\": \"ann\"}".to_string(),
            )
        }
        ("GET", "/private") => (
            "401 Unauthorized",
            "WWW-Authenticate: Basic realm=\"t\"\r\n",
            "text/plain",
            "who are you\n".to_string(),
        ),
        ("POST", "/items") => (
            "201 Created",
            "X-Item: 7\r\n",
            "application/json",
            format!(
                "{{\"type\": \"{}\", \"got\": {}}}",
                header("content-type").unwrap_or_default(),
                serde_json::Value::String(body)
            ),
        ),
        _ => (
            "404 Not Found",
            "",
            "text/plain",
            "no such thing\n".to_string(),
        ),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{reply}",
        reply.len()
    );
}

const PLAYBOOK: &str = r#"- hosts: box
  gather_facts: false
  vars:
    base: "http://127.0.0.1:{{ port }}"
  tasks:
    # get_url: downloaded into place once; a folder takes the server's name
    - get_url: url={{ base }}/file.txt dest={{ out }}/file.txt mode=0640
      register: first
    - get_url: url={{ base }}/file.txt dest={{ out }}/file.txt mode=0640
      register: second
    - get_url:
        url: "{{ base }}/v2"
        dest: "{{ out }}/file.txt"
        force: true
        backup: true
      register: newer
    - get_url: url={{ base }}/named dest={{ out }}/
      register: named
    - get_url:
        url: "{{ base }}/file.txt"
        dest: "{{ out }}/sum.txt"
        checksum: "sha256:{{ 'hello from the server\n' | hash('sha256') }}"
      register: summed
    - get_url:
        url: "{{ base }}/file.txt"
        dest: "{{ out }}/bad.txt"
        checksum: "sha1:0000000000000000000000000000000000000000"
      register: bad_sum
      ignore_errors: true
    - get_url: url={{ base }}/nothing dest={{ out }}/nothing.txt
      register: missing
      ignore_errors: true
    - get_url: url={{ base }}/file.txt dest={{ out }}/no/such/folder/f
      register: no_folder
      ignore_errors: true
    - stat: path={{ out }}/file.txt
      register: file
    - assert:
        that:
          - first is changed and second is not changed
          - first.status_code == 200 and first.msg == 'OK (22 bytes)'
          - file.stat.mode == '0640'
          - newer is changed and newer.backup_file is defined
          - named.dest == out ~ '/given.txt'
          - summed is changed
          - bad_sum is failed and 'did not match' in bad_sum.msg
          - missing is failed and '404' in missing.msg
          - no_folder is failed and 'does not exist' in no_folder.msg

    # uri: an API call, JSON both ways, status codes, redirects, auth
    - uri:
        url: "{{ base }}/items"
        method: POST
        body_format: json
        body: {name: widget, count: 2}
        status_code: 201
      register: created
    - uri: url={{ base }}/moved return_content=yes
      register: moved
    - uri: url={{ base }}/private
      register: refused
      ignore_errors: true
    - uri:
        url: "{{ base }}/private"
        url_username: ann
        url_password: s3cret
        force_basic_auth: true
      register: private
    - uri: url={{ base }}/items dest={{ out }}/never creates={{ out }}/file.txt
      register: skipped_call
    - uri: url=http://127.0.0.1:1/ timeout=5
      register: dead
      ignore_errors: true
    - assert:
        that:
          - created.status == 201 and created.x_item == '7'
          - created.json.type == 'application/json'
          - "(created.json.got | from_json) == {'name': 'widget', 'count': 2}"
          - moved.redirected and moved.content == 'hello from the server\n'
          - moved.url == base ~ '/file.txt'
          - refused is failed and refused.status == 401
          - "refused.msg == 'Status code was 401 and not [200]: HTTP Error 401: Unauthorized'"
          - private.json.user == 'ann'
          - skipped_call is not changed and 'skipped' in skipped_call.stdout
          - dead is failed and 'Request failed' in dead.msg
"#;

#[tokio::test(flavor = "multi_thread")]
async fn get_url_and_uri_make_their_requests_with_the_hosts_curl() {
    let port = serve();
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let inventory = home.path().join("inv.ini");
    std::fs::write(&inventory, "[all]\nbox ansible_connection=local\n").unwrap();
    let site = home.path().join("site.yml");
    std::fs::write(&site, PLAYBOOK).unwrap();
    let out_path = out.path().display().to_string();
    let (report, events) = play(&capstan, &site, &inventory, |o| {
        o.extra_vars.insert("port".into(), port.into());
        o.extra_vars.insert("out".into(), out_path.clone().into());
    })
    .await;
    assert!(!report.failed(), "{:#?}", unignored_failures(&events));
    assert_eq!(report.recap[0].ignored, 5);
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap();
    assert_eq!(read("file.txt"), "version two\n");
    assert_eq!(read("given.txt"), "named\n");
    assert!(
        !Path::new(&out.path().join("bad.txt")).exists(),
        "a wrong checksum leaves nothing"
    );
    let scratch: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("capstan"))
        .collect();
    assert!(scratch.is_empty(), "scratch files left: {scratch:?}");
    // The password went to curl on its standard input, never in a log.
    let tasks = capstan.store().task_outcomes(report.job_id).unwrap();
    let stored = serde_json::to_string(&tasks).unwrap();
    assert!(!stored.contains("s3cret"), "the password was stored");
}
