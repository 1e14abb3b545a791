//! Key names, key IDs and the two key-string encodings of c2sp.org/signed-note:
//! verifier keys `name+hex(keyid)+base64(type‖public key)` and signer keys
//! `PRIVATE+KEY+name+hex(keyid)+base64(type‖seed)`.
//!
//! Only the two Ed25519 signature types are implemented: 0x01, a log's note
//! signature, and 0x04, a witness's cosignature/v1. Any other type byte is
//! refused rather than carried along, so no key can be configured that this
//! crate would then be unable to verify.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

use super::error::NoteError;
use super::lines::{decode_base64, encode_base64};

/// The literal that starts a signer key, so it is never mistaken for a vkey.
const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// A signature type this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    /// 0x01: Ed25519 over the note text, as a log signs its checkpoints.
    Ed25519,
    /// 0x04: Ed25519 over `cosignature/v1\ntime <T>\n` and the note text,
    /// with the timestamp carried in the signature (c2sp.org/tlog-cosignature).
    CosignatureV1,
}

impl KeyType {
    /// The signature type identifier byte.
    pub const fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::CosignatureV1 => 0x04,
        }
    }

    pub const fn from_byte(byte: u8) -> Option<KeyType> {
        match byte {
            0x01 => Some(KeyType::Ed25519),
            0x04 => Some(KeyType::CosignatureV1),
            _ => None,
        }
    }

    /// Length of the signature bytes that follow the 4-byte key ID.
    pub const fn signature_len(self) -> usize {
        match self {
            KeyType::Ed25519 => 64,
            // u64 timestamp, then the Ed25519 signature.
            KeyType::CosignatureV1 => 8 + 64,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyType::Ed25519 => f.write_str("Ed25519 (0x01)"),
            KeyType::CosignatureV1 => f.write_str("Ed25519 cosignature/v1 (0x04)"),
        }
    }
}

/// Checks a key name: non-empty, no Unicode whitespace, no `+`.
///
/// ASCII control characters are refused too: a signed note may not contain
/// them, so a key with such a name could never sign a valid note.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() {
        return Err(NoteError::EmptyKeyName);
    }
    for c in name.chars() {
        if c.is_whitespace() {
            return Err(NoteError::BadKeyName("contains whitespace"));
        }
        if c == '+' {
            return Err(NoteError::BadKeyName("contains '+'"));
        }
        if c < ' ' {
            return Err(NoteError::BadKeyName("contains a control character"));
        }
    }
    Ok(())
}

/// The recommended key ID: the first four bytes, big-endian, of
/// SHA-256(name ‖ 0x0A ‖ type byte ‖ public key).
pub fn key_id(name: &str, type_byte: u8, public_key: &[u8]) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', type_byte])
        .chain_update(public_key)
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn parse_key_id(hex: &str) -> Result<u32, NoteError> {
    // The spec's hex is fixed-length lowercase; u32::from_str_radix alone
    // would also take uppercase and a leading '+'.
    if hex.len() != 8 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(NoteError::KeyIdHex);
    }
    u32::from_str_radix(hex, 16).map_err(|_| NoteError::KeyIdHex)
}

/// Splits `name+hexid+base64` and decodes its parts. The name cannot contain
/// `+`, so the first two are separators; base64 itself may contain `+`.
fn split_key_string(text: &str) -> Option<(&str, &str, &str)> {
    let (name, rest) = text.split_once('+')?;
    let (id, material) = rest.split_once('+')?;
    Some((name, id, material))
}

/// Decodes `base64(type ‖ 32 bytes)`.
fn decode_material(material: &str) -> Result<(u8, KeyType, [u8; 32]), NoteError> {
    let bytes = decode_base64(material).ok_or(NoteError::KeyBase64)?;
    let (&type_byte, key) = bytes.split_first().ok_or(NoteError::EmptyKey)?;
    let key_type = KeyType::from_byte(type_byte).ok_or(NoteError::UnsupportedKeyType(type_byte))?;
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| NoteError::KeyLength { found: key.len() })?;
    Ok((type_byte, key_type, key))
}

fn encode_material(key_type: KeyType, key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(33);
    bytes.push(key_type.byte());
    bytes.extend_from_slice(key);
    encode_base64(&bytes)
}

fn check_id(stated: u32, name: &str, type_byte: u8, public_key: &[u8]) -> Result<(), NoteError> {
    let computed = key_id(name, type_byte, public_key);
    if stated != computed {
        return Err(NoteError::KeyIdMismatch { stated, computed });
    }
    Ok(())
}

/// A verifier key ("vkey"): a named public key of one signature type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    key_type: KeyType,
    key: VerifyingKey,
}

