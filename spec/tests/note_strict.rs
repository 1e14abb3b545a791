//! Must-fail cases: every strictness rule of the C2SP formats, each refused
//! with its own error, plus the witness status mapping and quorum edge cases.

use std::collections::BTreeSet;

use delego_spec::note::{
    cosign, cosignature_message, key_id, open_checkpoint, verify_cosignature, AddCheckpointError,
    AddCheckpointRequest, Checkpoint, CheckpointError, CosignatureError, KeyType, Note, NoteError,
    NoteLimits, NoteSignature, PolicyError, PolicyLineError, PolicyName, ProofError, Quorum,
    ResponseError, SignerKey, Threshold, TlogProof, TrustPolicy, VerifierKey, Verifiers,
    WitnessStatus, EMPTY_TREE_ROOT, MAX_TIMESTAMP,
};
use ed25519_dalek::{Signer as _, SigningKey};

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn log_key(origin: &str) -> SignerKey {
    SignerKey::new(origin, KeyType::Ed25519, SigningKey::from_bytes(&[11; 32])).unwrap()
}

fn witness_key(name: &str, seed: u8) -> SignerKey {
    SignerKey::new(
        name,
        KeyType::CosignatureV1,
        SigningKey::from_bytes(&[seed; 32]),
    )
    .unwrap()
}

fn checkpoint(size: u64) -> Checkpoint {
    Checkpoint {
        origin: "example.com/log".into(),
        size,
        root: if size == 0 { EMPTY_TREE_ROOT } else { [5; 32] },
        extensions: vec![],
    }
}

fn signed(size: u64) -> Note {
    checkpoint(size).sign(&log_key("example.com/log")).unwrap()
}

/// `name+id+base64(type‖key)` with a correct ID for arbitrary material.
fn raw_vkey(name: &str, material: &[u8]) -> String {
    format!(
        "{name}+{:08x}+{}",
        key_id(name, material[0], &material[1..]),
        b64(material)
    )
}

// ---- keys ----

#[test]
fn vkeys_with_wrong_type_length_or_id_are_refused() {
    let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
    let mut material = vec![0x01];
    material.extend_from_slice(key.as_bytes());
    assert!(VerifierKey::parse(&raw_vkey("n", &material)).is_ok());

    for type_byte in [0x00, 0x02, 0x03, 0x05, 0x06, 0xff] {
        material[0] = type_byte;
        assert_eq!(
            VerifierKey::parse(&raw_vkey("n", &material)),
            Err(NoteError::UnsupportedKeyType(type_byte))
        );
    }
    material[0] = 0x01;
    material.push(0);
    assert_eq!(
        VerifierKey::parse(&raw_vkey("n", &material)),
        Err(NoteError::KeyLength { found: 33 })
    );
    assert_eq!(
        VerifierKey::parse(&raw_vkey("n", &[0x01])),
        Err(NoteError::KeyLength { found: 0 })
    );
    assert_eq!(VerifierKey::parse("n+00000000+"), Err(NoteError::EmptyKey));

    // The same key under type 0x04 has another ID: an 0x01 ID does not fit.
    let ed = VerifierKey::new("n", KeyType::Ed25519, key)
        .unwrap()
        .to_string();
    let mut cosigner_material = vec![0x04];
    cosigner_material.extend_from_slice(key.as_bytes());
    let with_ed_id = format!(
        "n+{:08x}+{}",
        key_id("n", 0x01, key.as_bytes()),
        b64(&cosigner_material)
    );
    assert_eq!(
        VerifierKey::parse(&with_ed_id),
        Err(NoteError::KeyIdMismatch {
            stated: key_id("n", 0x01, key.as_bytes()),
            computed: key_id("n", 0x04, key.as_bytes()),
        })
    );
    assert_eq!(
        VerifierKey::parse(&ed.to_uppercase()),
        Err(NoteError::KeyIdHex)
    );
}

