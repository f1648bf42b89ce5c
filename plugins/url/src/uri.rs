//! Ansible's `uri`: one web request made from the host with its curl;
//! the answer's status, headers (lower-cased, `-` as `_`), its body as
//! `content` when asked and as `json` when it is JSON. A status outside
//! `status_code` fails the task, as Ansible's does.

use std::collections::BTreeMap;

use capstan_plugin_sdk::remote::Command;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use crate::curl::{self, Request};

/// Parameters of the `request` action (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UriParams {
    /// The URL (http or https; ftp and file too).
    url: String,
    /// GET (default), POST, PUT, ... in capitals.
    method: Option<String>,
    /// What to send: text, or with `body_format` json/form-urlencoded a
    /// value to encode.
    body: Option<Json>,
    /// raw (default), json or form-urlencoded.
    body_format: Option<String>,
    /// Request headers.
    #[serde(default)]
    headers: BTreeMap<String, Json>,
    /// The statuses that mean success (default 200).
    status_code: Option<Json>,
    /// Return the body as `content`.
    #[serde(default)]
    return_content: bool,
    /// Write the body to this file on the host.
    dest: Option<String>,
    /// Skip the request when this path exists on the host.
    creates: Option<String>,
    /// Skip the request unless this path exists on the host.
    removes: Option<String>,
    /// safe (default: GET and HEAD only), all/yes, none/no.
    follow_redirects: Option<Json>,
    /// Seconds the request may take (default 30).
    timeout: Option<u64>,
    /// Check the server's certificate (default true).
    validate_certs: Option<bool>,
    /// Basic authentication's user.
    url_username: Option<String>,
    /// Basic authentication's password.
    url_password: Option<String>,
    /// Send the credentials with the first request.
    #[serde(default)]
    force_basic_auth: bool,
    /// Use the host's proxy settings (default true).
    use_proxy: Option<bool>,
    /// The User-Agent header.
    http_agent: Option<String>,
}

/// The most of a body the host sends back.
const BODY_LIMIT: u64 = 16 << 20;

/// Makes the request; prints `skip creates`/`skip removes`, `curl N`, or
/// `got`, the code, size and redirect count, the URL reached, the
/// seconds taken, whether `dest` was written, the headers after
/// `== headers` and the body (unless written) after `== body`.
const REQUEST: &str = r#"dest=$1 creates=$2 removes=$3 codes=$4 limit=$5
command -v curl >/dev/null 2>&1 || exit 127
if [ -n "$creates" ] && [ -e "$creates" ]; then echo "skip creates"; exit 0; fi
if [ -n "$removes" ] && [ ! -e "$removes" ]; then echo "skip removes"; exit 0; fi
b=$(mktemp) || exit 6
h=$(mktemp) || { rm -f -- "$b"; exit 6; }
start=$(date +%s)
w=$(curl -K - -o "$b" -D "$h" -w '%{http_code} %{size_download} %{num_redirects}\n%{url_effective}'); rc=$?
if [ "$rc" != 0 ]; then rm -f -- "$b" "$h"; echo "curl $rc"; exit 0; fi
echo got; printf '%s\n' "$w"; echo $(( $(date +%s) - start ))
code=${w%% *}; written=0
if [ -n "$dest" ] && [ "$code" != 304 ]; then
    case " $codes " in *" $code "*)
        if [ -d "$dest" ]; then dest="$dest/index.html"; fi
        mv -f -- "$b" "$dest" && chmod "$(printf '%o' $((0666 & ~$(umask))))" -- "$dest" && written=1 ;;
    esac
fi
echo "$written $dest"
echo '== headers'; cat -- "$h"; rm -f -- "$h"
echo '== body'
if [ "$written" = 0 ]; then head -c "$limit" -- "$b"; fi
rm -f -- "$b""#;

/// `application/json`, `text/json`, `...+json` (`problem+json`): bodies
/// read as JSON.
fn is_json(content_type: &str) -> bool {
    let main = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let sub = main.split_once('/').map_or("", |(_, s)| s);
    let sub = sub.rsplit('+').next().unwrap_or(sub);
    matches!(sub, "json" | "javascript")
}

