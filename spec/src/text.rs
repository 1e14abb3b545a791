//! Python string semantics the wire format depends on: `str.strip()` and
//! `str.splitlines()` use a wider notion of whitespace and line breaks than
//! Rust's, and hashes depend on the exact characters removed.

/// Python's `str.isspace()` for one character: Unicode `White_Space` plus the
/// ASCII information separators U+001C..U+001F.
pub fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no arguments.
pub fn python_strip(s: &str) -> &str {
    s.trim_matches(is_python_whitespace)
}

/// Python's line boundaries for `str.splitlines()`.
fn is_line_boundary(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\u{b}'
            | '\u{c}'
            | '\u{1c}'
            | '\u{1d}'
            | '\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Python's `str.splitlines()`: splits on every Unicode line boundary, treats
/// `\r\n` as one, and yields no empty line after a final boundary.
pub fn python_splitlines(text: &str) -> PythonLines<'_> {
    PythonLines { rest: text }
}

/// Iterator returned by [`python_splitlines`].
pub struct PythonLines<'a> {
    rest: &'a str,
}

impl<'a> Iterator for PythonLines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        match self.rest.char_indices().find(|(_, c)| is_line_boundary(*c)) {
            None => {
                let line = self.rest;
                self.rest = "";
                Some(line)
            }
            Some((at, c)) => {
                let line = &self.rest[..at];
                let mut next = at + c.len_utf8();
                if c == '\r' && self.rest[next..].starts_with('\n') {
                    next += 1;
                }
                self.rest = &self.rest[next..];
                Some(line)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_matches_python() {
        assert_eq!(python_strip("\u{1c}\u{3000} a b \u{85}\u{a0}"), "a b");
        assert_eq!(python_strip("\u{feff}x"), "\u{feff}x");
    }

    #[test]
    fn splitlines_matches_python() {
        let lines: Vec<_> = python_splitlines("a\r\nb\rc\u{2028}d\n\ne\n").collect();
        assert_eq!(lines, ["a", "b", "c", "d", "", "e"]);
        assert_eq!(python_splitlines("").count(), 0);
        let lines: Vec<_> = python_splitlines("x\r\r\n").collect();
        assert_eq!(lines, ["x", ""]);
    }
}
