//! Known-answer tests for the C2SP formats, on test data copied from
//! independent sources (see NOTICE): golang.org/x/mod/sumdb/note's tests,
//! the examples in the C2SP specifications, transparency-dev/formats' tests
//! and a real cosigned checkpoint recorded by tlog-scales' tests.

use std::collections::BTreeSet;

use delego_spec::note::{
    cosignature_message, cosignature_timestamp, open_checkpoint, parse_cosignature_lines,
    verify_cosignature, AddCheckpointRequest, Checkpoint, CheckpointError, CosignatureError,
    KeyType, Note, NoteError, NoteSignature, PolicyName, SignerKey, TlogProof, TrustPolicy,
    VerifierKey, Verifiers,
};

// ---- golang.org/x/mod/sumdb/note (note_test.go) ----

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn vkey(text: &str) -> VerifierKey {
    VerifierKey::parse(text).unwrap()
}

fn verifiers(keys: &[&str]) -> Verifiers {
    Verifiers::new(keys.iter().map(|k| vkey(k))).unwrap()
}

fn names(signatures: &[NoteSignature]) -> Vec<&str> {
    signatures.iter().map(NoteSignature::name).collect()
}

#[test]
fn go_vkey_parses_and_renders_byte_for_byte() {
    let key = vkey(PETER_VKEY);
    assert_eq!(key.name(), "PeterNeumann");
    assert_eq!(key.key_id(), 0xc74f20a3);
    assert_eq!(key.key_type(), KeyType::Ed25519);
    assert_eq!(key.to_string(), PETER_VKEY);
}

#[test]
fn go_vkey_manglings_are_refused() {
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if i == 0 && j == bytes.len() {
                continue;
            }
            let part = std::str::from_utf8(&bytes[i..j]).unwrap();
            assert!(VerifierKey::parse(part).is_err(), "{part:?}");
        }
    }
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(VerifierKey::parse(&mangled).is_err(), "{mangled:?}");
    }
}

#[test]
fn go_vkeys_with_adjusted_ids_fail_on_the_key_itself() {
    // Go's "wrong length key, with adjusted key hash": its base64 also has
    // non-zero trailing bits, which strict decoding refuses first.
    assert_eq!(
        VerifierKey::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        ),
        Err(NoteError::KeyBase64)
    );
    // Go's "unknown algorithm, with adjusted key hash": type byte 0x65.
    assert_eq!(
        VerifierKey::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(NoteError::UnsupportedKeyType(0x65))
    );
}

#[test]
fn go_skey_parses_to_the_matching_vkey_and_manglings_are_refused() {
    let key = SignerKey::parse(PETER_SKEY).unwrap();
    assert_eq!(key.verifier_key().to_string(), PETER_VKEY);
    assert_eq!(key.to_skey_string(), PETER_SKEY);
    let bytes = PETER_SKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if i == 0 && j == bytes.len() {
                continue;
            }
            let part = std::str::from_utf8(&bytes[i..j]).unwrap();
            assert!(SignerKey::parse(part).is_err(), "{part:?}");
        }
    }
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(SignerKey::parse(&mangled).is_err(), "{mangled:?}");
    }
}

#[test]
fn go_sign_is_byte_for_byte() {
    let key = SignerKey::parse(PETER_SKEY).unwrap();
    let mut note = Note::new(GO_TEXT).unwrap();
    note.sign(&key).unwrap();
    let want = format!("{GO_TEXT}\n{PETER_SIG}");
    assert_eq!(note.encode().unwrap(), want);

    // An earlier line from the same key is replaced, not kept.
    let mut note = Note::new(GO_TEXT).unwrap();
    note.add_signature(NoteSignature::new("PeterNeumann", 0xc74f20a3, vec![0xba, 0xd]).unwrap());
    note.sign(&key).unwrap();
    assert_eq!(note.encode().unwrap(), want);

    assert_eq!(Note::new("abc"), Err(NoteError::TextMissingFinalNewline));
}