/// `status_code` as a list of numbers (a number, text, or a list of them).
fn status_codes(value: Option<&Json>) -> Result<Vec<u16>, Error> {
    let one = |v: &Json| -> Option<u16> {
        match v {
            Json::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    match value {
        None => Ok(vec![200]),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| {
                one(v).ok_or_else(|| Error::msg(format!("status_code: `{v}` is not a status")))
            })
            .collect(),
        Some(Json::String(s)) if s.contains(',') => s
            .split(',')
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| Error::msg(format!("status_code: `{v}` is not a status")))
            })
            .collect(),
        Some(v) => Ok(vec![one(v).ok_or_else(|| {
            Error::msg(format!("status_code: `{v}` is not a status"))
        })?]),
    }
}

/// `k=v&k=v` with each part percent-encoded, as a form sends it.
fn form_urlencoded(body: &Json) -> Result<String, Error> {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                b => format!("%{b:02X}"),
            })
            .collect()
    }
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    match body {
        Json::String(s) => Ok(s.clone()),
        Json::Object(map) => Ok(map
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(&text(v))))
            .collect::<Vec<_>>()
            .join("&")),
        Json::Array(pairs) => pairs
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([k, v]) => Ok(format!("{}={}", encode(&text(k)), encode(&text(v)))),
                _ => Err(Error::msg(
                    "failed to parse body as form_urlencoded: a list holds [key, value] pairs",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|parts| parts.join("&")),
        other => Err(Error::msg(format!(
            "failed to parse body as form_urlencoded: {other}"
        ))),
    }
}

