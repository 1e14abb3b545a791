//! URL splitting and query canonicalisation exactly as the reference does it.
//!
//! The reference derives `host`, `path` and `query` with Python's
//! `urllib.parse.urlsplit` and `unquote_plus` (CPython 3.11). Parser
//! differentials here would let two implementations fingerprint one URL
//! differently, so this module ports their observable behaviour step by step,
//! including the quirks (invalid `%` escapes kept literally, invalid UTF-8
//! decoded to U+FFFD, `\t\r\n` removed anywhere in the URL).

use std::net::{Ipv4Addr, Ipv6Addr};

use unicode_normalization::UnicodeNormalization;

/// A URL refused by the splitter, with Python's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("Invalid IPv6 URL")]
    UnbalancedBrackets,
    #[error("invalid bracketed host {0:?}: not an IPv6 address or IPvFuture")]
    BadBracketedHost(String),
    #[error("An IPv4 address cannot be in brackets")]
    BracketedIpv4,
    #[error("netloc '{0}' contains invalid characters under NFKC normalization")]
    NfkcNetloc(String),
}

/// The five components of `urlsplit`, as borrowed or cleaned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitUrl {
    /// Lower-cased scheme, or empty.
    pub scheme: String,
    /// The authority exactly as written (userinfo and port included).
    pub netloc: String,
    pub path: String,
    pub query: String,
    pub fragment: String,
}

/// Schemes Python's `urlunsplit` writes with `//` even without a netloc.
const USES_NETLOC: [&str; 26] = [
    "", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https", "shttp",
    "snews", "prospero", "rtsp", "rtsps", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git",
    "git+ssh", "ws", "wss",
];

impl SplitUrl {
    /// Python 3.11's `urlunsplit` of these components with the fragment
    /// dropped: the URL a broker may request (scheme, host, path, query — the
    /// slice the fingerprint commits to).
    pub fn without_fragment(&self) -> String {
        let mut url = String::new();
        let uses_netloc = !self.scheme.is_empty()
            && USES_NETLOC.contains(&self.scheme.as_str())
            && !self.path.starts_with("//");
        if !self.netloc.is_empty() || uses_netloc {
            url.push_str("//");
            url.push_str(&self.netloc);
            if !self.path.is_empty() && !self.path.starts_with('/') {
                url.push('/');
            }
        }
        url.push_str(&self.path);
        if !self.scheme.is_empty() {
            url.insert_str(0, &format!("{}:", self.scheme));
        }
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&self.query);
        }
        url
    }
}

fn is_c0_or_space(c: char) -> bool {
    c <= ' '
}

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

/// Python 3.11's `urllib.parse.urlsplit(url)`.
pub fn urlsplit(url: &str) -> Result<SplitUrl, UrlError> {
    let cleaned: String = url
        .trim_start_matches(is_c0_or_space)
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest: &str = &cleaned;
    let mut scheme = String::new();
    if let Some(colon) = rest.find(':') {
        let candidate = &rest[..colon];
        let first_ok = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic());
        if colon > 0 && first_ok && candidate.chars().all(is_scheme_char) {
            scheme = candidate.to_ascii_lowercase();
            rest = &rest[colon + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
        let (open, close) = (netloc.contains('['), netloc.contains(']'));
        if open != close {
            return Err(UrlError::UnbalancedBrackets);
        }
        if open {
            let after_open = netloc.split_once('[').map_or("", |(_, r)| r);
            let host = after_open.split_once(']').map_or(after_open, |(h, _)| h);
            check_bracketed_host(host)?;
        }
    }
    let (before_fragment, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = before_fragment
        .split_once('?')
        .unwrap_or((before_fragment, ""));
    check_netloc_nfkc(netloc)?;
    Ok(SplitUrl {
        scheme,
        netloc: netloc.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        fragment: fragment.to_owned(),
    })
}

fn check_bracketed_host(host: &str) -> Result<(), UrlError> {
    if let Some(future) = host.strip_prefix('v') {
        // IPvFuture: v<hex>.<anything non-empty>
        let valid = future.split_once('.').is_some_and(|(hex, tail)| {
            !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) && !tail.is_empty()
        });
        return if valid && !host.contains('\n') {
            Ok(())
        } else {
            Err(UrlError::BadBracketedHost(host.to_owned()))
        };
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Err(UrlError::BracketedIpv4);
    }
    // Python accepts a zone id after '%' (non-empty, no further '%').
    let (address, zone) = match host.split_once('%') {
        Some((address, zone)) => (address, Some(zone)),
        None => (host, None),
    };
    let zone_ok = zone.is_none_or(|z| !z.is_empty() && !z.contains('%'));
    if zone_ok && address.parse::<Ipv6Addr>().is_ok() {
        Ok(())
    } else {
        Err(UrlError::BadBracketedHost(host.to_owned()))
    }
}

/// Refuses a non-ASCII authority whose NFKC form smuggles in a delimiter
/// (e.g. U+2100 "℀" becomes "a/c"), as Python does.
fn check_netloc_nfkc(netloc: &str) -> Result<(), UrlError> {
    if netloc.is_ascii() {
        return Ok(());
    }
    let stripped: String = netloc
        .chars()
        .filter(|c| !matches!(c, '@' | ':' | '#' | '?'))
        .collect();
    let normalized: String = stripped.nfkc().collect();
    if normalized != stripped && normalized.contains(['/', '?', '#', '@', ':']) {
        return Err(UrlError::NfkcNetloc(netloc.to_owned()));
    }
    Ok(())
}

/// Python's `urllib.parse.unquote_plus`: `+` becomes a space, valid `%XX`
/// escapes are decoded, invalid ones are kept literally, and each run of
/// ASCII text is decoded as UTF-8 with invalid sequences replaced by U+FFFD.
pub fn unquote_plus(text: &str) -> String {
    if !text.contains(['%', '+']) {
        return text.to_owned();
    }
    let text = text.replace('+', " ");
    if !text.contains('%') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    // Python decodes ASCII runs independently; non-ASCII text passes through
    // untouched and separates the runs (so a split UTF-8 sequence never joins).
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let ascii_len = rest.bytes().take_while(u8::is_ascii).count();
        if ascii_len > 0 {
            let bytes = percent_decode_ascii(&rest[..ascii_len]);
            out.push_str(&String::from_utf8_lossy(&bytes));
            rest = &rest[ascii_len..];
        }
        let other_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii())
            .map_or(rest.len(), |(i, _)| i);
        out.push_str(&rest[..other_len]);
        rest = &rest[other_len..];
    }
    out
}