#[test]
fn go_open_sorts_known_and_unknown_signatures() {
    let message = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");

    let opened = Note::open(message.as_bytes(), &verifiers(&[PETER_VKEY])).unwrap();
    assert_eq!(opened.text(), GO_TEXT);
    assert_eq!(opened.verified.len(), 1);
    assert_eq!(opened.verified[0].key.to_string(), PETER_VKEY);
    assert_eq!(opened.verified[0].timestamp, None);
    assert_eq!(names(&opened.unverified), ["EnochRoot"]);
    assert_eq!(opened.unverified[0].key_id(), 0xaf0cfe78);

    let both = Note::open(message.as_bytes(), &verifiers(&[PETER_VKEY, ENOCH_VKEY])).unwrap();
    assert_eq!(both.verified.len(), 2);
    assert!(both.unverified.is_empty());

    assert_eq!(
        Note::open(message.as_bytes(), &Verifiers::default()),
        Err(NoteError::NoVerifiedSignature)
    );
    // Without keys the note still parses, every line kept.
    let note = Note::parse(message.as_bytes()).unwrap();
    assert_eq!(names(note.signatures()), ["PeterNeumann", "EnochRoot"]);
}

#[test]
fn go_open_counts_a_key_once_and_drops_identical_unknown_lines() {
    let corrupt_enoch = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let message = format!("{GO_TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{corrupt_enoch}");
    let opened = Note::open(message.as_bytes(), &verifiers(&[PETER_VKEY])).unwrap();
    assert_eq!(opened.verified.len(), 1);
    assert_eq!(names(&opened.unverified), ["EnochRoot", "EnochRoot"]);
    assert_ne!(opened.unverified[0], opened.unverified[1]);
    // The note itself keeps all five lines.
    assert_eq!(opened.note.signatures().len(), 5);
}

