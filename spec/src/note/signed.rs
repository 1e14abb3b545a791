//! The signed note's shape (c2sp.org/signed-note): a text ending in a
//! newline, a blank line, then one or more lines `— <key name> base64(key ID ‖
//! signature)`. This file parses and renders that shape under strict limits;
//! which signatures count is decided by [`super::verify`].

use super::error::NoteError;
use super::key::check_key_name;
use super::lines::{control_character_offset, decode_base64, encode_base64};

/// What starts every signature line: an em dash (U+2014) and a space.
pub const SIGNATURE_LINE_PREFIX: &str = "— ";

/// Bounds on what a parser will look at. The spec requires accepting at least
/// 16 signatures and leaves the rest to implementations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteLimits {
    /// The whole note, text and signature lines.
    pub max_note_bytes: usize,
    /// The text, including its final newline.
    pub max_text_bytes: usize,
    /// Signature lines, counting duplicates and unknown keys.
    pub max_signatures: usize,
    /// Signature bytes after the key ID of one line.
    pub max_signature_bytes: usize,
}

impl NoteLimits {
    /// Room for a checkpoint with extension lines and 100 signatures of up to
    /// 8 KiB each (post-quantum signatures are nearly 5 kB).
    pub const DEFAULT: NoteLimits = NoteLimits {
        max_note_bytes: 1 << 20,
        max_text_bytes: 64 << 10,
        max_signatures: 100,
        max_signature_bytes: 8 << 10,
    };
}

impl Default for NoteLimits {
    fn default() -> NoteLimits {
        NoteLimits::DEFAULT
    }
}

/// One signature line: who claims to have signed, and the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature line's content; `signature` excludes the key ID.
    pub fn new(name: &str, key_id: u32, signature: Vec<u8>) -> Result<NoteSignature, NoteError> {
        check_key_name(name)?;
        if signature.is_empty() {
            return Err(NoteError::SignatureTooShort);
        }
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id,
            signature,
        })
    }

    /// Parses one line without its final newline, under the default limits.
    pub fn parse_line(line: &str) -> Result<NoteSignature, NoteError> {
        NoteSignature::parse_line_within(line, NoteLimits::DEFAULT.max_signature_bytes)
    }

    fn parse_line_within(
        line: &str,
        max_signature_bytes: usize,
    ) -> Result<NoteSignature, NoteError> {
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(NoteError::MissingEmDash)?;
        // Names cannot contain spaces, so the first space ends the name; any
        // later one makes the base64 invalid.
        let (name, encoded) = rest.split_once(' ').ok_or(NoteError::MissingSignature)?;
        check_key_name(name)?;
        if encoded.is_empty() {
            return Err(NoteError::MissingSignature);
        }
        // Refuse oversize lines before decoding them.
        if encoded.len() / 4 * 3 > max_signature_bytes + 4 + 2 {
            return Err(NoteError::SignatureTooLong {
                max: max_signature_bytes,
            });
        }
        let bytes = decode_base64(encoded).ok_or(NoteError::SignatureBase64)?;
        let (id, signature) = match bytes.split_first_chunk::<4>() {
            Some((id, signature)) if !signature.is_empty() => (id, signature),
            _ => return Err(NoteError::SignatureTooShort),
        };
        if signature.len() > max_signature_bytes {
            return Err(NoteError::SignatureTooLong {
                max: max_signature_bytes,
            });
        }
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes(*id),
            signature: signature.to_vec(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature bytes after the key ID.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            encode_base64(&bytes)
        )
    }

    /// Whether both lines claim the same key (name and key ID).
    pub fn same_key(&self, other: &NoteSignature) -> bool {
        self.name == other.name && self.key_id == other.key_id
    }
}

/// A note's text and its signature lines, verified or not, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

fn check_text(text: &str, limits: &NoteLimits) -> Result<(), NoteError> {
    if text.len() > limits.max_text_bytes {
        return Err(NoteError::TextTooLarge {
            max: limits.max_text_bytes,
        });
    }
    if let Some(offset) = control_character_offset(text) {
        return Err(NoteError::ControlCharacter { offset });
    }
    if !text.ends_with('\n') {
        return Err(NoteError::TextMissingFinalNewline);
    }
    Ok(())
}

