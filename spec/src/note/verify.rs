//! Which of a note's signatures count, and adding one: the trust rules of
//! c2sp.org/signed-note.
//!
//! A signature line is matched to a known key by name *and* key ID. Lines
//! matching no known key are ignored but kept, even if they share a name or an
//! ID with one. Every line that does match is verified — duplicates included,
//! since the spec says a matching signature MUST be verified — and a single
//! failure rejects the whole note (the spec's SHOULD), so a note is never
//! half-trusted. A key counts once however many valid lines it has.

use std::collections::BTreeMap;

use ed25519_dalek::{Signature, Signer as _};

use super::cosignature::{cosignature_message, MAX_TIMESTAMP};
use super::error::NoteError;
use super::key::{KeyType, SignerKey, VerifierKey};
use super::signed::{Note, NoteSignature};

/// The keys a verifier trusts, looked up by name and key ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verifiers {
    by_name: BTreeMap<String, BTreeMap<u32, VerifierKey>>,
}

impl Verifiers {
    /// A set of keys. Two different keys with the same name and ID are
    /// refused: no signature line could say which one it means.
    pub fn new(keys: impl IntoIterator<Item = VerifierKey>) -> Result<Verifiers, NoteError> {
        let mut verifiers = Verifiers::default();
        for key in keys {
            verifiers.insert(key)?;
        }
        Ok(verifiers)
    }

    /// Adds a key; adding the same key again is a no-op.
    pub fn insert(&mut self, key: VerifierKey) -> Result<(), NoteError> {
        let ids = self.by_name.entry(key.name().to_owned()).or_default();
        match ids.get(&key.key_id()) {
            Some(existing) if *existing == key => Ok(()),
            Some(_) => Err(NoteError::AmbiguousKey {
                name: key.name().to_owned(),
                key_id: key.key_id(),
            }),
            None => {
                ids.insert(key.key_id(), key);
                Ok(())
            }
        }
    }

    pub fn get(&self, name: &str, key_id: u32) -> Option<&VerifierKey> {
        self.by_name.get(name)?.get(&key_id)
    }

    pub fn len(&self) -> usize {
        self.by_name.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// A signature that verified against a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub key: VerifierKey,
    pub signature: NoteSignature,
    /// The signed timestamp of a cosignature/v1; `None` for plain Ed25519.
    pub timestamp: Option<u64>,
}

/// A note whose known signatures all verified, at least one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    pub note: Note,
    /// One entry per known key, its first valid line, in note order.
    pub verified: Vec<VerifiedSignature>,
    /// Lines from unknown keys, exact duplicates dropped, in note order.
    pub unverified: Vec<NoteSignature>,
}

impl VerifiedNote {
    pub fn text(&self) -> &str {
        self.note.text()
    }
}

fn invalid(key: &VerifierKey, reason: &'static str) -> NoteError {
    NoteError::InvalidSignature {
        name: key.name().to_owned(),
        key_id: key.key_id(),
        reason,
    }
}

fn check_ed25519(key: &VerifierKey, message: &[u8], signature: &[u8]) -> Result<(), NoteError> {
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| invalid(key, "not a 64-byte Ed25519 signature"))?;
    // Strict verification: canonical S, no small-order R. Honest signers
    // never produce anything it refuses.
    key.public_key()
        .verify_strict(message, &Signature::from_bytes(&signature))
        .map_err(|_| invalid(key, "signature does not verify"))
}

/// Checks a cosignature/v1 (timestamp ‖ signature) by `key` over `text` and
/// returns its timestamp. The caller has checked the key's type.
pub(crate) fn check_cosignature_v1(
    key: &VerifierKey,
    text: &str,
    signature: &[u8],
) -> Result<u64, NoteError> {
    let Some((timestamp, ed25519)) = signature.split_first_chunk::<8>() else {
        return Err(invalid(
            key,
            "not an 8-byte timestamp and a 64-byte signature",
        ));
    };
    let timestamp = u64::from_be_bytes(*timestamp);
    if timestamp > MAX_TIMESTAMP {
        return Err(invalid(key, "timestamp exceeds 2^63 - 1"));
    }
    check_ed25519(key, &cosignature_message(text, timestamp), ed25519)?;
    Ok(timestamp)
}

/// Checks one signature (the bytes after the key ID) by `key` over `text`;
/// returns the timestamp of a cosignature.
fn check_signature(
    key: &VerifierKey,
    text: &str,
    signature: &[u8],
) -> Result<Option<u64>, NoteError> {
    match key.key_type() {
        KeyType::Ed25519 => check_ed25519(key, text.as_bytes(), signature).map(|()| None),
        KeyType::CosignatureV1 => check_cosignature_v1(key, text, signature).map(Some),
    }
}

impl Note {
    /// Verifies every line from a known key and sorts the lines into verified
    /// and unknown. Fails if any known key's line is invalid, or if none
    /// verified.
    pub fn verify(&self, known: &Verifiers) -> Result<VerifiedNote, NoteError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        let mut unverified: Vec<NoteSignature> = Vec::new();
        for signature in self.signatures() {
            match known.get(signature.name(), signature.key_id()) {
                Some(key) => {
                    let timestamp = check_signature(key, self.text(), signature.signature())?;
                    if !verified.iter().any(|v| v.signature.same_key(signature)) {
                        verified.push(VerifiedSignature {
                            key: key.clone(),
                            signature: signature.clone(),
                            timestamp,
                        });
                    }
                }
                None => {
                    if !unverified.contains(signature) {
                        unverified.push(signature.clone());
                    }
                }
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoVerifiedSignature);
        }
        Ok(VerifiedNote {
            note: self.clone(),
            verified,
            unverified,
        })
    }

    /// Parses and verifies in one step.
    pub fn open(message: &[u8], known: &Verifiers) -> Result<VerifiedNote, NoteError> {
        Note::parse(message)?.verify(known)
    }

    /// Signs the text with a plain Ed25519 key, replacing any earlier line
    /// from the same key. Cosignatures carry a timestamp and are made by
    /// [`super::cosign`] instead.
    pub fn sign(&mut self, key: &SignerKey) -> Result<(), NoteError> {
        if key.key_type() != KeyType::Ed25519 {
            return Err(NoteError::WrongKeyType {
                expected: KeyType::Ed25519,
                found: key.key_type(),
            });
        }
        let signature = key.signing_key().sign(self.text().as_bytes());
        self.add_signature(NoteSignature::new(
            key.name(),
            key.key_id(),
            signature.to_bytes().to_vec(),
        )?);
        Ok(())
    }
}
