//! Property tests of the C2SP formats: every format round-trips, parsing is
//! canonical (what parses re-renders to the same bytes), signatures verify
//! and stop verifying when anything they cover changes, quorum evaluation
//! agrees with a direct reading of the spec, and no parser panics.

use std::collections::{BTreeMap, BTreeSet};

use delego_spec::note::{
    cosign, open_checkpoint, verify_cosignature, AddCheckpointRequest, Checkpoint, CheckpointError,
    CosignatureError, KeyType, Note, NoteError, NoteSignature, PolicyName, SignerKey, TlogProof,
    TrustPolicy, VerifierKey, Verifiers, MAX_CONSISTENCY_PROOF_LINES, MAX_INCLUSION_PROOF_HASHES,
    MAX_TIMESTAMP,
};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

/// Characters allowed in a key name: no whitespace, no '+', no controls.
fn name_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::char::range('!', '~'),
        any::<char>(),
        Just('—'),
        Just('é'),
    ]
    .prop_filter("key name character", |c| {
        !c.is_whitespace() && *c != '+' && *c >= ' '
    })
}

fn key_name() -> impl Strategy<Value = String> {
    prop::collection::vec(name_char(), 1..24).prop_map(|cs| cs.into_iter().collect())
}

/// One line of note text: anything but ASCII controls (newline included).
fn text_line() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::char::range(' ', '~'),
            any::<char>(),
            Just('—'),
            Just('\u{7f}'),
        ]
        .prop_filter("no controls", |c| *c >= ' '),
        0..40,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn non_empty_line() -> impl Strategy<Value = String> {
    text_line().prop_filter("non-empty", |l| !l.is_empty())
}

/// A note text: lines, possibly empty, each ending in a newline.
fn note_text() -> impl Strategy<Value = String> {
    prop::collection::vec(text_line(), 1..8).prop_map(|lines| {
        lines.into_iter().fold(String::new(), |mut text, line| {
            text.push_str(&line);
            text.push('\n');
            text
        })
    })
}

fn signature() -> impl Strategy<Value = NoteSignature> {
    (
        key_name(),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 1..100),
    )
        .prop_map(|(name, id, bytes)| NoteSignature::new(&name, id, bytes).unwrap())
}

fn key_type() -> impl Strategy<Value = KeyType> {
    prop_oneof![Just(KeyType::Ed25519), Just(KeyType::CosignatureV1)]
}

fn signer(key_type: KeyType) -> impl Strategy<Value = SignerKey> {
    (key_name(), any::<[u8; 32]>()).prop_map(move |(name, seed)| {
        SignerKey::new(&name, key_type, SigningKey::from_bytes(&seed)).unwrap()
    })
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        non_empty_line(),
        prop_oneof![any::<u64>(), 0u64..1000],
        any::<[u8; 32]>(),
        prop::collection::vec(non_empty_line(), 0..3),
    )
        .prop_map(|(origin, size, root, extensions)| Checkpoint {
            origin,
            size,
            root,
            extensions,
        })
}

/// A checkpoint signed by a log whose key name is its origin.
fn signed_checkpoint() -> impl Strategy<Value = (Checkpoint, SignerKey, Note)> {
    (signer(KeyType::Ed25519), checkpoint()).prop_map(|(log, mut checkpoint)| {
        checkpoint.origin = log.name().to_owned();
        let note = checkpoint.sign(&log).unwrap();
        (checkpoint, log, note)
    })
}

fn hashes(max: usize) -> impl Strategy<Value = Vec<[u8; 32]>> {
    prop::collection::vec(any::<[u8; 32]>(), 0..=max)
}

/// Small edits: (position, operation, character) with characters that are
/// likely to make a near-valid encoding.
fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, char)>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            0u8..3,
            prop::sample::select(vec![
                '0', '1', '9', 'A', 'a', '=', '+', '/', ' ', '\n', '—', 'x',
            ]),
        ),
        1..3,
    )
}

/// Applies insertions (0), deletions (1) and replacements (2) at character
/// boundaries.
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

/// A policy described abstractly: witness count, groups as (threshold
/// choice, member picks among earlier names), and the quorum pick.
#[derive(Debug, Clone)]
struct PolicyShape {
    logs: usize,
    witnesses: usize,
    groups: Vec<(u8, Vec<usize>)>,
    quorum: Option<usize>,
}

fn policy_shape() -> impl Strategy<Value = PolicyShape> {
    (0usize..3, 1usize..6)
        .prop_flat_map(|(logs, witnesses)| {
            let groups = prop::collection::vec(
                (any::<u8>(), prop::collection::vec(any::<usize>(), 1..5)),
                0..5,
            );
            (
                Just(logs),
                Just(witnesses),
                groups,
                prop::option::of(any::<usize>()),
            )
        })
        .prop_map(|(logs, witnesses, groups, quorum)| PolicyShape {
            logs,
            witnesses,
            groups,
            quorum,
        })
}

