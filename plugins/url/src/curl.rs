//! What both modules hand `curl`: a config file, given on its standard
//! input, so a password or a header never shows in the host's process
//! list; and the answer's status line and headers, read back.

use std::collections::BTreeMap;

use capstan_plugin_sdk::Error;

/// How to reach the URL: what both modules share.
pub struct Request<'a> {
    pub url: &'a str,
    pub method: Option<&'a str>,
    pub headers: &'a BTreeMap<String, String>,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    /// Send the credentials at once rather than after a 401.
    pub basic_auth_first: bool,
    pub validate_certs: bool,
    pub timeout: u64,
    pub follow_redirects: bool,
    pub use_proxy: bool,
    pub agent: Option<&'a str>,
    pub body: Option<&'a str>,
}

/// The URL schemes the modules fetch.
const SCHEMES: &[&str] = &["http://", "https://", "ftp://", "ftps://", "file://"];

/// A value written in curl's config syntax: double-quoted, with `\` and
/// `"` escaped and control characters as escapes.
fn quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Request<'_> {
    /// Checks what goes into the request: a URL of a known scheme, header
    /// names and values on one line each.
    pub fn checked(&self) -> Result<(), Error> {
        let lower = self.url.to_ascii_lowercase();
        if !SCHEMES.iter().any(|s| lower.starts_with(s)) || self.url.contains(char::is_whitespace) {
            return Err(Error::msg(format!(
                "`{}` is not a URL Capstan fetches (http, https, ftp, ftps or file, with no spaces)",
                self.url
            )));
        }
        for (name, value) in self.headers {
            let fine_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
            if !fine_name || value.contains(['\r', '\n']) {
                return Err(Error::msg(format!(
                    "header `{name}` cannot be sent: a name is one token, a value one line"
                )));
            }
        }
        if let Some(method) = self.method
            && (method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(Error::msg(
                "Parameter 'method' needs to be a single word in uppercase, like GET or POST.",
            ));
        }
        Ok(())
    }

    /// The config `curl -K -` reads.
    pub fn config(&self) -> String {
        let mut lines = vec![
            format!("url = {}", quoted(self.url)),
            "silent".to_string(),
            "show-error".to_string(),
            format!("max-time = {}", self.timeout.max(1)),
        ];
        match self.method {
            // `--head`: curl would wait for a body after `-X HEAD`.
            Some("HEAD") => lines.push("head".into()),
            Some(method) => lines.push(format!("request = {}", quoted(method))),
            None => {}
        }
        if self.follow_redirects {
            lines.push("location".into());
        }
        if !self.validate_certs {
            lines.push("insecure".into());
        }
        if !self.use_proxy {
            lines.push("noproxy = \"*\"".into());
        }
        for (name, value) in self.headers {
            lines.push(format!("header = {}", quoted(&format!("{name}: {value}"))));
        }
        if let Some(agent) = self.agent {
            lines.push(format!("user-agent = {}", quoted(agent)));
        }
        if let Some(user) = self.username {
            let password = self.password.unwrap_or_default();
            lines.push(format!("user = {}", quoted(&format!("{user}:{password}"))));
            if !self.basic_auth_first {
                // curl answers a 401's challenge, as Ansible's urllib does.
                lines.push("anyauth".into());
            }
        }
        if let Some(body) = self.body {
            lines.push(format!("data-binary = {}", quoted(body)));
        }
        lines.push(String::new());
        lines.join("\n")
    }
}

/// The last answer's status line and headers from `curl -D` (each
/// redirect adds a block; the last is the answer's): header names
/// lower-cased with `-` as `_`, as Ansible's uri returns them.
pub fn last_headers(raw: &str) -> (String, BTreeMap<String, String>) {
    let blocks: Vec<&str> = raw
        .split("\r\n\r\n")
        .flat_map(|b| b.split("\n\n"))
        .filter(|b| !b.trim().is_empty())
        .collect();
    let last = blocks.last().copied().unwrap_or_default();
    let mut lines = last.lines();
    let status_line = lines.next().unwrap_or_default().trim().to_string();
    let mut headers = BTreeMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let key = name.trim().to_ascii_lowercase().replace('-', "_");
            headers.insert(key, value.trim().to_string());
        }
    }
    (status_line, headers)
}

/// `OK (N bytes)` or the status line's reason, as Ansible's `msg`.
pub fn message(status: u16, status_line: &str, size: u64) -> String {
    let reason = status_line.splitn(3, ' ').nth(2).unwrap_or_default().trim();
    if (200..300).contains(&status) {
        format!("OK ({size} bytes)")
    } else if reason.is_empty() {
        format!("HTTP Error {status}")
    } else {
        format!("HTTP Error {status}: {reason}")
    }
}

/// The error for a curl that failed before any answer (no host, refused
/// connection, time out, bad certificate), in its own words.
pub fn failed(code: i32, stderr: &str, url: &str) -> Error {
    if code == 127 {
        return Error::msg(
            "curl is not installed on the host: install it (apt: curl) to use get_url and uri",
        );
    }
    let said = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let said = said.strip_prefix("curl: ").unwrap_or(said);
    Error::msg(format!("Request failed: {url}: {said} (curl exit {code})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_are_quoted_and_escaped() {
        let headers = BTreeMap::from([("X-Token".to_string(), "a\"b".to_string())]);
        let request = Request {
            url: "https://example.test/a b",
            method: Some("POST"),
            headers: &headers,
            username: Some("ann"),
            password: Some("p\\w"),
            basic_auth_first: true,
            validate_certs: false,
            timeout: 10,
            follow_redirects: true,
            use_proxy: true,
            agent: None,
            body: Some("{\"k\":\n1}"),
        };
        let config = request.config();
        assert!(config.contains("header = \"X-Token: a\\\"b\"\n"));
        assert!(config.contains("user = \"ann:p\\\\w\"\n"));
        assert!(config.contains("data-binary = \"{\\\"k\\\":\\n1}\"\n"));
        assert!(config.contains("insecure\n") && config.contains("location\n"));
        assert!(request.checked().is_err(), "a URL with a space is refused");
    }

    #[test]
    fn headers_of_the_last_answer_are_kept() {
        let raw = "HTTP/1.1 301 Moved\r\nLocation: /b\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-A: 1\r\n\r\n";
        let (status, headers) = last_headers(raw);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(headers["content_type"], "application/json");
        assert!(!headers.contains_key("location"));
        assert_eq!(
            message(404, "HTTP/1.1 404 Not Found", 0),
            "HTTP Error 404: Not Found"
        );
        assert_eq!(message(200, &status, 12), "OK (12 bytes)");
    }
}