impl VerifierKey {
    /// A vkey for `key` under `name`, with the recommended key ID.
    pub fn new(name: &str, key_type: KeyType, key: VerifyingKey) -> Result<VerifierKey, NoteError> {
        check_key_name(name)?;
        if key.is_weak() {
            return Err(NoteError::WeakPublicKey);
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            key_id: key_id(name, key_type.byte(), key.as_bytes()),
            key_type,
            key,
        })
    }

    /// Parses `name+hexid+base64(type‖key)`, checking the ID against the key.
    pub fn parse(vkey: &str) -> Result<VerifierKey, NoteError> {
        let (name, id, material) = split_key_string(vkey).ok_or(NoteError::VerifierKeyFormat)?;
        check_key_name(name)?;
        let stated = parse_key_id(id)?;
        let (type_byte, key_type, bytes) = decode_material(material)?;
        check_id(stated, name, type_byte, &bytes)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| NoteError::BadPublicKey)?;
        if key.is_weak() {
            return Err(NoteError::WeakPublicKey);
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            key_id: stated,
            key_type,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_material(self.key_type, self.key.as_bytes())
        )
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;

    fn from_str(vkey: &str) -> Result<VerifierKey, NoteError> {
        VerifierKey::parse(vkey)
    }
}

/// A signer key: the private half of a [`VerifierKey`]. Its `Debug` output
/// omits the seed; [`SignerKey::to_skey_string`] is the only way to print it.
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    key_id: u32,
    key_type: KeyType,
    key: SigningKey,
}

impl SignerKey {
    /// A signer key for `key` under `name`, with the recommended key ID.
    pub fn new(name: &str, key_type: KeyType, key: SigningKey) -> Result<SignerKey, NoteError> {
        check_key_name(name)?;
        Ok(SignerKey {
            name: name.to_owned(),
            key_id: key_id(name, key_type.byte(), key.verifying_key().as_bytes()),
            key_type,
            key,
        })
    }

    /// A fresh key from `rng` (the caller supplies the randomness).
    pub fn generate(
        name: &str,
        key_type: KeyType,
        rng: &mut impl CryptoRngCore,
    ) -> Result<SignerKey, NoteError> {
        SignerKey::new(name, key_type, crate::keys::generate_signing_key(rng))
    }

    /// Parses `PRIVATE+KEY+name+hexid+base64(type‖seed)`. The ID is that of
    /// the derived public key, so it is checked after derivation.
    pub fn parse(skey: &str) -> Result<SignerKey, NoteError> {
        let rest = skey
            .strip_prefix(SIGNER_KEY_PREFIX)
            .ok_or(NoteError::SignerKeyFormat)?;
        let (name, id, material) = split_key_string(rest).ok_or(NoteError::SignerKeyFormat)?;
        check_key_name(name)?;
        let stated = parse_key_id(id)?;
        let (type_byte, key_type, seed) = decode_material(material)?;
        let key = SigningKey::from_bytes(&seed);
        check_id(stated, name, type_byte, key.verifying_key().as_bytes())?;
        Ok(SignerKey {
            name: name.to_owned(),
            key_id: stated,
            key_type,
            key,
        })
    }

    /// The secret key string. Anyone holding it can sign as this key.
    pub fn to_skey_string(&self) -> String {
        format!(
            "{SIGNER_KEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_material(self.key_type, self.key.as_bytes())
        )
    }

    /// The matching verifier key.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key_type: self.key_type,
            key: self.key.verifying_key(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec() {
        assert_eq!(check_key_name("example.com/log42"), Ok(()));
        assert_eq!(check_key_name("oid/1.3.6.1.4.1"), Ok(()));
        assert_eq!(check_key_name("é—名"), Ok(()));
        assert_eq!(check_key_name(""), Err(NoteError::EmptyKeyName));
        for bad in ["a b", "a\u{a0}b", "a\u{3000}", "a+b", "a\u{1}b", "\u{85}"] {
            assert!(check_key_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_types_round_trip_their_bytes() {
        for key_type in [KeyType::Ed25519, KeyType::CosignatureV1] {
            assert_eq!(KeyType::from_byte(key_type.byte()), Some(key_type));
        }
        for byte in [0x00, 0x02, 0x03, 0x05, 0x06, 0xff] {
            assert_eq!(KeyType::from_byte(byte), None);
        }
    }

    #[test]
    fn key_id_hex_is_fixed_length_lowercase() {
        assert_eq!(parse_key_id("c74f20a3"), Ok(0xc74f20a3));
        for bad in ["C74F20A3", "c74f20a", "c74f20a30", "+74f20a3", "c74f20g3"] {
            assert_eq!(parse_key_id(bad), Err(NoteError::KeyIdHex), "{bad:?}");
        }
    }

    #[test]
    fn signer_debug_hides_the_seed() {
        let key = SignerKey::new("n", KeyType::Ed25519, SigningKey::from_bytes(&[9; 32])).unwrap();
        let debug = format!("{key:?}");
        let skey = key.to_skey_string();
        let seed_b64 = skey.rsplit('+').next().unwrap();
        assert!(!debug.contains(seed_b64), "{debug}");
        assert!(debug.contains("SignerKey"));
    }
}
