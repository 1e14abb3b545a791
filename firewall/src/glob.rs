//! The coarse path glob of spec §5: Python's `fnmatch.fnmatch(path,
//! pattern.replace("**", "*"))` on POSIX. `*` spans `/`, `?` is any one
//! character, `[...]` is a character class (`!` negates; reversed ranges are
//! dropped, as CPython's translation drops them), and an unclosed `[` is a
//! literal. The match is anchored at both ends.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyOne,
    AnySequence,
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
    /// A class left empty by range removal: never matches.
    Never,
}

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    /// Compiles a policy `path` pattern (after the `**` → `*` fold).
    pub fn new(pattern: &str) -> Glob {
        let folded = pattern.replace("**", "*");
        let chars: Vec<char> = folded.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                '*' => {
                    if tokens.last() != Some(&Token::AnySequence) {
                        tokens.push(Token::AnySequence);
                    }
                }
                '?' => tokens.push(Token::AnyOne),
                '[' => match class_end(&chars, i) {
                    None => tokens.push(Token::Literal('[')),
                    Some(end) => {
                        tokens.push(compile_class(&chars[i..end]));
                        i = end + 1;
                    }
                },
                other => tokens.push(Token::Literal(other)),
            }
        }
        Glob { tokens }
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        // Iterative wildcard matching with backtracking to the last '*'.
        let (mut t, mut p) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::AnySequence) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(token) if single_matches(token, text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((star_p, star_t)) => {
                        p = star_p + 1;
                        t = star_t + 1;
                        star = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..]
            .iter()
            .all(|token| *token == Token::AnySequence)
    }
}

fn single_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::AnyOne => true,
        Token::Class { negated, items } => {
            items.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
        Token::Never | Token::AnySequence => false,
    }
}

/// Index of the `]` closing a class whose content starts at `start`, if any
/// (a leading `!` and then a leading `]` belong to the content).
fn class_end(chars: &[char], start: usize) -> Option<usize> {
    let mut j = start;
    if chars.get(j) == Some(&'!') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    while j < chars.len() && chars[j] != ']' {
        j += 1;
    }
    (j < chars.len()).then_some(j)
}

/// CPython's class translation: split at range hyphens, drop reversed
/// ranges, then read what remains.
fn compile_class(content: &[char]) -> Token {
    let negated = content.first() == Some(&'!');
    let mut chunks: Vec<Vec<char>> = Vec::new();
    let mut start = 0;
    let mut search = if negated { 2 } else { 1 };
    while let Some(offset) = content
        .get(search..)
        .and_then(|rest| rest.iter().position(|c| *c == '-'))
    {
        let k = search + offset;
        chunks.push(content[start..k].to_vec());
        start = k + 1;
        search = k + 3;
    }
    let last = content[start..].to_vec();
    if last.is_empty() {
        if let Some(previous) = chunks.last_mut() {
            previous.push('-');
        } else {
            chunks.push(vec!['-']);
        }
    } else {
        chunks.push(last);
    }
    // Remove empty (reversed) ranges, merging their neighbours.
    let mut k = chunks.len();
    while k > 1 {
        k -= 1;
        let (prev_last, next_first) = (chunks[k - 1].last().copied(), chunks[k].first().copied());
        if let (Some(a), Some(b)) = (prev_last, next_first) {
            if a > b {
                let tail: Vec<char> = chunks[k][1..].to_vec();
                chunks[k - 1].pop();
                chunks[k - 1].extend(tail);
                chunks.remove(k);
            }
        }
    }
    // Read the class: literal characters, with a range between the last
    // character of each chunk and the first of the next.
    let mut items: Vec<(char, char)> = Vec::new();
    let skip_bang = usize::from(negated);
    let count = chunks.len();
    for (index, chunk) in chunks.iter().enumerate() {
        let from = if index == 0 {
            skip_bang.min(chunk.len())
        } else {
            1
        };
        let to = if index + 1 < count {
            chunk.len().saturating_sub(1)
        } else {
            chunk.len()
        };
        for &c in chunk.get(from..to.max(from)).unwrap_or_default() {
            items.push((c, c));
        }
        if index + 1 < count {
            if let (Some(lo), Some(hi)) = (chunk.last(), chunks[index + 1].first()) {
                items.push((*lo, *hi));
            }
        }
    }
    if items.is_empty() {
        return if negated {
            // `[!]`-like: any character.
            Token::AnyOne
        } else {
            Token::Never
        };
    }
    Token::Class { negated, items }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).matches(path)
    }

    #[test]
    fn coarse_glob_semantics() {
        assert!(m("/accounts/**", "/accounts/me"));
        assert!(m("/accounts/**", "/accounts/me/deep/er"));
        assert!(m("/accounts/*", "/accounts/a/b"));
        assert!(!m("/accounts/**", "/accounts"));
        assert!(m("/orders", "/orders"));
        assert!(!m("/orders", "/orders/1"));
        assert!(m("/o?ders", "/orders"));
        assert!(m("/v[0-9]/x", "/v1/x"));
        assert!(!m("/v[!0-9]/x", "/v1/x"));
        assert!(m("/a[b", "/a[b"));
        assert!(!m("/[z-a]", "/z"));
        assert!(m("*", ""));
        assert!(m("/a/*/c", "/a//c"));
        assert!(m("[]]", "]"));
        assert!(m("[a-]", "-"));
    }

    /// Every (pattern, path) pair of `tests/vectors/fnmatch.json`, whose
    /// expected results come from CPython 3.11's `fnmatch.fnmatch`.
    #[test]
    fn agrees_with_cpython_fnmatch() {
        let text = include_str!("../tests/vectors/fnmatch.json");
        let cases = delego_spec::json::parse(text).unwrap();
        let cases = cases.as_array().unwrap();
        assert!(cases.len() > 500);
        for case in cases {
            let case = case.as_array().unwrap();
            let (pattern, path) = (case[0].as_str().unwrap(), case[1].as_str().unwrap());
            let expected = case[2] == delego_spec::json::Value::Bool(true);
            assert_eq!(m(pattern, path), expected, "fnmatch({path:?}, {pattern:?})");
        }
    }
}
