//! How a conditional (`when:`, `that:`, `failed_when:`, `until:`...) is
//! read, as ansible-core 2.19 reads it: an expression, in which a quoted
//! string holding a template is rendered first (`x == '{{ y }}'`, the
//! old idiom); or a template alone (`{{ ... }}`), whose result is the
//! condition, and which may name one variable holding an expression the
//! user wrote (`when: "{{ is_debian }}"` with `is_debian: ansible_os_family
//! == 'Debian'`). Any other text a template produced — from a host, a
//! registered result, or pieced together (`{{ a }} == {{ b }}`) — is never
//! evaluated as an expression: that would let data run code on the
//! controller.

/// What a conditional's text is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Shape<'a> {
    /// Nothing but blanks.
    Empty,
    /// An expression (possibly with templates inside its quoted strings).
    Expression(&'a str),
    /// `{{ NAME.path }}` alone: one variable (through attributes and
    /// constant indexes), whose root is `root`.
    Variable { inner: &'a str, root: &'a str },
    /// `{{ expr }}` alone, not a bare variable.
    Single(&'a str),
    /// Text that starts and ends as a template but is not one
    /// expression (`{{ a }} == {{ b }}`, `{% if %}...{% endif %}`).
    Template(&'a str),
}

/// The shape of conditional `text` (blanks around it ignored).
pub(crate) fn shape(text: &str) -> Shape<'_> {
    let text = text.trim();
    if text.is_empty() {
        return Shape::Empty;
    }
    let starts = text.starts_with("{{") || text.starts_with("{%");
    let ends = text.ends_with("}}") || text.ends_with("%}");
    if !(starts && ends) {
        return Shape::Expression(text);
    }
    match single_expression(text) {
        Some(inner) => match variable_root(inner) {
            Some(root) => Shape::Variable {
                inner: inner.trim(),
                root,
            },
            None => Shape::Single(inner),
        },
        None => Shape::Template(text),
    }
}

/// `{{ expr }}` filling all of `text`: its inner expression. The closing
/// `}}` is the first one outside quotes and brackets, as Jinja's lexer
/// finds it, so `{{ {'a': {'b': 1}} }}` and `{{ x == "}}" }}` are one.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?;
    let end = expression_end(inner)?;
    (inner[end..].trim() == "}}").then(|| &inner[..end])
}

/// Where in `text` (after an opening `{{`) the expression ends: the first
/// `}}` outside quoted strings and brackets.
fn expression_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b'}' if depth == 0 && bytes.get(i + 1) == Some(&b'}') => return Some(i),
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// One step down from a variable: `.name`, `[0]` or `['key']`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `.name`.
    Attribute(String),
    /// `[N]`.
    Index(i64),
    /// `['key']` or `["key"]`.
    Key(String),
}

/// The root variable of `expr` when it is a bare variable: a name,
/// followed only by `.attribute`s and indexes by a number or a quoted
/// string (`item`, `checks.list[0]`, `conf['when']`).
fn variable_root(expr: &str) -> Option<&str> {
    variable_path(expr).map(|(root, _)| root)
}

/// A bare variable's root and its steps down (see [`variable_root`]).
pub(crate) fn variable_path(expr: &str) -> Option<(&str, Vec<Step>)> {
    let expr = expr.trim();
    let name_end = expr
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(expr.len());
    let root = &expr[..name_end];
    if root.is_empty() || root.as_bytes()[0].is_ascii_digit() || is_keyword(root) {
        return None;
    }
    let mut steps = Vec::new();
    let mut rest = expr[name_end..].trim_start();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let after = after.trim_start();
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                return None;
            }
            steps.push(Step::Attribute(after[..end].to_string()));
            rest = after[end..].trim_start();
        } else if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']')?;
            let index = after[..close].trim();
            if let Ok(number) = index.parse::<i64>() {
                steps.push(Step::Index(number));
            } else if quoted_whole(index) {
                steps.push(Step::Key(string_literals(index).remove(0).text));
            } else {
                return None;
            }
            rest = after[close + 1..].trim_start();
        } else {
            return None;
        }
    }
    Some((root, steps))
}

/// Names that are Jinja constants, not variables.
fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "true" | "false" | "True" | "False" | "none" | "None" | "not"
    )
}

/// Whether `text` is one quoted string literal and nothing else.
fn quoted_whole(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 2
        && matches!(bytes[0], b'\'' | b'"')
        && bytes[bytes.len() - 1] == bytes[0]
        && string_literals(text).first().map(|l| (l.start, l.end)) == Some((0, text.len()))
}

/// A quoted string inside an expression: where it is (quotes included)
/// and what it says (escapes read).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Literal {
    /// Byte offset of the opening quote.
    pub start: usize,
    /// Byte offset after the closing quote.
    pub end: usize,
    /// The text between the quotes, `\x` read as `x` (and `\n`, `\t` as
    /// the characters they name).
    pub text: String,
}

/// Every quoted string in expression `expr`, in order.
pub(crate) fn string_literals(expr: &str) -> Vec<Literal> {
    let mut found = Vec::new();
    let mut chars = expr.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c != '\'' && c != '"' {
            continue;
        }
        let mut text = String::new();
        let mut end = None;
        while let Some((i, next)) = chars.next() {
            match next {
                '\\' => match chars.next() {
                    Some((_, 'n')) => text.push('\n'),
                    Some((_, 't')) => text.push('\t'),
                    Some((_, escaped)) => text.push(escaped),
                    None => break,
                },
                q if q == c => {
                    end = Some(i + 1);
                    break;
                }
                other => text.push(other),
            }
        }
        let Some(end) = end else { break };
        found.push(Literal { start, end, text });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_told_apart_as_ansible_tells_them() {
        assert_eq!(shape("  "), Shape::Empty);
        assert_eq!(shape("a == 1"), Shape::Expression("a == 1"));
        assert_eq!(shape("x == '{{ y }}'"), Shape::Expression("x == '{{ y }}'"));
        assert_eq!(
            shape(" {{ item }} "),
            Shape::Variable {
                inner: "item",
                root: "item"
            }
        );
        assert_eq!(
            shape("{{ conf['when'].list[0] }}"),
            Shape::Variable {
                inner: "conf['when'].list[0]",
                root: "conf"
            }
        );
        assert_eq!(shape("{{ a == 1 }}"), Shape::Single(" a == 1 "));
        assert_eq!(shape("{{ true }}"), Shape::Single(" true "));
        assert_eq!(shape("{{ x[y] }}"), Shape::Single(" x[y] "));
        assert_eq!(
            shape("{{ 'hello' }} == {{ 'world' }}"),
            Shape::Template("{{ 'hello' }} == {{ 'world' }}")
        );
        // A `}}` inside quotes or a mapping does not close the expression.
        assert_eq!(
            shape(r#"{{ dict({"d": "{{ 'd' }}"})["d"] == "x" }}"#),
            Shape::Single(r#" dict({"d": "{{ 'd' }}"})["d"] == "x" "#)
        );
        assert_eq!(
            shape("{{ {'a': {'b': 1}} }}"),
            Shape::Single(" {'a': {'b': 1}} ")
        );
    }

    #[test]
    fn string_literals_are_found_with_their_escapes_read() {
        let found = string_literals(r#"a == 'it\'s {{ b }}' and "c\"d" != e"#);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].text, "it's {{ b }}");
        assert_eq!(found[0].start, 5);
        assert_eq!(found[1].text, "c\"d");
        // An unclosed quote is not a literal (the expression's own error
        // will say so).
        assert!(string_literals("a == 'b").is_empty());
    }
}
