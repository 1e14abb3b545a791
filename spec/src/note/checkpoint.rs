//! Checkpoints (c2sp.org/tlog-checkpoint): the note text a log signs for each
//! tree head — origin, tree size, root hash, then optional extension lines —
//! and the log's signature on it.
//!
//! The root hash is carried, never computed: Merkle hashing belongs to the
//! Merkle module. Parsing is canonical, so `to_text(parse(t)) == t` and a
//! signature over the re-rendered text is a signature over the received one.

use super::error::NoteError;
use super::key::{KeyType, SignerKey, VerifierKey};
use super::lines::{control_character_offset, encode_base64, parse_decimal, parse_hash};
use super::signed::Note;
use super::verify::{VerifiedNote, Verifiers};

/// A checkpoint that was refused, or a signed one that did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint contains an ASCII control character other than newline")]
    ControlCharacter,
    #[error("checkpoint does not end with a newline")]
    MissingFinalNewline,
    #[error("checkpoint origin line is empty")]
    EmptyOrigin,
    #[error("checkpoint has fewer than three lines (origin, size, root hash)")]
    TooFewLines,
    #[error("checkpoint tree size is not a decimal without leading zeroes that fits 64 bits")]
    BadSize,
    #[error("checkpoint root hash is not the canonical base64 of 32 bytes")]
    BadRoot,
    #[error("checkpoint extension line {0} is empty")]
    EmptyExtension(usize),
    #[error("checkpoint {0} contains a line break")]
    LineBreak(&'static str),
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("no configured log key is named for the checkpoint origin {0:?}")]
    UnknownOrigin(String),
    #[error("a log signs checkpoints with an Ed25519 (0x01) key, not {0}")]
    NotALogKey(KeyType),
    #[error("signing key name {key:?} is not the checkpoint origin {origin:?}")]
    KeyNameNotOrigin { key: String, origin: String },
    #[error("checkpoint has cosignatures but no valid signature from its log")]
    NoLogSignature,
}

/// A log's tree head as its checkpoint text states it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The log's identity, also its key name.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The RFC 6962 root hash at `size`.
    pub root: [u8; 32],
    /// Opaque, non-empty extra lines (the spec discourages them).
    pub extensions: Vec<String>,
}

fn check_line(value: &str, what: &'static str) -> Result<(), CheckpointError> {
    if value.contains('\n') {
        return Err(CheckpointError::LineBreak(what));
    }
    if control_character_offset(value).is_some() {
        return Err(CheckpointError::ControlCharacter);
    }
    Ok(())
}

impl Checkpoint {
    /// Parses a checkpoint text (a note's text, final newline included).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        if control_character_offset(text).is_some() {
            return Err(CheckpointError::ControlCharacter);
        }
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_decimal(lines.next().ok_or(CheckpointError::TooFewLines)?)
            .ok_or(CheckpointError::BadSize)?;
        let root = parse_hash(lines.next().ok_or(CheckpointError::TooFewLines)?)
            .ok_or(CheckpointError::BadRoot)?;
        let mut extensions = Vec::new();
        for (index, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension(index + 1));
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Checks that the fields can be rendered as a checkpoint text.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        if self.origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        check_line(&self.origin, "origin")?;
        for (index, extension) in self.extensions.iter().enumerate() {
            if extension.is_empty() {
                return Err(CheckpointError::EmptyExtension(index + 1));
            }
            check_line(extension, "extension line")?;
        }
        Ok(())
    }

    /// The checkpoint text, final newline included.
    pub fn to_text(&self) -> Result<String, CheckpointError> {
        self.validate()?;
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            encode_base64(&self.root)
        );
        for extension in &self.extensions {
            text.push_str(extension);
            text.push('\n');
        }
        Ok(text)
    }

    /// Signs as the log: an Ed25519 key whose name is the origin.
    pub fn sign(&self, log_key: &SignerKey) -> Result<Note, CheckpointError> {
        if log_key.key_type() != KeyType::Ed25519 {
            return Err(CheckpointError::NotALogKey(log_key.key_type()));
        }
        if log_key.name() != self.origin {
            return Err(CheckpointError::KeyNameNotOrigin {
                key: log_key.name().to_owned(),
                origin: self.origin.clone(),
            });
        }
        let mut note = Note::new(self.to_text()?)?;
        note.sign(log_key)?;
        Ok(note)
    }
}