/// Renders a shape as a policy file with comments, blank lines, tabs and
/// URLs sprinkled in, and returns the group definitions by name for the
/// reference evaluator.
/// Group name → (members required, member names).
type Groups = BTreeMap<String, (usize, Vec<String>)>;

fn render_policy(shape: &PolicyShape) -> (Vec<u8>, Groups) {
    let mut out = b"# generated\n\n".to_vec();
    for i in 0..shape.logs {
        let key = SignerKey::new(
            &format!("log{i}.example"),
            KeyType::Ed25519,
            SigningKey::from_bytes(&[i as u8 + 1; 32]),
        )
        .unwrap();
        out.extend_from_slice(
            format!("log {} https://log{i}.example/\n", key.verifier_key()).as_bytes(),
        );
    }
    let mut names: Vec<String> = Vec::new();
    for i in 0..shape.witnesses {
        let key = SignerKey::new(
            &format!("witness{i}.example"),
            KeyType::CosignatureV1,
            SigningKey::from_bytes(&[i as u8 + 100; 32]),
        )
        .unwrap();
        out.extend_from_slice(
            format!("\twitness  w{i}\t{}\n  # note\n", key.verifier_key()).as_bytes(),
        );
        names.push(format!("w{i}"));
    }
    let mut groups = BTreeMap::new();
    for (g, (threshold, picks)) in shape.groups.iter().enumerate() {
        let mut members: Vec<String> = Vec::new();
        for pick in picks {
            let member = names[pick % names.len()].clone();
            if !members.contains(&member) {
                members.push(member);
            }
        }
        let n = members.len();
        let (word, k) = match threshold % 3 {
            0 => ("all".to_owned(), n),
            1 => ("any".to_owned(), 1),
            _ => {
                let k = usize::from(*threshold) % n + 1;
                (k.to_string(), k)
            }
        };
        let name = format!("g{g}");
        out.extend_from_slice(format!("group {name} {word} {}\n", members.join(" ")).as_bytes());
        groups.insert(name.clone(), (k, members));
        names.push(name);
    }
    match shape.quorum {
        Some(pick) => {
            out.extend_from_slice(format!("quorum {}\n", names[pick % names.len()]).as_bytes())
        }
        None => out.extend_from_slice(b"quorum none\n"),
    }
    (out, groups)
}