#[test]
fn vkeys_with_bad_points_or_names_are_refused() {
    // The identity point has small order: every signature "verifies".
    let mut identity = vec![0x01, 1];
    identity.extend_from_slice(&[0; 31]);
    assert_eq!(
        VerifierKey::parse(&raw_vkey("n", &identity)),
        Err(NoteError::WeakPublicKey)
    );
    // Some y has no point on the curve.
    let not_a_point = (2u8..=255)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .unwrap();
    let mut material = vec![0x01];
    material.extend_from_slice(&not_a_point);
    assert_eq!(
        VerifierKey::parse(&raw_vkey("n", &material)),
        Err(NoteError::BadPublicKey)
    );

    let good = VerifierKey::new(
        "n",
        KeyType::Ed25519,
        SigningKey::from_bytes(&[1; 32]).verifying_key(),
    )
    .unwrap()
    .to_string();
    let body = good.strip_prefix("n").unwrap();
    for name in ["", "a b", "a\u{2003}b"] {
        assert!(
            VerifierKey::parse(&format!("{name}{body}")).is_err(),
            "{name:?}"
        );
    }
    assert_eq!(
        VerifierKey::new(
            "a+b",
            KeyType::Ed25519,
            SigningKey::from_bytes(&[1; 32]).verifying_key()
        ),
        Err(NoteError::BadKeyName("contains '+'"))
    );
}

#[test]
fn signer_keys_need_the_prefix_and_a_matching_id() {
    let key = log_key("example.com/log");
    let skey = key.to_skey_string();
    assert_eq!(
        SignerKey::parse(skey.strip_prefix("PRIVATE+KEY+").unwrap()).map(|k| k.key_id()),
        Err(NoteError::SignerKeyFormat)
    );
    assert_eq!(
        SignerKey::parse(&skey.replacen("PRIVATE", "private", 1)).map(|k| k.key_id()),
        Err(NoteError::SignerKeyFormat)
    );
    let material = skey.splitn(5, '+').last().unwrap();
    let wrong_id = format!("PRIVATE+KEY+example.com/log+00000000+{material}");
    assert_eq!(
        SignerKey::parse(&wrong_id).map(|k| k.key_id()),
        Err(NoteError::KeyIdMismatch {
            stated: 0,
            computed: key.key_id()
        })
    );
}

// ---- notes ----

fn text_and_line() -> (String, String) {
    let note = signed(3);
    (note.text().to_owned(), note.signatures()[0].to_line())
}

#[test]
fn note_shape_rules() {
    let (text, line) = text_and_line();
    let cases: Vec<(String, NoteError)> = vec![
        (format!("{text}{line}"), NoteError::NoSignatureBlock),
        (format!("{text}\n"), NoteError::NoSignatures),
        (
            format!("{text}\n{}", line.trim_end()),
            NoteError::SignatureMissingFinalNewline,
        ),
        (
            format!("{text}\n{}", line.replacen('—', "-", 1)),
            NoteError::MissingEmDash,
        ),
        (
            format!("{text}\n{}", line.replacen('—', "–", 1)),
            NoteError::MissingEmDash,
        ),
        (
            format!("{text}\n{}", line.replacen("— ", "—", 1)),
            NoteError::MissingEmDash,
        ),
        (
            format!(
                "{text}\n{}",
                line.replacen("example.com/log", "example.com/log+x", 1)
            ),
            NoteError::BadKeyName("contains '+'"),
        ),
        (
            format!("{text}\n{}", line.replacen('=', "", 1)),
            NoteError::SignatureBase64,
        ),
        (format!("{text}\n{line}\n"), NoteError::NoSignatures),
        (
            format!("{}\r\n\n{line}", text.trim_end()),
            NoteError::ControlCharacter {
                offset: text.len() - 1,
            },
        ),
        (
            format!("{text}\n{}", line.replacen(' ', "\t", 1)),
            NoteError::ControlCharacter {
                offset: text.len() + 4,
            },
        ),
    ];
    for (message, error) in cases {
        assert_eq!(Note::parse(message.as_bytes()), Err(error), "{message:?}");
    }
    // A trailing blank line is moved into the text by the "last blank
    // line" rule, and then the signature block is empty.
    assert_eq!(
        Note::parse(format!("{text}\n{line}\n").as_bytes()),
        Err(NoteError::NoSignatures)
    );
}

#[test]
fn note_limits() {
    let (text, line) = text_and_line();
    let limits = NoteLimits {
        max_note_bytes: 4000,
        max_text_bytes: text.len(),
        max_signatures: 2,
        max_signature_bytes: 64,
    };
    let ok = format!("{text}\n{line}{line}");
    assert!(Note::parse_within(ok.as_bytes(), &limits).is_ok());
    assert_eq!(
        Note::parse_within(format!("{text}\n{line}{line}{line}").as_bytes(), &limits),
        Err(NoteError::TooManySignatures { max: 2 })
    );
    assert_eq!(
        Note::parse_within(format!("x{text}\n{line}").as_bytes(), &limits),
        Err(NoteError::TextTooLarge { max: text.len() })
    );
    assert_eq!(
        Note::parse_within(
            format!("{text}\n{line}").as_bytes(),
            &NoteLimits {
                max_note_bytes: 10,
                ..limits
            }
        ),
        Err(NoteError::TooLarge { max: 10 })
    );
    let long = NoteSignature::new("example.com/log", 1, vec![0; 65]).unwrap();
    assert_eq!(
        Note::parse_within(format!("{text}\n{}", long.to_line()).as_bytes(), &limits),
        Err(NoteError::SignatureTooLong { max: 64 })
    );
    // The default limits accept the spec's minimum of 16 signatures easily.
    let many = format!("{text}\n{}", line.repeat(16));
    assert_eq!(Note::parse(many.as_bytes()).unwrap().signatures().len(), 16);
    let huge = "a".repeat(NoteLimits::DEFAULT.max_text_bytes) + "\n";
    assert_eq!(
        Note::new(huge),
        Err(NoteError::TextTooLarge {
            max: NoteLimits::DEFAULT.max_text_bytes
        })
    );
}