/// A checkpoint whose log signature verified. Other lines (cosignatures,
/// signatures by keys not given) are in `note.unverified`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: VerifiedNote,
}

/// Parses a signed checkpoint and verifies it with the log keys named for its
/// origin (several allow key rotation).
pub fn open_checkpoint(
    message: &[u8],
    log_keys: &[VerifierKey],
) -> Result<OpenedCheckpoint, CheckpointError> {
    open_checkpoint_note(&Note::parse(message)?, log_keys)
}

/// [`open_checkpoint`] for an already parsed note.
pub fn open_checkpoint_note(
    note: &Note,
    log_keys: &[VerifierKey],
) -> Result<OpenedCheckpoint, CheckpointError> {
    let checkpoint = Checkpoint::parse(note.text())?;
    let keys: Vec<VerifierKey> = log_keys
        .iter()
        .filter(|key| key.name() == checkpoint.origin)
        .cloned()
        .collect();
    if keys.is_empty() {
        return Err(CheckpointError::UnknownOrigin(checkpoint.origin));
    }
    if let Some(key) = keys.iter().find(|k| k.key_type() != KeyType::Ed25519) {
        return Err(CheckpointError::NotALogKey(key.key_type()));
    }
    let verified = note.verify(&Verifiers::new(keys)?)?;
    Ok(OpenedCheckpoint {
        checkpoint,
        note: verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

    #[test]
    fn parses_and_renders_extensions() {
        let text = format!("o\n0\n{ROOT}\nx y\n+z\n");
        let checkpoint = Checkpoint::parse(&text).unwrap();
        assert_eq!(checkpoint.size, 0);
        assert_eq!(checkpoint.extensions, ["x y", "+z"]);
        assert_eq!(checkpoint.to_text().unwrap(), text);
    }

    #[test]
    fn strictness() {
        let cases = [
            (
                format!("o\n1\n{ROOT}"),
                CheckpointError::MissingFinalNewline,
            ),
            (format!("\n1\n{ROOT}\n"), CheckpointError::EmptyOrigin),
            ("o\n1\n".to_owned(), CheckpointError::TooFewLines),
            ("o\n".to_owned(), CheckpointError::TooFewLines),
            (format!("o\n01\n{ROOT}\n"), CheckpointError::BadSize),
            (format!("o\n-1\n{ROOT}\n"), CheckpointError::BadSize),
            (format!("o\n\n{ROOT}\n"), CheckpointError::BadSize),
            (
                format!("o\n18446744073709551616\n{ROOT}\n"),
                CheckpointError::BadSize,
            ),
            ("o\n1\nAAAA\n".to_owned(), CheckpointError::BadRoot),
            (
                format!("o\n1\n{ROOT}\n\n"),
                CheckpointError::EmptyExtension(1),
            ),
            (
                format!("o\n1\n{ROOT}\ne\n\nf\n"),
                CheckpointError::EmptyExtension(2),
            ),
            (
                format!("o\r\n1\n{ROOT}\n"),
                CheckpointError::ControlCharacter,
            ),
        ];
        for (text, error) in cases {
            assert_eq!(Checkpoint::parse(&text), Err(error), "{text:?}");
        }
    }

    #[test]
    fn validate_refuses_unrenderable_fields() {
        let mut checkpoint = Checkpoint {
            origin: "o".into(),
            size: 1,
            root: [0; 32],
            extensions: vec![],
        };
        checkpoint.origin = "o\n2".into();
        assert_eq!(
            checkpoint.to_text(),
            Err(CheckpointError::LineBreak("origin"))
        );
        checkpoint.origin = "o".into();
        checkpoint.extensions = vec!["".into()];
        assert_eq!(
            checkpoint.to_text(),
            Err(CheckpointError::EmptyExtension(1))
        );
        checkpoint.extensions = vec!["a\tb".into()];
        assert_eq!(checkpoint.to_text(), Err(CheckpointError::ControlCharacter));
    }
}
