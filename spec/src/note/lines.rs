//! The strict lexical pieces every C2SP text format here shares: canonical
//! standard base64, ASCII decimals without leading zeroes, one SHA-256 hash
//! per line, and newline-terminated lines.
//!
//! Strictness is what makes parsing canonical: each value has exactly one
//! accepted spelling, so `format(parse(text)) == text` and a signature over
//! re-rendered text is a signature over the bytes that were received.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

/// RFC 4648 §4 base64 with `=` padding required and non-zero trailing bits
/// refused: the one canonical spelling of each byte string.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Base64 length of a 32-byte hash: 43 characters and one `=`.
const HASH_BASE64_LEN: usize = 44;

pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Canonical base64 only; `None` for anything else, including whitespace.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text).ok()
}

/// An unsigned decimal with no sign, no leading zeroes (except `0` itself)
/// and no overflow.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes.len() > 1 && bytes[0] == b'0' {
        return None;
    }
    // Digits only, so the only possible failure left is overflow.
    text.parse().ok()
}

/// One base64-encoded SHA-256 hash.
pub(crate) fn parse_hash(text: &str) -> Option<[u8; 32]> {
    if text.len() != HASH_BASE64_LEN {
        return None;
    }
    decode_base64(text)?.try_into().ok()
}

/// Splits off the first line, which must be terminated by `\n`; the line is
/// returned without it.
pub(crate) fn take_line(text: &str) -> Option<(&str, &str)> {
    text.split_once('\n')
}

/// Byte offset of the first ASCII control character other than newline.
pub(crate) fn control_character_offset(text: &str) -> Option<usize> {
    // UTF-8 continuation and lead bytes are all >= 0x80, so a byte scan sees
    // exactly the ASCII controls.
    text.bytes().position(|b| b < 0x20 && b != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("20852163"), Some(20_852_163));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1_000",
            "18446744073709551616",
            "١",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hashes_are_canonical_base64_of_32_bytes() {
        let hash = parse_hash("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").unwrap();
        assert_eq!(hash[0], 0x0a);
        // Unpadded, non-zero trailing bits, 31 and 33 bytes, URL alphabet.
        for bad in [
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I",
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=",
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==",
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IA",
            "CsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=",
        ] {
            assert_eq!(parse_hash(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn control_characters_are_found_but_not_newlines_or_non_ascii() {
        assert_eq!(control_character_offset("a\nb — é\u{7f}"), None);
        assert_eq!(control_character_offset("ab\tc"), Some(2));
        assert_eq!(control_character_offset("\r\n"), Some(0));
    }
}