#[test]
fn wrong_key_types_cannot_sign_the_wrong_thing() {
    let mut note = Note::new("t\n").unwrap();
    assert_eq!(
        note.sign(&witness_key("w", 1)),
        Err(NoteError::WrongKeyType {
            expected: KeyType::Ed25519,
            found: KeyType::CosignatureV1
        })
    );
    assert_eq!(
        cosign(&checkpoint(1), &log_key("w"), 1),
        Err(CosignatureError::NotACosignatureKey(KeyType::Ed25519))
    );
    assert_eq!(
        open_checkpoint(
            signed(1).encode().unwrap().as_bytes(),
            &[witness_key("example.com/log", 1).verifier_key()]
        ),
        Err(CheckpointError::NotALogKey(KeyType::CosignatureV1))
    );
    assert_eq!(
        open_checkpoint(
            signed(1).encode().unwrap().as_bytes(),
            &[log_key("example.com/other").verifier_key()]
        ),
        Err(CheckpointError::UnknownOrigin("example.com/log".into()))
    );
}

// ---- cosignatures ----

#[test]
fn cosignatures_bind_timestamp_checkpoint_and_key() {
    let witness = witness_key("witness.example/w1", 7);
    let key = witness.verifier_key();
    let line = cosign(&checkpoint(9), &witness, 1_700_000_000).unwrap();
    assert_eq!(line.signature().len(), 72);
    assert_eq!(
        verify_cosignature(&checkpoint(9), &line, &key),
        Ok(1_700_000_000)
    );
    // Other checkpoint, other timestamp, another key of the same name.
    assert!(verify_cosignature(&checkpoint(10), &line, &key).is_err());
    let mut bytes = line.signature().to_vec();
    bytes[7] ^= 1;
    let retimed = NoteSignature::new(line.name(), line.key_id(), bytes).unwrap();
    assert!(verify_cosignature(&checkpoint(9), &retimed, &key).is_err());
    let impostor = witness_key("witness.example/w1", 8).verifier_key();
    assert!(matches!(
        verify_cosignature(&checkpoint(9), &line, &impostor),
        Err(CosignatureError::KeyMismatch { .. })
    ));
    // The Ed25519 note signature of the same key is not a cosignature.
    let plain = SignerKey::new(
        "witness.example/w1",
        KeyType::Ed25519,
        witness.signing_key().clone(),
    )
    .unwrap();
    let mut note = Note::new(checkpoint(9).to_text().unwrap()).unwrap();
    note.sign(&plain).unwrap();
    let plain_line = NoteSignature::new(
        "witness.example/w1",
        key.key_id(),
        note.signatures()[0].signature().to_vec(),
    )
    .unwrap();
    assert!(matches!(
        verify_cosignature(&checkpoint(9), &plain_line, &key),
        Err(CosignatureError::Note(NoteError::InvalidSignature { .. }))
    ));
}

#[test]
fn cosignature_timestamps_stop_at_2_63_minus_1() {
    let witness = witness_key("w", 7);
    assert!(cosign(&checkpoint(1), &witness, MAX_TIMESTAMP).is_ok());
    assert_eq!(
        cosign(&checkpoint(1), &witness, MAX_TIMESTAMP + 1),
        Err(CosignatureError::TimestampTooLarge(MAX_TIMESTAMP + 1))
    );
    // A correctly signed line with a too-large timestamp is still refused.
    let ts = MAX_TIMESTAMP + 1;
    let message = cosignature_message(&checkpoint(1).to_text().unwrap(), ts);
    let mut bytes = ts.to_be_bytes().to_vec();
    bytes.extend_from_slice(&witness.signing_key().sign(&message).to_bytes());
    let line = NoteSignature::new("w", witness.key_id(), bytes).unwrap();
    assert_eq!(
        verify_cosignature(&checkpoint(1), &line, &witness.verifier_key()),
        Err(CosignatureError::Note(NoteError::InvalidSignature {
            name: "w".into(),
            key_id: witness.key_id(),
            reason: "timestamp exceeds 2^63 - 1"
        }))
    );
}