impl Note {
    /// An unsigned note over `text`, which must end with a newline and
    /// contain no other ASCII control characters.
    pub fn new(text: impl Into<String>) -> Result<Note, NoteError> {
        let text = text.into();
        check_text(&text, &NoteLimits::DEFAULT)?;
        Ok(Note {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note under [`NoteLimits::DEFAULT`].
    pub fn parse(message: &[u8]) -> Result<Note, NoteError> {
        Note::parse_within(message, &NoteLimits::DEFAULT)
    }

    /// Parses a signed note: shape only, no signature is checked here.
    pub fn parse_within(message: &[u8], limits: &NoteLimits) -> Result<Note, NoteError> {
        if message.len() > limits.max_note_bytes {
            return Err(NoteError::TooLarge {
                max: limits.max_note_bytes,
            });
        }
        let message = std::str::from_utf8(message).map_err(|e| NoteError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        if let Some(offset) = control_character_offset(message) {
            return Err(NoteError::ControlCharacter { offset });
        }
        // The text may hold blank lines; the last one separates it from the
        // signatures, which are never empty lines themselves.
        let split = message.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, block) = (&message[..=split], &message[split + 2..]);
        check_text(text, limits)?;
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let block = block
            .strip_suffix('\n')
            .ok_or(NoteError::SignatureMissingFinalNewline)?;
        let mut signatures = Vec::new();
        for line in block.split('\n') {
            if signatures.len() == limits.max_signatures {
                return Err(NoteError::TooManySignatures {
                    max: limits.max_signatures,
                });
            }
            signatures.push(NoteSignature::parse_line_within(
                line,
                limits.max_signature_bytes,
            )?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every signature line, in order, as parsed or added.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature, first removing any line from the same key: a key
    /// re-signing (or a witness re-cosigning) replaces its old line.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures.retain(|s| !s.same_key(&signature));
        self.signatures.push(signature);
    }

    /// Renders the signed note. Refuses what [`Note::parse`] would refuse: no
    /// signatures, or more or longer ones than the default limits allow.
    pub fn encode(&self) -> Result<String, NoteError> {
        let limits = NoteLimits::DEFAULT;
        if self.signatures.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if self.signatures.len() > limits.max_signatures {
            return Err(NoteError::TooManySignatures {
                max: limits.max_signatures,
            });
        }
        let mut out = String::with_capacity(self.text.len() + 128 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for signature in &self.signatures {
            if signature.signature.len() > limits.max_signature_bytes {
                return Err(NoteError::SignatureTooLong {
                    max: limits.max_signature_bytes,
                });
            }
            out.push_str(&signature.to_line());
        }
        if out.len() > limits.max_note_bytes {
            return Err(NoteError::TooLarge {
                max: limits.max_note_bytes,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

    #[test]
    fn text_may_end_in_blank_lines_and_still_round_trips() {
        let mut note = Note::new("Note\n\n").unwrap();
        note.add_signature(NoteSignature::parse_line(SIG).unwrap());
        let encoded = note.encode().unwrap();
        assert_eq!(encoded, format!("Note\n\n\n{SIG}\n"));
        assert_eq!(Note::parse(encoded.as_bytes()).unwrap(), note);
    }

    #[test]
    fn the_last_blank_line_separates_text_from_signatures() {
        let message = format!("a\n\n{SIG}\n\n{SIG}\n");
        let note = Note::parse(message.as_bytes()).unwrap();
        assert_eq!(note.text(), format!("a\n\n{SIG}\n"));
        assert_eq!(note.signatures().len(), 1);
    }

    #[test]
    fn add_signature_replaces_the_same_key() {
        let first = NoteSignature::parse_line(SIG).unwrap();
        let second = NoteSignature::new("PeterNeumann", first.key_id(), vec![1, 2, 3]).unwrap();
        let other = NoteSignature::new("PeterNeumann", first.key_id() ^ 1, vec![4]).unwrap();
        let mut note = Note::new("t\n").unwrap();
        note.add_signature(first);
        note.add_signature(other.clone());
        note.add_signature(second.clone());
        assert_eq!(note.signatures(), [other, second]);
    }

    #[test]
    fn encode_refuses_what_parse_would_refuse() {
        let note = Note::new("t\n").unwrap();
        assert_eq!(note.encode(), Err(NoteError::NoSignatures));
        let mut big = Note::new("t\n").unwrap();
        big.add_signature(NoteSignature::new("n", 1, vec![0; 8 * 1024 + 1]).unwrap());
        assert!(matches!(
            big.encode(),
            Err(NoteError::SignatureTooLong { .. })
        ));
    }

    #[test]
    fn signature_lines_need_a_key_id_and_at_least_one_byte() {
        assert_eq!(
            NoteSignature::parse_line("— a AAAAAA=="),
            Err(NoteError::SignatureTooShort)
        );
        assert!(NoteSignature::parse_line("— a AAAAAAA=").is_ok());
        assert_eq!(
            NoteSignature::parse_line("— a "),
            Err(NoteError::MissingSignature)
        );
        assert_eq!(
            NoteSignature::parse_line("— a"),
            Err(NoteError::MissingSignature)
        );
        assert_eq!(
            NoteSignature::parse_line("- a AAAAAAA="),
            Err(NoteError::MissingEmDash)
        );
        assert_eq!(
            NoteSignature::parse_line("—a AAAAAAA="),
            Err(NoteError::MissingEmDash)
        );
        assert_eq!(
            NoteSignature::parse_line("— a  AAAAAAA="),
            Err(NoteError::SignatureBase64)
        );
    }
}
