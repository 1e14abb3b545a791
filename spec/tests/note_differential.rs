//! Differential tests against independent Rust implementations of the same
//! C2SP specifications, Cloudflare's `signed_note` and `tlog_tiles` (azul):
//! identical key strings and signed notes byte for byte, each side verifying
//! the other's output, the same verdict on near-miss notes, and agreement on
//! checkpoint texts. Neither crate implements cosignatures; those are
//! checked against a real witness's output in `note_vectors.rs`.

use delego_spec::note::{
    Checkpoint, KeyType, Note, NoteError, NoteSignature, SignerKey, VerifierKey, Verifiers,
};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use signed_note::{Signer as _, Verifier as _};

fn key_name() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![prop::char::range('!', '~'), any::<char>(), Just('é')]
            .prop_filter("name character", |c| {
                !c.is_whitespace() && *c != '+' && *c >= ' '
            }),
        1..20,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn note_text() -> impl Strategy<Value = String> {
    prop::collection::vec("[ -~é—]{0,30}", 1..6).prop_map(|lines| {
        lines.into_iter().fold(String::new(), |mut text, line| {
            text.push_str(&line);
            text.push('\n');
            text
        })
    })
}

fn theirs_verifier(vkey: &str) -> signed_note::VerifierList {
    let verifier = signed_note::StandardVerifier::new(vkey).unwrap();
    signed_note::VerifierList::new(vec![Box::new(verifier)])
}

/// Small single-character edits, as in the property tests.
fn mutate(text: &str, edits: &[(prop::sample::Index, u8, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (at, op, c) in edits {
        match op {
            0 => chars.insert(at.index(chars.len() + 1), *c),
            _ if chars.is_empty() => {}
            1 => {
                chars.remove(at.index(chars.len()));
            }
            _ => {
                let i = at.index(chars.len());
                chars[i] = *c;
            }
        }
    }
    chars.into_iter().collect()
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, char)>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            0u8..3,
            prop::sample::select(vec!['0', 'A', 'a', '=', '+', '/', ' ', '\n', '—', '\t']),
        ),
        1..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Key strings are identical, and each side parses the other's.
    #[test]
    fn key_strings_agree(name in key_name(), seed in any::<[u8; 32]>()) {
        let ours = SignerKey::new(&name, KeyType::Ed25519, SigningKey::from_bytes(&seed)).unwrap();
        let vkey = ours.verifier_key().to_string();
        let their_vkey = signed_note::new_ed25519_verifier_key(&name, &SigningKey::from_bytes(&seed).verifying_key());
        prop_assert_eq!(&vkey, &their_vkey);
        let their_verifier = signed_note::StandardVerifier::new(&vkey).unwrap();
        prop_assert_eq!(their_verifier.key_id(), ours.key_id());
        let their_signer = signed_note::StandardSigner::new(&ours.to_skey_string()).unwrap();
        prop_assert_eq!(their_signer.key_id(), ours.key_id());
        prop_assert_eq!(VerifierKey::parse(&their_vkey).unwrap(), ours.verifier_key());
    }

    /// Both sides sign identically and verify each other's notes.
    #[test]
    fn signed_notes_agree(name in key_name(), seed in any::<[u8; 32]>(), text in note_text()) {
        let ours = SignerKey::new(&name, KeyType::Ed25519, SigningKey::from_bytes(&seed)).unwrap();
        let mut note = Note::new(text.clone()).unwrap();
        note.sign(&ours).unwrap();
        let our_bytes = note.encode().unwrap();

        let their_signer = signed_note::StandardSigner::new(&ours.to_skey_string()).unwrap();
        let mut theirs = signed_note::Note::new(text.as_bytes(), &[]).unwrap();
        theirs.add_sigs(&[&their_signer]).unwrap();
        prop_assert_eq!(our_bytes.as_bytes().to_vec(), theirs.to_bytes());

        let vkey = ours.verifier_key().to_string();
        let parsed = signed_note::Note::from_bytes(our_bytes.as_bytes()).unwrap();
        let (verified, unverified) = parsed.verify(&theirs_verifier(&vkey)).unwrap();
        prop_assert_eq!(verified.len(), 1);
        prop_assert!(unverified.is_empty());
        prop_assert_eq!(parsed.text(), text.as_bytes());

        let known = Verifiers::new([VerifierKey::parse(&vkey).unwrap()]).unwrap();
        let opened = Note::open(&theirs.to_bytes(), &known).unwrap();
        prop_assert_eq!(opened.text(), text.as_str());
    }

    /// On near-misses of a valid note both sides accept and refuse the same
    /// messages, and verify the same ones. (The inputs hold no duplicate
    /// lines from the known key, where this crate is deliberately stricter.)
    #[test]
    fn near_miss_notes_get_the_same_verdict(
        seed in any::<[u8; 32]>(),
        text in note_text(),
        edits in edits(),
    ) {
        let ours = SignerKey::new("example.com/log", KeyType::Ed25519, SigningKey::from_bytes(&seed)).unwrap();
        let mut note = Note::new(text).unwrap();
        note.add_signature(NoteSignature::new("example.com/other", 7, vec![1, 2, 3]).unwrap());
        note.sign(&ours).unwrap();
        let message = mutate(&note.encode().unwrap(), &edits);

        let our_parse = Note::parse(message.as_bytes());
        let their_parse = signed_note::Note::from_bytes(message.as_bytes());
        prop_assert_eq!(our_parse.is_ok(), their_parse.is_ok(), "{:?}: {:?}", message, our_parse);
        if let (Ok(our_note), Ok(their_note)) = (our_parse, their_parse) {
            prop_assert_eq!(our_note.text().as_bytes(), their_note.text());
            let vkey = ours.verifier_key().to_string();
            let our_verdict = our_note.verify(&Verifiers::new([ours.verifier_key()]).unwrap());
            let their_verdict = their_note.verify(&theirs_verifier(&vkey));
            prop_assert_eq!(our_verdict.is_ok(), their_verdict.is_ok(), "{:?}", message);
            if let (Ok(ours), Ok((verified, unverified))) = (our_verdict, their_verdict) {
                prop_assert_eq!(ours.verified.len(), verified.len());
                prop_assert_eq!(ours.unverified.len(), unverified.len());
            }
        }
    }

    /// Checkpoint texts agree: each side parses the other's rendering to the
    /// same values, byte for byte.
    #[test]
    fn checkpoints_agree_with_tlog_tiles(
        origin in "[ -~é]{1,30}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[ -~]{1,20}", 0..3),
    ) {
        let ours = Checkpoint { origin: origin.clone(), size, root, extensions: extensions.clone() };
        let text = ours.to_text().unwrap();
        let extension: String = extensions.iter().map(|e| format!("{e}\n")).collect();
        let theirs = tlog_tiles::Checkpoint::new(&origin, size, tlog_tiles::Hash(root), &extension).unwrap();
        prop_assert_eq!(text.as_bytes().to_vec(), theirs.to_bytes());
        let parsed = tlog_tiles::Checkpoint::from_bytes(text.as_bytes()).unwrap();
        prop_assert_eq!(parsed.origin(), origin.as_str());
        prop_assert_eq!(parsed.size(), size);
        prop_assert_eq!(parsed.hash().0, root);
        prop_assert_eq!(parsed.extension(), extension.as_str());
        prop_assert_eq!(Checkpoint::parse(std::str::from_utf8(&theirs.to_bytes()).unwrap()).unwrap(), ours);
    }

    /// What this crate accepts as a checkpoint, tlog_tiles accepts with the
    /// same values.
    #[test]
    fn near_miss_checkpoints_we_accept_tlog_tiles_accepts(
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        edits in edits(),
    ) {
        let valid = Checkpoint { origin: "example.com/log".into(), size, root, extensions: vec!["ext".into()] };
        let text = mutate(&valid.to_text().unwrap(), &edits);
        if let Ok(ours) = Checkpoint::parse(&text) {
            let theirs = tlog_tiles::Checkpoint::from_bytes(text.as_bytes());
            prop_assert!(theirs.is_ok(), "{:?}", text);
            let theirs = theirs.unwrap();
            prop_assert_eq!(theirs.size(), ours.size);
            prop_assert_eq!(theirs.hash().0, ours.root);
        }
    }
}