/// The spec's definition, read literally and recursively.
fn reference_witnessed(name: &str, groups: &Groups, cosigned: &BTreeSet<String>) -> bool {
    match groups.get(name) {
        Some((k, members)) => {
            members
                .iter()
                .filter(|m| reference_witnessed(m, groups, cosigned))
                .count()
                >= *k
        }
        None => cosigned.contains(name),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn key_strings_round_trip(key in key_type().prop_flat_map(signer)) {
        let vkey = key.verifier_key();
        prop_assert_eq!(VerifierKey::parse(&vkey.to_string()).unwrap(), vkey.clone());
        let reparsed = SignerKey::parse(&key.to_skey_string()).unwrap();
        prop_assert_eq!(reparsed.verifier_key(), vkey);
        prop_assert_eq!(reparsed.to_skey_string(), key.to_skey_string());
    }

    #[test]
    fn notes_round_trip(text in note_text(), signatures in prop::collection::vec(signature(), 1..6)) {
        let mut note = Note::new(text).unwrap();
        for signature in signatures {
            note.add_signature(signature);
        }
        let encoded = note.encode().unwrap();
        let parsed = Note::parse(encoded.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &note);
        prop_assert_eq!(parsed.encode().unwrap(), encoded);
    }

    #[test]
    fn signed_notes_verify_and_any_change_breaks_them(
        text in note_text(),
        key in signer(KeyType::Ed25519),
        flip in any::<prop::sample::Index>(),
    ) {
        let mut note = Note::new(text.clone()).unwrap();
        note.sign(&key).unwrap();
        let known = Verifiers::new([key.verifier_key()]).unwrap();
        let encoded = note.encode().unwrap();
        let opened = Note::open(encoded.as_bytes(), &known).unwrap();
        prop_assert_eq!(opened.text(), text.as_str());

        // Flip one bit of the signature.
        let line = &note.signatures()[0];
        let mut bytes = line.signature().to_vec();
        let bit = flip.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        let mut forged = Note::new(text.clone()).unwrap();
        forged.add_signature(NoteSignature::new(line.name(), line.key_id(), bytes).unwrap());
        let is_invalid = matches!(forged.verify(&known), Err(NoteError::InvalidSignature { .. }));
        prop_assert!(is_invalid);

        // Change the text.
        let mut other = Note::new(format!("{text}x\n")).unwrap();
        other.add_signature(line.clone());
        let is_invalid = matches!(other.verify(&known), Err(NoteError::InvalidSignature { .. }));
        prop_assert!(is_invalid);
    }

    #[test]
    fn checkpoints_round_trip_and_parse_canonically(checkpoint in checkpoint()) {
        let text = checkpoint.to_text().unwrap();
        prop_assert_eq!(Checkpoint::parse(&text).unwrap(), checkpoint);
    }

    #[test]
    fn what_parses_renders_back_identically(
        (checkpoint, log, note) in signed_checkpoint(),
        edits in edits(),
    ) {
        // Near-misses of valid encodings: whatever still parses must be the
        // one spelling of its value.
        let text = mutate(&checkpoint.to_text().unwrap(), &edits);
        if let Ok(parsed) = Checkpoint::parse(&text) {
            prop_assert_eq!(parsed.to_text().unwrap(), text);
        }
        let message = mutate(&note.encode().unwrap(), &edits);
        if let Ok(parsed) = Note::parse(message.as_bytes()) {
            prop_assert_eq!(parsed.encode().unwrap(), message.clone());
            // And a changed note never verifies unless the signed text and
            // the log's line are intact.
            if let Ok(opened) = open_checkpoint(message.as_bytes(), &[log.verifier_key()]) {
                prop_assert_eq!(opened.note.text(), note.text());
            }
        }
        if checkpoint.size > 0 {
            let request = AddCheckpointRequest::new(checkpoint.size - 1, vec![[7; 32]], note.clone())
                .unwrap()
                .encode()
                .unwrap();
            let body = mutate(&request, &edits);
            if let Ok(parsed) = AddCheckpointRequest::parse(body.as_bytes()) {
                prop_assert_eq!(parsed.encode().unwrap(), body);
            }
            let proof = TlogProof::new(Some(vec![1, 2, 3, 4]), 0, vec![[9; 32]], note)
                .unwrap()
                .encode()
                .unwrap();
            let file = mutate(&proof, &edits);
            if let Ok(parsed) = TlogProof::parse(file.as_bytes()) {
                prop_assert_eq!(parsed.encode().unwrap(), file);
            }
        }
    }

    #[test]
    fn signed_checkpoints_open_with_the_log_key((checkpoint, log, note) in signed_checkpoint()) {
        let encoded = note.encode().unwrap();
        let opened = open_checkpoint(encoded.as_bytes(), &[log.verifier_key()]).unwrap();
        prop_assert_eq!(opened.checkpoint, checkpoint);
    }

    #[test]
    fn cosignatures_verify_only_for_their_checkpoint_and_timestamp(
        (checkpoint, _log, _note) in signed_checkpoint(),
        witness in signer(KeyType::CosignatureV1),
        timestamp in prop_oneof![0..=MAX_TIMESTAMP, Just(MAX_TIMESTAMP), Just(0)],
        other_timestamp in 0..=MAX_TIMESTAMP,
    ) {
        let line = cosign(&checkpoint, &witness, timestamp).unwrap();
        let key = witness.verifier_key();
        prop_assert_eq!(verify_cosignature(&checkpoint, &line, &key), Ok(timestamp));

        let mut moved = checkpoint.clone();
        moved.size = moved.size.wrapping_add(1);
        let refused = matches!(
            verify_cosignature(&moved, &line, &key),
            Err(CosignatureError::Note(NoteError::InvalidSignature { .. }))
        );
        prop_assert!(refused);

        // Same signature, another timestamp in the line.
        prop_assume!(other_timestamp != timestamp);
        let mut bytes = line.signature().to_vec();
        bytes[..8].copy_from_slice(&other_timestamp.to_be_bytes());
        let retimed = NoteSignature::new(line.name(), line.key_id(), bytes).unwrap();
        let refused = matches!(
            verify_cosignature(&checkpoint, &retimed, &key),
            Err(CosignatureError::Note(NoteError::InvalidSignature { .. }))
        );
        prop_assert!(refused);
    }

    #[test]
    fn add_checkpoint_requests_round_trip(
        (checkpoint, _log, note) in signed_checkpoint(),
        old in any::<u64>(),
        proof in hashes(MAX_CONSISTENCY_PROOF_LINES),
    ) {
        let old = if checkpoint.size == 0 { 0 } else { old % checkpoint.size };
        let request = AddCheckpointRequest::new(old, proof.clone(), note.clone()).unwrap();
        let body = request.encode().unwrap();
        let parsed = AddCheckpointRequest::parse(body.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &request);
        prop_assert_eq!(parsed.proof(), proof.as_slice());
        prop_assert_eq!(parsed.checkpoint(), &checkpoint);
        prop_assert_eq!(parsed.encode().unwrap(), body);
    }

    #[test]
    fn cosignature_responses_round_trip(lines in prop::collection::vec(signature(), 1..10)) {
        let body = delego_spec::note::format_cosignature_lines(&lines).unwrap();
        prop_assert_eq!(delego_spec::note::parse_cosignature_lines(body.as_bytes()).unwrap(), lines);
    }

    #[test]
    fn size_bodies_round_trip(size in any::<u64>()) {
        let body = delego_spec::note::format_size_body(size);
        prop_assert_eq!(delego_spec::note::parse_size_body(body.as_bytes()), Ok(size));
    }

    #[test]
    fn tlog_proofs_round_trip(
        (checkpoint, _log, note) in signed_checkpoint(),
        index in any::<u64>(),
        proof in hashes(MAX_INCLUSION_PROOF_HASHES),
        extra in prop::option::of(prop::collection::vec(any::<u8>(), 1..64)),
    ) {
        prop_assume!(checkpoint.size > 0);
        let proof = TlogProof::new(extra.clone(), index % checkpoint.size, proof, note).unwrap();
        let file = proof.encode().unwrap();
        let parsed = TlogProof::parse(file.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &proof);
        prop_assert_eq!(parsed.extra(), extra.as_deref());
        prop_assert_eq!(parsed.encode().unwrap(), file);
    }

    #[test]
    fn policies_round_trip_and_evaluate_as_the_spec_reads(
        shape in policy_shape(),
        cosigned in prop::collection::btree_set(0usize..6, 0..6),
    ) {
        let (file, groups) = render_policy(&shape);
        let policy = TrustPolicy::parse(&file).unwrap();
        prop_assert_eq!(TrustPolicy::parse(&policy.to_bytes()).unwrap(), policy.clone());

        let cosigned: BTreeSet<String> = cosigned.iter().map(|i| format!("w{i}")).collect();
        let names: BTreeSet<PolicyName> = cosigned.iter().map(|n| PolicyName::from(n.as_str())).collect();
        let expected = match &shape.quorum {
            None => true,
            Some(_) => {
                let quorum = match policy.quorum() {
                    delego_spec::note::Quorum::Named(name) => name.to_string(),
                    delego_spec::note::Quorum::None => unreachable!(),
                };
                reference_witnessed(&quorum, &groups, &cosigned)
            }
        };
        prop_assert_eq!(policy.quorum_satisfied(&names), expected);
    }

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Note::parse(&bytes);
        let _ = AddCheckpointRequest::parse(&bytes);
        let _ = TlogProof::parse(&bytes);
        let _ = TrustPolicy::parse(&bytes);
        let _ = delego_spec::note::parse_cosignature_lines(&bytes);
        let _ = delego_spec::note::parse_size_body(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = Checkpoint::parse(text);
            let _ = VerifierKey::parse(text);
            let _ = SignerKey::parse(text);
            let _ = NoteSignature::parse_line(text);
        }
    }

    #[test]
    fn structured_garbage_never_panics(
        lines in prop::collection::vec(
            prop_oneof![
                Just("— a AAAAAAA=".to_owned()),
                Just(String::new()),
                Just("old 1".to_owned()),
                Just("index 0".to_owned()),
                Just("c2sp.org/tlog-proof@v1".to_owned()),
                Just("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=".to_owned()),
                Just("quorum none".to_owned()),
                Just("group g 1 w".to_owned()),
                "[a-z0-9 ]{0,12}",
            ],
            0..12,
        )
    ) {
        let text = lines.join("\n");
        let _ = Note::parse(text.as_bytes());
        let _ = AddCheckpointRequest::parse(text.as_bytes());
        let _ = TlogProof::parse(text.as_bytes());
        let _ = TrustPolicy::parse(text.as_bytes());
        let _ = Checkpoint::parse(&text);
    }
}

#[test]
fn checkpoint_signing_checks_the_key() {
    let checkpoint = Checkpoint {
        origin: "example.com/log".into(),
        size: 1,
        root: [0; 32],
        extensions: vec![],
    };
    let witness = SignerKey::new(
        "example.com/log",
        KeyType::CosignatureV1,
        SigningKey::from_bytes(&[1; 32]),
    )
    .unwrap();
    assert_eq!(
        checkpoint.sign(&witness),
        Err(CheckpointError::NotALogKey(KeyType::CosignatureV1))
    );
    let misnamed = SignerKey::new(
        "example.com/other",
        KeyType::Ed25519,
        SigningKey::from_bytes(&[1; 32]),
    )
    .unwrap();
    assert!(matches!(
        checkpoint.sign(&misnamed),
        Err(CheckpointError::KeyNameNotOrigin { .. })
    ));
}