// ---- witness protocol ----

fn request_body(old: &str, proof: &[String], note: &Note) -> String {
    let mut body = format!("{old}\n");
    for line in proof {
        body.push_str(line);
        body.push('\n');
    }
    body.push('\n');
    body + &note.encode().unwrap()
}

#[test]
fn add_checkpoint_request_strictness() {
    let note = signed(100);
    let hash = b64(&[1; 32]);
    let parse = |body: String| AddCheckpointRequest::parse(body.as_bytes());
    assert!(parse(request_body("old 99", std::slice::from_ref(&hash), &note)).is_ok());
    let cases = [
        (
            request_body("old 101", &[], &note),
            AddCheckpointError::OldSizeBeyondCheckpoint {
                old: 101,
                size: 100,
            },
        ),
        (
            request_body("old 01", &[], &note),
            AddCheckpointError::BadOldSize,
        ),
        (
            request_body("old  1", &[], &note),
            AddCheckpointError::BadOldSize,
        ),
        (
            request_body("Old 1", &[], &note),
            AddCheckpointError::BadOldSize,
        ),
        (
            request_body("old", &[], &note),
            AddCheckpointError::BadOldSize,
        ),
        (
            request_body("old 1", &[hash[..43].to_owned()], &note),
            AddCheckpointError::BadProofHash(1),
        ),
        (
            request_body("old 1", &[b64(&[1; 31])], &note),
            AddCheckpointError::BadProofHash(1),
        ),
        (
            request_body("old 1", &vec![hash.clone(); 64], &note),
            AddCheckpointError::TooManyProofLines,
        ),
        ("old 1".to_owned(), AddCheckpointError::MissingOldSize),
        (
            format!("old 1\n{hash}\n"),
            AddCheckpointError::MissingBlankLine,
        ),
        (
            request_body(
                "old 1",
                &[],
                &Note::new("not\na checkpoint\n")
                    .map(|mut n| {
                        n.add_signature(note.signatures()[0].clone());
                        n
                    })
                    .unwrap(),
            ),
            AddCheckpointError::Checkpoint(CheckpointError::BadSize),
        ),
        (
            request_body("old 1", &[], &note).replace('—', "-"),
            AddCheckpointError::Note(NoteError::MissingEmDash),
        ),
    ];
    for (body, error) in cases {
        assert_eq!(error.status(), WitnessStatus::BadRequest);
        assert_eq!(parse(body.clone()), Err(error), "{body:?}");
    }
    assert!(parse(request_body("old 1", &vec![hash; 63], &note)).is_ok());
}

#[test]
fn add_checkpoint_stateless_consistency_is_422() {
    let empty = AddCheckpointRequest::new(0, vec![], signed(0)).unwrap();
    assert_eq!(empty.check_stateless_consistency(), Ok(()));

    let mut bad_root = checkpoint(0);
    bad_root.root = [1; 32];
    let note = bad_root.sign(&log_key("example.com/log")).unwrap();
    let error = AddCheckpointRequest::new(0, vec![], note)
        .unwrap()
        .check_stateless_consistency()
        .unwrap_err();
    assert_eq!(error, AddCheckpointError::EmptyTreeRoot);
    assert_eq!(error.status(), WitnessStatus::InconsistentProof);

    let error = AddCheckpointRequest::new(0, vec![[1; 32]], signed(5))
        .unwrap()
        .check_stateless_consistency()
        .unwrap_err();
    assert_eq!(error, AddCheckpointError::ProofFromZero);
    assert_eq!(error.status().code(), 422);
}