/// The Go test vector note, opened by both implementations.
#[test]
fn go_vector_opens_in_both() {
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let message = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    let theirs = signed_note::Note::from_bytes(message.as_bytes()).unwrap();
    assert!(theirs.verify(&theirs_verifier(vkey)).is_ok());
    let ours = Note::open(
        message.as_bytes(),
        &Verifiers::new([VerifierKey::parse(vkey).unwrap()]).unwrap(),
    )
    .unwrap();
    assert_eq!(ours.text().as_bytes(), theirs.text());
}

/// Where the two differ on purpose: a second, invalid line from a known key
/// is skipped by signed_note (as by Go's sumdb/note) but verified, and so
/// refused, here, because the spec says a matching signature MUST be
/// verified.
#[test]
fn duplicate_invalid_line_from_a_known_key_is_refused_only_here() {
    let key = SignerKey::new("n", KeyType::Ed25519, SigningKey::from_bytes(&[4; 32])).unwrap();
    let mut note = Note::new("text\n").unwrap();
    note.sign(&key).unwrap();
    let good = note.encode().unwrap();
    let bad_line = NoteSignature::new("n", key.key_id(), vec![0; 64])
        .unwrap()
        .to_line();
    let message = format!("{good}{bad_line}");
    let vkey = key.verifier_key().to_string();
    let theirs = signed_note::Note::from_bytes(message.as_bytes()).unwrap();
    assert!(theirs.verify(&theirs_verifier(&vkey)).is_ok());
    assert!(matches!(
        Note::open(
            message.as_bytes(),
            &Verifiers::new([key.verifier_key()]).unwrap()
        ),
        Err(NoteError::InvalidSignature { .. })
    ));
}
