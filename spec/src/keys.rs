//! Ed25519 keys in the reference's file formats: PKCS#8 v1 PEM for private
//! keys and SubjectPublicKeyInfo PEM for public keys, byte-identical to what
//! Python's `cryptography` writes, plus the token key id (`kid`).
//!
//! Pure: keys are parsed from and rendered to strings; reading files, setting
//! permissions and drawing randomness are the caller's job.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
pub use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;

use crate::hash::sha256_hex;

/// A key file that could not be read as an Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not an Ed25519 private key in PKCS#8 PEM form ({0})")]
    BadPrivateKey(String),
    #[error("not an Ed25519 public key in SubjectPublicKeyInfo PEM form ({0})")]
    BadPublicKey(String),
}

/// DER prefix of a PKCS#8 v1 `PrivateKeyInfo` for Ed25519 (RFC 8410), which
/// is what OpenSSL writes; the 32-byte seed follows.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// DER prefix of an Ed25519 `SubjectPublicKeyInfo`; the 32-byte key follows.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A fresh signing key from `rng`.
pub fn generate_signing_key(rng: &mut impl CryptoRngCore) -> SigningKey {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    SigningKey::from_bytes(&seed)
}

/// Reads a PKCS#8 PEM private key (v1, or v2 with the public key embedded).
pub fn signing_key_from_pem(pem: &str) -> Result<SigningKey, KeyError> {
    SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| KeyError::BadPrivateKey(e.to_string()))
}

/// Reads a SubjectPublicKeyInfo PEM public key.
pub fn verifying_key_from_pem(pem: &str) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| KeyError::BadPublicKey(e.to_string()))
}

/// The private key as `cryptography` writes it: PKCS#8 v1, PEM, LF endings.
pub fn signing_key_to_pem(key: &SigningKey) -> String {
    let mut der = Vec::with_capacity(48);
    der.extend_from_slice(&PKCS8_V1_PREFIX);
    der.extend_from_slice(key.as_bytes());
    pem_block("PRIVATE KEY", &der)
}

/// The public key as `cryptography` writes it: SubjectPublicKeyInfo, PEM.
pub fn verifying_key_to_pem(key: &VerifyingKey) -> String {
    let mut der = Vec::with_capacity(44);
    der.extend_from_slice(&SPKI_PREFIX);
    der.extend_from_slice(key.as_bytes());
    pem_block("PUBLIC KEY", &der)
}

fn pem_block(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The reference's token key id: the first 16 hex characters of the SHA-256
/// of the public key's 64-character lowercase hex.
pub fn key_id(key: &VerifyingKey) -> String {
    let mut kid = sha256_hex(&hex::encode(key.as_bytes()));
    kid.truncate(16);
    kid
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTK_CHAIN_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA2rcFObBUFzdrsYz1UV0nj8EdZPkHQrQZw3o7W3qhXlU=\n-----END PUBLIC KEY-----\n";

    #[test]
    fn public_pem_round_trips_byte_for_byte() {
        let key = verifying_key_from_pem(CTK_CHAIN_KEY).unwrap();
        assert_eq!(verifying_key_to_pem(&key), CTK_CHAIN_KEY);
    }

    #[test]
    fn private_pem_round_trips() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let pem = signing_key_to_pem(&key);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"));
        assert_eq!(
            signing_key_from_pem(&pem).unwrap().to_bytes(),
            key.to_bytes()
        );
    }

    #[test]
    fn bad_pem_is_refused() {
        assert!(signing_key_from_pem("not a key").is_err());
        assert!(verifying_key_from_pem(CTK_CHAIN_KEY.replace('M', "N").as_str()).is_err());
    }
}