#[test]
fn opening_errors_map_to_403_and_404() {
    let log = log_key("example.com/log").verifier_key();
    let good = signed(4).encode().unwrap();
    assert!(open_checkpoint(good.as_bytes(), std::slice::from_ref(&log)).is_ok());

    let unknown = open_checkpoint(good.as_bytes(), &[]).unwrap_err();
    assert_eq!(WitnessStatus::for_checkpoint_error(&unknown).code(), 404);

    let tampered = good.replacen("\n4\n", "\n5\n", 1);
    let forged = open_checkpoint(tampered.as_bytes(), std::slice::from_ref(&log)).unwrap_err();
    assert_eq!(WitnessStatus::for_checkpoint_error(&forged).code(), 403);

    let other = SignerKey::new(
        "example.com/log",
        KeyType::Ed25519,
        SigningKey::from_bytes(&[12; 32]),
    )
    .unwrap();
    let unsigned = checkpoint(4).sign(&other).unwrap().encode().unwrap();
    let missing = open_checkpoint(unsigned.as_bytes(), &[log]).unwrap_err();
    assert_eq!(
        missing,
        CheckpointError::Note(NoteError::NoVerifiedSignature)
    );
    assert_eq!(
        WitnessStatus::for_checkpoint_error(&missing),
        WitnessStatus::Forbidden
    );

    let malformed = CheckpointError::BadRoot;
    assert_eq!(WitnessStatus::for_checkpoint_error(&malformed).code(), 400);
}

#[test]
fn cosignature_response_strictness() {
    let line = cosign(&checkpoint(3), &witness_key("w", 3), 5)
        .unwrap()
        .to_line();
    let parse = |body: &str| delego_spec::note::parse_cosignature_lines(body.as_bytes());
    assert_eq!(parse(&line).unwrap().len(), 1);
    assert_eq!(parse(""), Err(ResponseError::Empty));
    assert_eq!(
        parse(line.trim_end()),
        Err(ResponseError::MissingFinalNewline)
    );
    assert_eq!(
        parse(&format!("{line}\n")),
        Err(ResponseError::Signature(NoteError::MissingEmDash))
    );
    assert_eq!(
        parse(&format!("{}\r\n", line.trim_end())),
        Err(ResponseError::ControlCharacter)
    );
    assert_eq!(
        parse(&line.repeat(101)),
        Err(ResponseError::TooManySignatures { max: 100 })
    );
    assert_eq!(
        delego_spec::note::format_cosignature_lines(&[]),
        Err(ResponseError::Empty)
    );
}

#[test]
fn a_client_merges_a_witness_response_into_its_checkpoint() {
    let witness = witness_key("witness.example/w1", 21);
    let note = signed(8);
    let response =
        delego_spec::note::format_cosignature_lines(&[
            cosign(&checkpoint(8), &witness, 1_234).unwrap()
        ])
        .unwrap();
    // As the spec suggests: concatenate the response to the note and verify.
    let combined = note.encode().unwrap() + &response;
    let verified = Note::open(
        combined.as_bytes(),
        &Verifiers::new([witness.verifier_key()]).unwrap(),
    )
    .unwrap();
    assert_eq!(verified.verified[0].timestamp, Some(1_234));
    // Or add the lines to the note.
    let mut merged = note.clone();
    for line in delego_spec::note::parse_cosignature_lines(response.as_bytes()).unwrap() {
        merged.add_signature(line);
    }
    assert_eq!(merged.encode().unwrap(), combined);
}

// ---- tlog-proof ----

#[test]
fn tlog_proof_strictness() {
    let note = signed(10);
    let tail = format!("\n{}", note.encode().unwrap());
    let hash = b64(&[2; 32]);
    let parse = |file: String| TlogProof::parse(file.as_bytes());
    assert!(parse(format!("c2sp.org/tlog-proof@v1\nindex 9\n{hash}\n{tail}")).is_ok());
    assert!(parse(format!(
        "c2sp.org/tlog-proof@v1\nextra AQ==\nindex 0\n{tail}"
    ))
    .is_ok());
    let cases = [
        (
            format!("c2sp.org/tlog-proof@v2\nindex 0\n{tail}"),
            ProofError::BadHeader,
        ),
        (
            format!("c2sp.org/tlog-proof@v1 \nindex 0\n{tail}"),
            ProofError::BadHeader,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 10\n{tail}"),
            ProofError::IndexOutsideTree {
                index: 10,
                size: 10,
            },
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 01\n{tail}"),
            ProofError::BadIndex,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex  1\n{tail}"),
            ProofError::BadIndex,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nextra \nindex 0\n{tail}"),
            ProofError::BadExtra,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nextra AQ\nindex 0\n{tail}"),
            ProofError::BadExtra,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\nextra AQ==\n{tail}"),
            ProofError::BadHash(1),
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nextra AQ==\n{tail}"),
            ProofError::BadIndex,
        ),
        (
            format!(
                "c2sp.org/tlog-proof@v1\nindex 0\n{}\n{tail}",
                hash[..40].to_owned()
            ),
            ProofError::BadHash(1),
        ),
        (
            format!(
                "c2sp.org/tlog-proof@v1\nindex 0\n{}{tail}",
                format!("{hash}\n").repeat(65)
            ),
            ProofError::TooManyHashes,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\n{hash}\n"),
            ProofError::MissingBlankLine,
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\n\n{}", note.text()),
            ProofError::Note(NoteError::NoSignatureBlock),
        ),
    ];
    for (file, error) in cases {
        assert_eq!(parse(file.clone()), Err(error), "{file:?}");
    }
    assert_eq!(
        TlogProof::new(Some(vec![]), 0, vec![], note.clone()),
        Err(ProofError::BadExtra)
    );
    assert!(TlogProof::new(None, 0, vec![[0; 32]; 64], note).is_ok());
}

