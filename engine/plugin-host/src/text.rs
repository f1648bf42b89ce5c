//! Text from plugins made safe to show on a terminal or in the window.

/// `text` without what a terminal or the window would act on rather than
/// show: control characters (ESC sequences that move the cursor, rewrite
/// the line or set the title) and the bidirectional overrides that reorder
/// what is shown. Tabs and newlines stay only when `multiline`; otherwise
/// they become spaces. Plugin text goes through this before anyone sees it.
pub fn printable(text: &str, multiline: bool) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' | '\t' if multiline => Some(c),
            '\r' if multiline => None,
            '\n' | '\t' | '\r' => Some(' '),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => None,
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}
