//! Server-sent events read from a response body as they arrive.

use http_body_util::BodyExt;
use hyper::body::Incoming;

/// One event: its type, id and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvent {
    /// `event:` (`message` when absent).
    pub event: String,
    /// `id:`, if any.
    pub id: Option<String>,
    /// The `data:` lines, joined by newlines.
    pub data: String,
}

/// Reads events from a `text/event-stream` body.
pub struct EventReader {
    body: Incoming,
    buffer: String,
}

impl EventReader {
    /// A reader of `body`.
    pub fn new(body: Incoming) -> Self {
        EventReader {
            body,
            buffer: String::new(),
        }
    }

    /// The next event; `None` when the stream ends.
    pub async fn next(&mut self) -> anyhow::Result<Option<ServerEvent>> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Ok(Some(event));
                }
            }
            match self.body.frame().await {
                None => return Ok(None),
                Some(frame) => {
                    if let Ok(data) = frame?.into_data() {
                        self.buffer
                            .push_str(&String::from_utf8_lossy(&data).replace('\r', ""));
                    }
                }
            }
        }
    }
}

/// One block of lines as an event; `None` for a comment (a keep-alive).
fn parse(block: &str) -> Option<ServerEvent> {
    let mut event = ServerEvent {
        event: "message".into(),
        id: None,
        data: String::new(),
    };
    let mut any = false;
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event.event = value.to_string(),
            "id" => event.id = Some(value.to_string()),
            "data" => {
                if any {
                    event.data.push('\n');
                }
                event.data.push_str(value);
                any = true;
            }
            _ => {}
        }
    }
    (any || event.id.is_some()).then_some(event)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn blocks_become_events_and_comments_are_skipped() {
        let event = parse("event: update\nid: 3\ndata: {\"a\":1}\n\n").unwrap();
        assert_eq!(event.event, "update");
        assert_eq!(event.id.as_deref(), Some("3"));
        assert_eq!(event.data, "{\"a\":1}");
        assert!(parse(":\n\n").is_none());
        assert_eq!(parse("data: a\ndata: b\n\n").unwrap().data, "a\nb");
    }
}