// ---- tlog-policy ----

fn wkey(seed: u8) -> String {
    witness_key(&format!("w{seed}.example"), seed)
        .verifier_key()
        .to_string()
}

fn lkey(seed: u8) -> String {
    SignerKey::new(
        &format!("log{seed}.example"),
        KeyType::Ed25519,
        SigningKey::from_bytes(&[seed; 32]),
    )
    .unwrap()
    .verifier_key()
    .to_string()
}

fn line_error(policy: &str) -> (usize, PolicyLineError) {
    match TrustPolicy::parse(policy.as_bytes()) {
        Err(PolicyError::Line { line, error }) => (line, error),
        other => panic!("{policy:?} gave {other:?}"),
    }
}

#[test]
fn policy_syntax() {
    let (w1, w2, l1) = (wkey(1), wkey(2), lkey(1));
    let policy = format!(
        "  # comment with \u{e9}\n\t\n log\t{l1}   https://log.example/\t\nwitness a {w1}\nwitness b {w2} https://b.example/add\ngroup g any a b\nquorum g\n"
    );
    let policy = TrustPolicy::parse(policy.as_bytes()).unwrap();
    assert_eq!(
        policy.logs()[0].url.as_deref(),
        Some(&b"https://log.example/"[..])
    );
    assert_eq!(policy.witnesses()[0].url, None);
    assert_eq!(policy.groups()[0].threshold(), Threshold::Any);
    assert_eq!(policy.quorum(), &Quorum::Named(PolicyName::from("g")));
    assert_eq!(
        policy
            .witness(&PolicyName::from("b"))
            .unwrap()
            .key
            .to_string(),
        w2
    );
    assert!(policy.witness(&PolicyName::from("g")).is_none());

    // Non-UTF-8 names are opaque octets.
    let policy = format!("witness \u{212a} {w1}\nwitness K {w2}\nquorum \u{212a}\n");
    assert!(TrustPolicy::parse(policy.as_bytes()).is_ok());
    let mut raw = b"witness \xff ".to_vec();
    raw.extend_from_slice(w1.as_bytes());
    raw.extend_from_slice(b"\nquorum \xff\n");
    let policy = TrustPolicy::parse(&raw).unwrap();
    assert_eq!(policy.witnesses()[0].name.as_bytes(), b"\xff");
}

#[test]
fn policy_file_level_errors() {
    assert_eq!(TrustPolicy::parse(b""), Err(PolicyError::MissingQuorum));
    assert_eq!(
        TrustPolicy::parse(b"# only a comment\n"),
        Err(PolicyError::MissingQuorum)
    );
    assert_eq!(
        TrustPolicy::parse(b"quorum none"),
        Err(PolicyError::MissingFinalNewline)
    );
    assert_eq!(
        TrustPolicy::parse(b"# x\r\nquorum none\r\n"),
        Err(PolicyError::BadOctet {
            line: 1,
            byte: b'\r'
        })
    );
    assert_eq!(
        TrustPolicy::parse(b"quorum none\n#\x7f\n"),
        Err(PolicyError::BadOctet {
            line: 2,
            byte: 0x7f
        })
    );
    assert_eq!(
        TrustPolicy::parse(&vec![b'#'; delego_spec::note::MAX_POLICY_BYTES + 1]),
        Err(PolicyError::TooLarge)
    );
    assert!(TrustPolicy::parse(b"quorum none\n").is_ok());
}

