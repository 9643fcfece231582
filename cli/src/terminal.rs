//! Text from targets, made safe to print on a terminal.

use std::borrow::Cow;

/// Drawn in place of a character that a terminal would act on.
const REPLACEMENT: char = '\u{FFFD}';

/// `text` with every character a terminal could take for a command replaced by
/// U+FFFD: C0 and C1 controls (escape sequences start with ESC, or with CSI as one
/// C1 character) and DEL, and the bidirectional overrides and isolates that reorder
/// what follows them. Names and values come from the targets; nothing from a target
/// reaches the terminal as a control sequence.
///
/// ```
/// use expvar_cli::terminal::clean;
///
/// assert_eq!(clean("\x1b]2;PWNED\x07title"), "\u{FFFD}]2;PWNED\u{FFFD}title");
/// assert_eq!(clean("a\u{202E}b\u{9B}c"), "a\u{FFFD}b\u{FFFD}c");
/// assert_eq!(clean("memstats.HeapAlloc"), "memstats.HeapAlloc");
/// ```
pub fn clean(text: &str) -> Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }
    if text.contains(unsafe_char) {
        Cow::Owned(text.replace(unsafe_char, &REPLACEMENT.to_string()))
    } else {
        Cow::Borrowed(text)
    }
}