#[test]
fn go_open_rejects_an_invalid_signature_from_a_known_key() {
    let corrupt_peter = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let message = format!("{GO_TEXT}\n{corrupt_peter}");
    assert!(matches!(
        Note::open(message.as_bytes(), &verifiers(&[PETER_VKEY])),
        Err(NoteError::InvalidSignature {
            key_id: 0xc74f20a3,
            ..
        })
    ));
    // A bad duplicate is verified too, even after a good line.
    let message = format!("{GO_TEXT}\n{PETER_SIG}{corrupt_peter}");
    assert!(matches!(
        Note::open(message.as_bytes(), &verifiers(&[PETER_VKEY])),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn go_open_refuses_too_many_signatures() {
    let message = format!("{GO_TEXT}\n{}", PETER_SIG.repeat(101));
    assert_eq!(
        Note::parse(message.as_bytes()),
        Err(NoteError::TooManySignatures { max: 100 })
    );
    let message = format!("{GO_TEXT}\n{}", PETER_SIG.repeat(100));
    assert!(Note::open(message.as_bytes(), &verifiers(&[PETER_VKEY])).is_ok());
}

#[test]
fn go_malformed_notes_are_refused() {
    let cases = [
        (GO_TEXT.to_owned(), NoteError::NoSignatureBlock),
        (format!("{GO_TEXT}\n"), NoteError::NoSignatures),
        (
            format!("{GO_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            NoteError::SignatureMissingFinalNewline,
        ),
        (
            format!("\x01{GO_TEXT}\n{PETER_SIG}"),
            NoteError::ControlCharacter { offset: 0 },
        ),
        (
            format!("{GO_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
            NoteError::SignatureBase64,
        ),
        (
            format!("{GO_TEXT}\n{PETER_SIG}Unexpected line.\n"),
            NoteError::MissingEmDash,
        ),
    ];
    for (message, error) in cases {
        assert_eq!(Note::parse(message.as_bytes()), Err(error), "{message:?}");
    }
    let mut invalid_utf8 = vec![0xff];
    invalid_utf8.extend_from_slice(format!("{GO_TEXT}\n{PETER_SIG}").as_bytes());
    assert_eq!(
        Note::parse(&invalid_utf8),
        Err(NoteError::NotUtf8 { offset: 0 })
    );
}

// ---- c2sp.org/signed-note example ----

#[test]
fn spec_signed_note_example_verifies() {
    let key = vkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
    assert_eq!(
        hex::encode(key.public_key().as_bytes()),
        "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4"
    );
    let message = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let opened = Note::open(message.as_bytes(), &Verifiers::new([key]).unwrap()).unwrap();
    assert_eq!(opened.text(), "This is an example message.\n");
    let tampered = message.replace("example message", "example massage");
    assert!(matches!(
        Note::open(
            tampered.as_bytes(),
            &verifiers(&["example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"])
        ),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn spec_signed_note_poem_keeps_its_blank_lines() {
    let message = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let note = Note::parse(message.as_bytes()).unwrap();
    assert_eq!(
        note.text(),
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    );
    assert_eq!(note.signatures()[0].name(), "quasimodo.example/salvatore");
    assert_eq!(note.encode().unwrap(), message);
}

// ---- key ID collisions (seeds found by search for this test) ----

/// Two Ed25519 keys whose IDs under the name `example.com/collide` are both
/// 92a75f2d: the seeds are the 32-byte big-endian integers 66561 and 81297.
fn colliding_keys() -> (SignerKey, SignerKey) {
    let key = |n: u32| {
        let mut seed = [0u8; 32];
        seed[28..].copy_from_slice(&n.to_be_bytes());
        SignerKey::new(
            "example.com/collide",
            KeyType::Ed25519,
            ed25519_dalek::SigningKey::from_bytes(&seed),
        )
        .unwrap()
    };
    (key(66561), key(81297))
}

#[test]
fn colliding_name_and_id_is_ambiguous_in_a_key_set() {
    let (a, b) = colliding_keys();
    assert_eq!(a.key_id(), 0x92a75f2d);
    assert_eq!(b.key_id(), 0x92a75f2d);
    assert_eq!(
        Verifiers::new([a.verifier_key(), b.verifier_key()]),
        Err(NoteError::AmbiguousKey {
            name: "example.com/collide".into(),
            key_id: 0x92a75f2d
        })
    );
    // The same key twice is not ambiguous.
    assert_eq!(
        Verifiers::new([a.verifier_key(), a.verifier_key()])
            .unwrap()
            .len(),
        1
    );
    let policy = format!(
        "log {}\nlog {}\nquorum none\n",
        a.verifier_key(),
        b.verifier_key()
    );
    assert!(matches!(
        TrustPolicy::parse(policy.as_bytes()),
        Err(delego_spec::note::PolicyError::AmbiguousKeys(_))
    ));
}

#[test]
fn a_log_signature_by_another_key_with_the_same_name_fails() {
    let (a, b) = colliding_keys();
    let checkpoint = Checkpoint {
        origin: "example.com/collide".into(),
        size: 7,
        root: [7; 32],
        extensions: vec![],
    };
    let forged = checkpoint.sign(&b).unwrap().encode().unwrap();
    // Same name and ID as the trusted key: the signature must verify, and fails.
    assert!(matches!(
        open_checkpoint(forged.as_bytes(), &[a.verifier_key()]),
        Err(CheckpointError::Note(NoteError::InvalidSignature {
            key_id: 0x92a75f2d,
            ..
        }))
    ));
    // Same name, different ID: an unknown key, so no log signature at all.
    let other = SignerKey::new(
        "example.com/collide",
        KeyType::Ed25519,
        ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
    )
    .unwrap();
    let forged = checkpoint.sign(&other).unwrap().encode().unwrap();
    assert_eq!(
        open_checkpoint(forged.as_bytes(), &[a.verifier_key()]),
        Err(CheckpointError::Note(NoteError::NoVerifiedSignature))
    );
    let genuine = checkpoint.sign(&a).unwrap().encode().unwrap();
    assert_eq!(
        open_checkpoint(genuine.as_bytes(), &[a.verifier_key()])
            .unwrap()
            .checkpoint,
        checkpoint
    );
}

// ---- transparency-dev/formats (note/note_cosigv1_test.go) ----

#[test]
fn transparency_dev_vkeys() {
    // Base64 containing '+': only the first two '+' separate fields.
    let key = vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6");
    assert_eq!(key.key_type(), KeyType::Ed25519);
    assert_eq!(key.name(), "TEST");
    let witness = vkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
    assert_eq!(witness.key_type(), KeyType::CosignatureV1);
    assert_eq!(witness.key_id(), 0xda77ade7);

    assert_eq!(
        VerifierKey::parse("bananas.sigstore.dev+12344556"),
        Err(NoteError::VerifierKeyFormat)
    );
    assert_eq!(
        VerifierKey::parse("rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!"),
        Err(NoteError::KeyBase64)
    );
    assert_eq!(
        VerifierKey::parse("rekor.sigstore.dev+12345678+AwEB"),
        Err(NoteError::UnsupportedKeyType(0x03))
    );
    assert_eq!(
        VerifierKey::parse(
            "rekor.sigstore.dev+NOT_A_NUMBER+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
        ),
        Err(NoteError::KeyIdHex)
    );
    assert!(matches!(
        VerifierKey::parse("TEST+00000000+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"),
        Err(NoteError::KeyIdMismatch {
            stated: 0,
            computed: 0x7997405c
        })
    ));
}

#[test]
fn transparency_dev_cosignature_timestamp() {
    let line = "— w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==";
    let signature = NoteSignature::parse_line(line).unwrap();
    assert_eq!(cosignature_timestamp(&signature), Ok(1_727_964_367));
    // A plain Ed25519 signature is no cosignature.
    let plain = "— w eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=";
    assert_eq!(
        cosignature_timestamp(&NoteSignature::parse_line(plain).unwrap()),
        Err(CosignatureError::Length(64))
    );
}

// ---- A real checkpoint of the arche2025h1 staging log, cosigned (tlog-scales) ----

const ARCHE_VKEY: &str =
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f";
const REMORA_VKEY: &str = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
const ARCHE_CHECKPOINT: &str = "arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
— transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
— witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
— witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
";
const REMORA_TIMESTAMP: u64 = 0x6a12_2120;

#[test]
fn real_checkpoint_opens_with_the_log_key() {
    let opened = open_checkpoint(ARCHE_CHECKPOINT.as_bytes(), &[vkey(ARCHE_VKEY)]).unwrap();
    assert_eq!(opened.checkpoint.size, 1_432_088_532);
    assert_eq!(
        opened.checkpoint.origin,
        "arche2025h1.staging.ct.transparency.dev"
    );
    assert!(opened.checkpoint.extensions.is_empty());
    assert_eq!(opened.note.verified.len(), 1);
    assert_eq!(opened.note.verified[0].signature.key_id(), 0xba2f06c0);
    // The RFC 6962 tree head signature (another type, same name) and the
    // cosignatures are kept, unverified.
    assert_eq!(opened.note.unverified.len(), 5);
    assert_eq!(
        opened.checkpoint.to_text().unwrap(),
        opened.note.text(),
        "canonical re-rendering"
    );
}

#[test]
fn real_cosignature_verifies_with_its_timestamp() {
    let opened = open_checkpoint(ARCHE_CHECKPOINT.as_bytes(), &[vkey(ARCHE_VKEY)]).unwrap();
    let remora = vkey(REMORA_VKEY);
    let line = opened
        .note
        .unverified
        .iter()
        .find(|s| s.name() == "remora.n621.de")
        .unwrap();
    assert_eq!(
        verify_cosignature(&opened.checkpoint, line, &remora),
        Ok(REMORA_TIMESTAMP)
    );
    assert_eq!(cosignature_timestamp(line), Ok(REMORA_TIMESTAMP));

    let mut other = opened.checkpoint.clone();
    other.size = 42;
    assert!(matches!(
        verify_cosignature(&other, line, &remora),
        Err(CosignatureError::Note(NoteError::InvalidSignature { .. }))
    ));
    // A different witness's line is refused before any cryptography.
    let stagemole = opened
        .note
        .unverified
        .iter()
        .find(|s| s.name() == "witness.stagemole.eu")
        .unwrap();
    assert!(matches!(
        verify_cosignature(&opened.checkpoint, stagemole, &remora),
        Err(CosignatureError::KeyMismatch { .. })
    ));
}

#[test]
fn real_checkpoint_against_a_policy() {
    let policy = format!(
        "# one log, one witness\nlog {ARCHE_VKEY}\nwitness remora {REMORA_VKEY} https://remora.n621.de\nquorum remora\n"
    );
    let policy = TrustPolicy::parse(policy.as_bytes()).unwrap();
    let verdict = policy
        .verify_checkpoint(ARCHE_CHECKPOINT.as_bytes())
        .unwrap();
    assert!(verdict.quorum_satisfied);
    assert_eq!(verdict.cosigners.len(), 1);
    assert_eq!(verdict.cosigners[0].witness, PolicyName::from("remora"));
    assert_eq!(verdict.cosigners[0].timestamp, REMORA_TIMESTAMP);

    let tampered = ARCHE_CHECKPOINT.replace("1432088532", "1432088533");
    assert!(matches!(
        policy.verify_checkpoint(tampered.as_bytes()),
        Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    ));

    // Without the log's line the witness alone is not enough.
    let unsigned = ARCHE_CHECKPOINT.replace(
        "— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n",
        "",
    );
    assert_eq!(
        policy.verify_checkpoint(unsigned.as_bytes()),
        Err(CheckpointError::NoLogSignature)
    );
}

// ---- c2sp.org/tlog-checkpoint and tlog-cosignature examples ----

const SPEC_CHECKPOINT: &str = "example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
";

#[test]
fn spec_checkpoint_example_parses() {
    let note = Note::parse(SPEC_CHECKPOINT.as_bytes()).unwrap();
    let checkpoint = Checkpoint::parse(note.text()).unwrap();
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size, 20_852_163);
    assert_eq!(
        hex::encode(checkpoint.root),
        "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"
    );
    assert_eq!(note.signatures()[0].key_id(), 0x033de0ae);
    assert_eq!(note.signatures()[0].signature().len(), 64);
}

#[test]
fn spec_cosignature_example_message_and_timestamp() {
    let cosigned = format!("{SPEC_CHECKPOINT}— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n");
    let note = Note::parse(cosigned.as_bytes()).unwrap();
    let line = &note.signatures()[1];
    assert_eq!(cosignature_timestamp(line), Ok(1_679_315_147));
    assert_eq!(
        cosignature_message(note.text(), 1_679_315_147),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
}

// ---- c2sp.org/tlog-witness examples ----

#[test]
fn spec_add_checkpoint_request_example_parses_and_round_trips() {
    let body = "old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
";
    let request = AddCheckpointRequest::parse(body.as_bytes()).unwrap();
    assert_eq!(request.old_size(), 20_852_014);
    assert_eq!(request.proof().len(), 4);
    assert_eq!(
        hex::encode(request.proof()[0]),
        "3e544d0abc07a6a846aeea6e7b42fb8316e36cc88a03db5e9afb996430e991ac"
    );
    assert_eq!(request.checkpoint().size, 20_852_163);
    assert_eq!(request.note().signatures().len(), 2);
    assert_eq!(request.encode().unwrap(), body);
    assert_eq!(request.check_stateless_consistency(), Ok(()));
}

#[test]
fn spec_add_checkpoint_response_example_parses() {
    let body = "— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==
— witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64vWhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==
— witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==
";
    let lines = parse_cosignature_lines(body.as_bytes()).unwrap();
    assert_eq!(
        names(&lines),
        [
            "witness.example/w1",
            "witness.example/w1",
            "witness.example/w2"
        ]
    );
    for line in &lines {
        assert_eq!(
            line.signature().len(),
            KeyType::CosignatureV1.signature_len()
        );
    }
    assert_eq!(
        delego_spec::note::format_cosignature_lines(&lines).unwrap(),
        body
    );
}

// ---- c2sp.org/tlog-proof example ----

const SPEC_PROOF_HEAD: &str = "c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

";

#[test]
fn spec_proof_example_with_elided_signatures_is_refused() {
    // The spec elides signatures as "[...]", which is not base64.
    let example = format!("{SPEC_PROOF_HEAD}— example.com/fancylog hI2DJw[...]1roloI=\n— witness1.example mJirIklj[...]qY9v2B/5bg==\n");
    assert_eq!(
        TlogProof::parse(example.as_bytes()),
        Err(delego_spec::note::ProofError::Note(
            NoteError::SignatureBase64
        ))
    );
}

#[test]
fn spec_proof_example_with_real_signatures_parses() {
    let log = SignerKey::new(
        "example.com/fancylog",
        KeyType::Ed25519,
        ed25519_dalek::SigningKey::from_bytes(&[3; 32]),
    )
    .unwrap();
    let text = "example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n";
    let mut note = Note::new(text).unwrap();
    note.sign(&log).unwrap();
    let file = format!("{}{}", SPEC_PROOF_HEAD, &note.signatures()[0].to_line());
    let proof = TlogProof::parse(file.as_bytes()).unwrap();
    assert!(proof
        .extra()
        .unwrap()
        .starts_with(b"age-v1.2.1-darwin-arm64.tar.gz"));
    assert_eq!(proof.index(), 73_894);
    assert_eq!(proof.inclusion_proof().len(), 5);
    assert_eq!(proof.checkpoint().size, 109_482);
    assert_eq!(proof.encode().unwrap(), file);
    let opened = open_checkpoint(
        proof.note().encode().unwrap().as_bytes(),
        &[log.verifier_key()],
    )
    .unwrap();
    assert_eq!(&opened.checkpoint, proof.checkpoint());
}

// ---- c2sp.org/tlog-policy example ----

#[test]
fn spec_policy_example_with_keys_filled_in() {
    let witness = |seed: u8| {
        SignerKey::new(
            &format!("w{seed}.example"),
            KeyType::CosignatureV1,
            ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
        )
        .unwrap()
        .verifier_key()
    };
    let log = SignerKey::new(
        "example.com/log",
        KeyType::Ed25519,
        ed25519_dalek::SigningKey::from_bytes(&[100; 32]),
    )
    .unwrap()
    .verifier_key();
    let policy = format!(
        "log {log}

witness X1 {}
witness X2 {}
witness X3 {}
group X-witnesses 2 X1 X2 X3

witness Y1 {}
witness Y2 {}
witness Y3 {}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
",
        witness(1),
        witness(2),
        witness(3),
        witness(4),
        witness(5),
        witness(6)
    );
    let policy = TrustPolicy::parse(policy.as_bytes()).unwrap();
    assert_eq!(policy.logs().len(), 1);
    assert_eq!(policy.witnesses().len(), 6);
    assert_eq!(policy.groups().len(), 3);
    let set = |names: &[&str]| -> BTreeSet<PolicyName> {
        names.iter().map(|n| PolicyName::from(*n)).collect()
    };
    assert!(policy.quorum_satisfied(&set(&["X1", "X3", "Y2"])));
    assert!(!policy.quorum_satisfied(&set(&["X1", "Y1", "Y2", "Y3"])));
    assert!(!policy.quorum_satisfied(&set(&["X1", "X2", "X3"])));
    // Group names are not witnesses: naming a group proves nothing.
    assert!(!policy.quorum_satisfied(&set(&["X-witnesses", "Y-witnesses", "X-and-Y"])));
}