#[test]
fn policy_line_errors() {
    let (w1, w2, l1) = (wkey(1), wkey(2), lkey(1));
    let cases: Vec<(String, (usize, PolicyLineError))> = vec![
        (
            "logs x\n".into(),
            (1, PolicyLineError::UnknownKeyword("logs".into())),
        ),
        (
            "Quorum none\n".into(),
            (1, PolicyLineError::UnknownKeyword("Quorum".into())),
        ),
        (
            "log\n".into(),
            (
                1,
                PolicyLineError::FieldCount {
                    expected: "log <vkey> [<url>]",
                },
            ),
        ),
        (
            format!("log {l1} u extra\n"),
            (
                1,
                PolicyLineError::FieldCount {
                    expected: "log <vkey> [<url>]",
                },
            ),
        ),
        // Comments are whole lines only.
        (
            format!("log {l1} u # c\n"),
            (
                1,
                PolicyLineError::FieldCount {
                    expected: "log <vkey> [<url>]",
                },
            ),
        ),
        (
            format!("witness {w1}\n"),
            (
                1,
                PolicyLineError::FieldCount {
                    expected: "witness <name> <vkey> [<url>]",
                },
            ),
        ),
        (
            "log nonsense\n".into(),
            (1, PolicyLineError::Vkey(NoteError::VerifierKeyFormat)),
        ),
        (
            format!("log {w1}\n"),
            (1, PolicyLineError::LogKeyType(KeyType::CosignatureV1)),
        ),
        (
            format!("witness a {l1}\n"),
            (1, PolicyLineError::WitnessKeyType(KeyType::Ed25519)),
        ),
        (
            format!("witness none {w1}\n"),
            (1, PolicyLineError::ReservedName),
        ),
        (
            format!("witness a {w1}\nwitness a {w2}\n"),
            (2, PolicyLineError::DuplicateName("a".into())),
        ),
        (
            format!("witness a {w1}\ngroup a any a\n"),
            (2, PolicyLineError::DuplicateName("a".into())),
        ),
        (
            format!("witness a {w1}\nwitness b {w1}\n"),
            (2, PolicyLineError::DuplicateWitness),
        ),
        (
            "group g any x\n".into(),
            (1, PolicyLineError::Undefined("x".into())),
        ),
        (
            format!("witness a {w1}\ngroup g any\n"),
            (
                2,
                PolicyLineError::FieldCount {
                    expected: "group <name> <all|any|k> <name>...",
                },
            ),
        ),
        (
            format!("witness a {w1}\ngroup g any a none\n"),
            (2, PolicyLineError::NoneMember),
        ),
        (
            format!("witness a {w1}\ngroup g any a g\n"),
            (2, PolicyLineError::SelfMember("g".into())),
        ),
        (
            format!("witness a {w1}\ngroup g any a a\n"),
            (2, PolicyLineError::DuplicateMember("a".into())),
        ),
        // A cycle cannot be written: h is not yet defined when g names it.
        (
            format!("witness a {w1}\ngroup g any a h\ngroup h any a g\n"),
            (2, PolicyLineError::Undefined("h".into())),
        ),
        (
            format!("witness a {w1}\ngroup g 0 a\n"),
            (
                2,
                PolicyLineError::ThresholdOutOfRange {
                    threshold: "0".into(),
                    members: 1,
                },
            ),
        ),
        (
            format!("witness a {w1}\nwitness b {w2}\ngroup g 3 a b\n"),
            (
                3,
                PolicyLineError::ThresholdOutOfRange {
                    threshold: "3".into(),
                    members: 2,
                },
            ),
        ),
        (
            format!("witness a {w1}\ngroup g 99999999999999999999999 a\n"),
            (2, PolicyLineError::BadThreshold),
        ),
        (
            format!("witness a {w1}\ngroup g 01 a\n"),
            (2, PolicyLineError::BadThreshold),
        ),
        (
            format!("witness a {w1}\ngroup g -1 a\n"),
            (2, PolicyLineError::BadThreshold),
        ),
        (
            format!("witness a {w1}\ngroup g ANY a\n"),
            (2, PolicyLineError::BadThreshold),
        ),
        (
            "quorum x\n".into(),
            (1, PolicyLineError::Undefined("x".into())),
        ),
        (
            "quorum none\nquorum none\n".into(),
            (2, PolicyLineError::DuplicateQuorum),
        ),
        (
            "quorum\n".into(),
            (
                1,
                PolicyLineError::FieldCount {
                    expected: "quorum <name>",
                },
            ),
        ),
        (
            format!("quorum a\nwitness a {w1}\n"),
            (1, PolicyLineError::Undefined("a".into())),
        ),
    ];
    for (policy, expected) in cases {
        assert_eq!(line_error(&policy), expected, "{policy:?}");
    }
    // The same log key under another name is still a duplicate.
    let key = SigningKey::from_bytes(&[1; 32]);
    let renamed = VerifierKey::new("other.example", KeyType::Ed25519, key.verifying_key()).unwrap();
    assert_eq!(
        line_error(&format!("log {l1}\nlog {renamed}\nquorum none\n")),
        (2, PolicyLineError::DuplicateLog)
    );
}