/// Makes the request and returns the answer.
pub fn uri(p: UriParams, ctx: &Context) -> Result<Outcome, Error> {
    let method = p.method.clone().unwrap_or_else(|| "GET".into());
    let format = p
        .body_format
        .as_deref()
        .unwrap_or("raw")
        .to_ascii_lowercase();
    let mut headers: BTreeMap<String, String> = p
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), String::from),
            )
        })
        .collect();
    let has_type = headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"));
    let body = match (&p.body, format.as_str()) {
        (None, _) => None,
        (Some(body), "json") => {
            if !has_type {
                headers.insert("Content-Type".into(), "application/json".into());
            }
            Some(match body {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            })
        }
        (Some(body), "form-urlencoded") => {
            if !has_type {
                headers.insert(
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                );
            }
            Some(form_urlencoded(body)?)
        }
        (Some(Json::String(s)), "raw") => Some(s.clone()),
        (Some(other), "raw") => Some(other.to_string()),
        (Some(_), other) => {
            return Err(Error::msg(format!(
                "body_format `{other}` is not supported: give raw, json or form-urlencoded"
            )));
        }
    };
    let follow = match p.follow_redirects.as_ref() {
        None => matches!(method.as_str(), "GET" | "HEAD"),
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => match s.as_str() {
            "all" | "yes" | "urllib2" => true,
            "no" | "none" => false,
            "safe" => matches!(method.as_str(), "GET" | "HEAD"),
            other => {
                return Err(Error::msg(format!(
                    "follow_redirects: `{other}` is not one of all, safe, none"
                )));
            }
        },
        Some(other) => {
            return Err(Error::msg(format!(
                "follow_redirects: `{other}` is not one of all, safe, none"
            )));
        }
    };
    let codes = status_codes(p.status_code.as_ref())?;
    let request = Request {
        url: &p.url,
        method: Some(&method),
        headers: &headers,
        username: p.url_username.as_deref(),
        password: p.url_password.as_deref(),
        basic_auth_first: p.force_basic_auth,
        validate_certs: p.validate_certs.unwrap_or(true),
        timeout: p.timeout.unwrap_or(30),
        follow_redirects: follow,
        use_proxy: p.use_proxy.unwrap_or(true),
        agent: p.http_agent.as_deref(),
        body: body.as_deref(),
    };
    request.checked()?;
    let codes_text: Vec<String> = codes.iter().map(u16::to_string).collect();
    let out = Command::new([
        "sh",
        "-c",
        REQUEST,
        "capstan-uri",
        p.dest.as_deref().unwrap_or_default(),
        p.creates.as_deref().unwrap_or_default(),
        p.removes.as_deref().unwrap_or_default(),
        &codes_text.join(" "),
        &BODY_LIMIT.to_string(),
    ])
    .stdin(request.config().into_bytes())
    .run(&ctx.target)?;
    match out.exit_code {
        Some(0) => {}
        Some(code) => return Err(curl::failed(code, &out.stderr_text(), &p.url)),
        None => return Err(Error::msg("the request was stopped by a signal")),
    }
    let text = out.stdout_text();
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    match first {
        "skip creates" => {
            let msg = format!(
                "skipped, since '{}' exists",
                p.creates.as_deref().unwrap_or_default()
            );
            return Ok(Outcome::ok(msg.clone()).with_data(json!({"changed": false, "stdout": msg})));
        }
        "skip removes" => {
            let msg = format!(
                "skipped, since '{}' does not exist",
                p.removes.as_deref().unwrap_or_default()
            );
            return Ok(Outcome::ok(msg.clone()).with_data(json!({"changed": false, "stdout": msg})));
        }
        _ => {}
    }
    if let Some(code) = first.strip_prefix("curl ") {
        return Err(curl::failed(
            code.parse().unwrap_or(-1),
            &out.stderr_text(),
            &p.url,
        ));
    }
    let (top, after) = rest
        .split_once("== headers\n")
        .ok_or_else(|| Error::msg("uri: the host's answer could not be read"))?;
    let (raw_headers, body) = after.split_once("== body\n").unwrap_or((after, ""));
    let mut lines = top.lines();
    let mut numbers = lines.next().unwrap_or_default().split_whitespace();
    let status: u16 = numbers.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let size: u64 = numbers.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let reached = lines.next().unwrap_or_default().to_string();
    let elapsed: u64 = lines
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let (written, path) = lines
        .next()
        .and_then(|l| l.split_once(' '))
        .map_or((false, String::new()), |(w, path)| {
            (w == "1", path.to_string())
        });
    let (status_line, answer_headers) = curl::last_headers(raw_headers);
    let mut result = Map::new();
    for (k, v) in &answer_headers {
        result.insert(k.clone(), json!(v));
    }
    result.insert("status".into(), json!(status));
    result.insert("url".into(), json!(reached));
    result.insert("redirected".into(), json!(reached != p.url));
    result.insert("elapsed".into(), json!(elapsed));
    result.insert("changed".into(), json!(written));
    result.insert(
        "msg".into(),
        json!(curl::message(status, &status_line, size)),
    );
    if p.dest.is_some() {
        result.insert("path".into(), json!(path));
    }
    let content_type = answer_headers
        .get("content_type")
        .cloned()
        .unwrap_or_default();
    if !written
        && is_json(&content_type)
        && let Ok(parsed) = serde_json::from_str::<Json>(body)
    {
        result.insert("json".into(), parsed);
    }
    let ok = codes.contains(&status);
    if !written && (p.return_content || !ok) {
        result.insert("content".into(), json!(body));
    }
    if !ok {
        let msg = format!(
            "Status code was {status} and not {codes:?}: {}",
            curl::message(status, &status_line, size)
        );
        return Ok(Outcome::failed(msg.clone()).with_data({
            result.insert("msg".into(), json!(msg));
            Json::Object(result)
        }));
    }
    let summary = format!("{method} {}: {status}", p.url);
    let outcome = if written {
        Outcome::changed(summary)
    } else {
        Outcome::ok(summary)
    };
    Ok(outcome.with_data(Json::Object(result)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_take_ansibles_forms() {
        assert_eq!(status_codes(None).unwrap(), vec![200]);
        assert_eq!(status_codes(Some(&json!(201))).unwrap(), vec![201]);
        assert_eq!(
            status_codes(Some(&json!([200, "204"]))).unwrap(),
            vec![200, 204]
        );
        assert_eq!(
            status_codes(Some(&json!("200, 301"))).unwrap(),
            vec![200, 301]
        );
        assert!(status_codes(Some(&json!("two"))).is_err());
    }

    #[test]
    fn forms_are_percent_encoded() {
        assert_eq!(
            form_urlencoded(&json!({"a b": "c&d", "n": 1})).unwrap(),
            "a+b=c%26d&n=1"
        );
        assert_eq!(
            form_urlencoded(&json!([["x", "1"], ["x", "2"]])).unwrap(),
            "x=1&x=2"
        );
        assert!(form_urlencoded(&json!(5)).is_err());
    }

    #[test]
    fn json_bodies_are_recognised_by_their_type() {
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/html"));
    }
}