fn percent_decode_ascii(run: &str) -> Vec<u8> {
    let bytes = run.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The canonical query of spec §4.2: split on `&`, each pair on its first
/// `=`, both halves `unquote_plus`-decoded, sorted by name then value with
/// duplicates kept. An empty query gives an empty list.
pub fn canonical_query(query: &str) -> Vec<(String, String)> {
    if query.is_empty() {
        return Vec::new();
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .map(|raw| {
            let (name, value) = raw.split_once('=').unwrap_or((raw, ""));
            (unquote_plus(name), unquote_plus(value))
        })
        .collect();
    // Tuple order compares name then value; String order is code-point order.
    pairs.sort();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> SplitUrl {
        urlsplit(url).unwrap()
    }

    #[test]
    fn splits_like_python() {
        let u = split("HTTPS://User:pw@API.Example.com:8443/a/b?x=1?y#frag?z");
        assert_eq!(u.scheme, "https");
        assert_eq!(u.netloc, "User:pw@API.Example.com:8443");
        assert_eq!(u.path, "/a/b");
        assert_eq!(u.query, "x=1?y");
        assert_eq!(u.fragment, "frag?z");
        let u = split("  https://h\t/p\na?q");
        assert_eq!(
            (u.netloc.as_str(), u.path.as_str(), u.query.as_str()),
            ("h", "/pa", "q")
        );
        let u = split("api.example.com/x");
        assert_eq!(
            (u.scheme.as_str(), u.netloc.as_str(), u.path.as_str()),
            ("", "", "api.example.com/x")
        );
        let u = split("https://[::1]:8080");
        assert_eq!((u.netloc.as_str(), u.path.as_str()), ("[::1]:8080", ""));
    }

    #[test]
    fn refuses_what_python_refuses() {
        assert_eq!(
            urlsplit("https://[::1/x"),
            Err(UrlError::UnbalancedBrackets)
        );
        assert_eq!(urlsplit("https://[1.2.3.4]/"), Err(UrlError::BracketedIpv4));
        assert!(matches!(
            urlsplit("https://[zz]/"),
            Err(UrlError::BadBracketedHost(_))
        ));
        assert!(matches!(
            urlsplit("https://a\u{2100}b/"),
            Err(UrlError::NfkcNetloc(_))
        ));
    }

    #[test]
    fn unquote_plus_matches_python() {
        assert_eq!(unquote_plus("two+words%20x"), "two words x");
        assert_eq!(unquote_plus("%zz%4%"), "%zz%4%");
        assert_eq!(unquote_plus("%C3%A9"), "é");
        assert_eq!(unquote_plus("%e9"), "\u{fffd}");
        assert_eq!(unquote_plus("%C3é"), "\u{fffd}é");
        assert_eq!(unquote_plus("%2B"), "+");
    }

    #[test]
    fn query_folds_and_sorts() {
        let q = canonical_query("b=two%20words&a=1&a&=x&a==b");
        let expected = [
            ("", "x"),
            ("a", ""),
            ("a", "1"),
            ("a", "=b"),
            ("b", "two words"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(q, expected);
        assert!(canonical_query("").is_empty());
    }
}
