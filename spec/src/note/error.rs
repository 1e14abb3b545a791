//! Everything that can go wrong with a signed note or one of its keys.
//!
//! Messages never echo input from the note itself (it may be large or
//! hostile); they name the rule that was broken. Names of configured keys,
//! which come from the caller, are shown.

use super::key::KeyType;

/// A key string, note or signature that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("key name is empty")]
    EmptyKeyName,
    #[error("key name {0}")]
    BadKeyName(&'static str),
    #[error("verifier key is not of the form name+keyid+base64key")]
    VerifierKeyFormat,
    #[error("signer key is not of the form PRIVATE+KEY+name+keyid+base64key")]
    SignerKeyFormat,
    #[error("key ID is not 8 lowercase hex digits")]
    KeyIdHex,
    #[error("key material is not canonical standard base64")]
    KeyBase64,
    #[error("key material is empty")]
    EmptyKey,
    #[error("unsupported signature type 0x{0:02x} (only 0x01 Ed25519 and 0x04 cosignature/v1 are implemented)")]
    UnsupportedKeyType(u8),
    #[error("key material is {found} bytes; an Ed25519 key is 32")]
    KeyLength { found: usize },
    #[error("key ID {stated:08x} does not match the key, whose ID is {computed:08x}")]
    KeyIdMismatch { stated: u32, computed: u32 },
    #[error("public key is not a valid Ed25519 point")]
    BadPublicKey,
    #[error("public key has small order, which any signature verifies against")]
    WeakPublicKey,
    #[error("two different keys share the name {name} and key ID {key_id:08x}")]
    AmbiguousKey { name: String, key_id: u32 },

    #[error("note is larger than the {max}-byte limit")]
    TooLarge { max: usize },
    #[error("note text is larger than the {max}-byte limit")]
    TextTooLarge { max: usize },
    #[error("note is not valid UTF-8 (at byte {offset})")]
    NotUtf8 { offset: usize },
    #[error("note contains an ASCII control character other than newline (at byte {offset})")]
    ControlCharacter { offset: usize },
    #[error("note text does not end with a newline")]
    TextMissingFinalNewline,
    #[error("note has no blank line separating its text from signatures")]
    NoSignatureBlock,
    #[error("note has no signature lines")]
    NoSignatures,
    #[error("note has more than {max} signature lines")]
    TooManySignatures { max: usize },
    #[error("last signature line does not end with a newline")]
    SignatureMissingFinalNewline,
    #[error("signature line does not start with an em dash (U+2014) and a space")]
    MissingEmDash,
    #[error("signature line has no space between key name and signature")]
    MissingSignature,
    #[error("signature is not canonical standard base64")]
    SignatureBase64,
    #[error("signature is empty after its 4-byte key ID")]
    SignatureTooShort,
    #[error("signature is longer than the {max}-byte limit")]
    SignatureTooLong { max: usize },

    #[error("signature from known key {name}+{key_id:08x} is invalid: {reason}")]
    InvalidSignature {
        name: String,
        key_id: u32,
        reason: &'static str,
    },
    #[error("note has no valid signature from a known key")]
    NoVerifiedSignature,
    #[error("{found} key cannot make this signature; a {expected} key is needed")]
    WrongKeyType { expected: KeyType, found: KeyType },
}
