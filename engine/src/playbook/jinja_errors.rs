//! A minijinja error in the words Capstan reports, below the template
//! engine and the lookups that both report one.

/// A minijinja error in words: its kind and detail, then what went wrong
/// inside an included template or a macro (the error's sources), each
/// with its kind, detail and place.
pub(crate) fn jinja_message(error: &minijinja::Error) -> String {
    let mut message = error.kind().to_string();
    if let Some(detail) = error.detail() {
        message = format!("{message}: {detail}");
    }
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(inner) = inner.downcast_ref::<minijinja::Error>() {
            message.push_str(&format!(": {}", inner.kind()));
            if let Some(detail) = inner.detail() {
                message.push_str(&format!(" ({detail})"));
            }
            if let (Some(name), Some(line)) = (inner.name(), inner.line()) {
                message.push_str(&format!(" at {name}:{line}"));
            }
        }
        source = inner.source();
    }
    message
}
