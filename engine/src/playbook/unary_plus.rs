//! Jinja's unary plus (`+2.5`, `-x + +y`), which minijinja's grammar
//! lacks: a template that fails to compile is tried again without it. On
//! a number a unary plus changes nothing, so dropping it keeps every
//! result Jinja gives (Jinja refuses it on text, which Capstan then lets
//! through).

/// `text` without its unary pluses, when it has any: inside `{{ }}` and
/// `{% %}` (everywhere when `expression`, a bare expression), outside
/// quoted strings, a `+` that follows an operator, an opening bracket, a
/// comma, a colon, a keyword or the start of the expression.
pub(crate) fn without_unary_plus(text: &str, expression: bool) -> Option<String> {
    if !text.contains('+') {
        return None;
    }
    let bytes = text.as_bytes();
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
    let mut out = String::with_capacity(text.len());
    let mut in_code = expression;
    // Whether the code before a `+` ends with an operand.
    let mut after_operand = false;
    let mut quote: Option<u8> = None;
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let two = &bytes[i..(i + 2).min(bytes.len())];
        let mut len = utf8_len(b);
        if !in_code {
            if two == b"{{" || two == b"{%" {
                in_code = true;
                after_operand = false;
                len = 2;
            }
        } else if let Some(q) = quote {
            if b == b'\\' && i + 1 < bytes.len() {
                len = 1 + utf8_len(bytes[i + 1]);
            } else if b == q {
                quote = None;
                after_operand = true;
            }
        } else if !expression && (two == b"}}" || two == b"%}") {
            in_code = false;
            len = 2;
        } else if b == b'\'' || b == b'"' {
            quote = Some(b);
        } else if word_byte(b) {
            len = bytes[i..].iter().take_while(|&&c| word_byte(c)).count();
            after_operand = !is_keyword(&text[i..i + len]);
        } else if b == b'+' && !after_operand {
            changed = true;
            out.push(' ');
            i += 1;
            continue;
        } else if !b.is_ascii_whitespace() {
            after_operand = matches!(b, b')' | b']' | b'}');
        }
        let end = (i + len).min(text.len());
        out.push_str(&text[i..end]);
        i = end;
    }
    changed.then_some(out)
}

/// Jinja's words after which an operand starts.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "and" | "or" | "not" | "in" | "is" | "if" | "else" | "return" | "set" | "elif"
    )
}

/// The length of the UTF-8 sequence a byte starts.
fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::without_unary_plus;

    #[test]
    fn only_unary_pluses_go() {
        assert_eq!(
            without_unary_plus("{{ [-2.5, +2.5, 1 + 2.5] }}", false).as_deref(),
            Some("{{ [-2.5,  2.5, 1 + 2.5] }}")
        );
        assert_eq!(
            without_unary_plus("a + +b", true).as_deref(),
            Some("a +  b")
        );
        assert_eq!(
            without_unary_plus("x if +1 else 2", true).as_deref(),
            Some("x if  1 else 2")
        );
        // Binary pluses, pluses in strings and in plain text stay.
        assert_eq!(without_unary_plus("{{ a + 1 }} +1", false), None);
        assert_eq!(without_unary_plus("{{ 'a' + '+1' }}", false), None);
        assert_eq!(without_unary_plus("{{ (a) + b[0] + c.d }}", false), None);
        assert_eq!(without_unary_plus("no plus", true), None);
    }
}