#[test]
fn quorum_edge_cases() {
    let set = |names: &[&str]| -> BTreeSet<PolicyName> {
        names.iter().map(|n| PolicyName::from(*n)).collect()
    };
    let (w1, w2, w3) = (wkey(1), wkey(2), wkey(3));
    let parse = |tail: &str| {
        TrustPolicy::parse(
            format!("witness a {w1}\nwitness b {w2}\nwitness c {w3}\n{tail}").as_bytes(),
        )
        .unwrap()
    };

    let none = parse("quorum none\n");
    assert!(none.quorum_satisfied(&set(&[])));

    let single = parse("quorum b\n");
    assert!(single.quorum_satisfied(&set(&["b"])));
    assert!(!single.quorum_satisfied(&set(&["a", "c"])));

    let two_of_three = parse("group g 2 a b c\nquorum g\n");
    assert!(!two_of_three.quorum_satisfied(&set(&["a"])));
    assert!(two_of_three.quorum_satisfied(&set(&["a", "c"])));
    assert!(!two_of_three.quorum_satisfied(&set(&["a", "unknown", "g"])));

    let all = parse("group g all a b c\nquorum g\n");
    assert!(!all.quorum_satisfied(&set(&["a", "b"])));
    assert!(all.quorum_satisfied(&set(&["a", "b", "c"])));

    let all_of_one = parse("group g all b\nquorum g\n");
    assert!(all_of_one.quorum_satisfied(&set(&["b"])));

    // Nested: a group counts as one member of its parent.
    let nested = parse("group ab any a b\ngroup top 2 ab c\nquorum top\n");
    assert!(!nested.quorum_satisfied(&set(&["a", "b"])));
    assert!(nested.quorum_satisfied(&set(&["b", "c"])));
}

#[test]
fn policy_checkpoint_verification() {
    let log = log_key("example.com/log");
    let (a, b, c) = (
        witness_key("a.example", 1),
        witness_key("b.example", 2),
        witness_key("c.example", 3),
    );
    let outsider = witness_key("outsider.example", 4);
    let policy = TrustPolicy::parse(
        format!(
            "log {}\nwitness a {}\nwitness b {}\nwitness c {}\ngroup g 2 a b c\nquorum g\n",
            log.verifier_key(),
            a.verifier_key(),
            b.verifier_key(),
            c.verifier_key()
        )
        .as_bytes(),
    )
    .unwrap();
    let cp = checkpoint(42);
    let mut note = cp.sign(&log).unwrap();
    note.add_signature(cosign(&cp, &a, 100).unwrap());
    note.add_signature(cosign(&cp, &outsider, 101).unwrap());

    let verdict = policy
        .verify_checkpoint(note.encode().unwrap().as_bytes())
        .unwrap();
    assert!(!verdict.quorum_satisfied, "one of two cosigners");
    assert_eq!(verdict.cosigners.len(), 1);
    assert_eq!(verdict.note.unverified[0].name(), "outsider.example");

    note.add_signature(cosign(&cp, &c, 102).unwrap());
    let verdict = policy
        .verify_checkpoint(note.encode().unwrap().as_bytes())
        .unwrap();
    assert!(verdict.quorum_satisfied);
    let cosigners: Vec<(String, u64)> = verdict
        .cosigners
        .iter()
        .map(|c| (c.witness.to_string(), c.timestamp))
        .collect();
    assert_eq!(cosigners, [("a".to_owned(), 100), ("c".to_owned(), 102)]);

    // A duplicated cosignature counts once.
    let duplicated = note.encode().unwrap() + &cosign(&cp, &a, 100).unwrap().to_line();
    let verdict = policy.verify_checkpoint(duplicated.as_bytes()).unwrap();
    assert_eq!(verdict.cosigners.len(), 2);

    // A policy witness's cosignature over another checkpoint rejects the note.
    let stale = cosign(&checkpoint(41), &b, 99).unwrap();
    let with_stale = note.encode().unwrap() + &stale.to_line();
    assert!(matches!(
        policy.verify_checkpoint(with_stale.as_bytes()),
        Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    ));

    // An origin the policy has no log for.
    let mut foreign = cp.clone();
    foreign.origin = "example.com/other".into();
    let foreign = foreign
        .sign(&log_key("example.com/other"))
        .unwrap()
        .encode()
        .unwrap();
    assert_eq!(
        policy.verify_checkpoint(foreign.as_bytes()),
        Err(CheckpointError::UnknownOrigin("example.com/other".into()))
    );
}
