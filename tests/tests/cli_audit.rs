//! The auditor's offline commands over the real binary: `delego audit
//! verify` on receipt proofs and `delego verify --checkpoint` on ledgers,
//! against a checkpoint signed by a log key and cosigned by witnesses (built
//! here with the spec crate, as a log and its witnesses would). Then the
//! attacks: a truncated ledger, a ledger rewritten and re-signed with the
//! stolen ledger key, a proof for another leaf, a cosignature from a key the
//! auditor does not trust, a receipt signed by another key.

use std::path::Path;

use delego_e2e::{read_text, write_file, HomeCli};
use delego_spec::json::parse;
use delego_spec::keys::{signing_key_from_pem, SigningKey};
use delego_spec::merkle::{inclusion_proof, leaf_hash, root, MemoryTree};
use delego_spec::note::{cosign, Checkpoint, KeyType, Note, SignerKey, TlogProof};
use delego_spec::receipt::GENESIS;
use delego_spec::Receipt;

const READ: &str = r#"{"instruction": "Show me my account balance", "method": "GET", "url": "https://api.example.com/accounts/123", "params": {}}"#;
const PERMISSIONS: &str = r#"{"instruction": "Share the account with eve", "method": "POST", "url": "https://api.example.com/accounts/123/permissions", "params": {"grantee": "eve"}}"#;
const ORDER: &str = r#"{"instruction": "Buy the 2400 USD order", "method": "POST", "url": "https://api.example.com/orders", "params": {"amount": 2400, "currency": "USD", "destination": "internal"}}"#;

const ORIGIN: &str = "audit.example/delego-log";

struct Fixture {
    _tmp: tempfile::TempDir,
    home: HomeCli,
    dir: std::path::PathBuf,
    ledger: std::path::PathBuf,
    receipts: Vec<Receipt>,
    log: SignerKey,
    witnesses: Vec<SignerKey>,
}

fn signer(name: &str, kind: KeyType, seed: u8) -> SignerKey {
    SignerKey::new(name, kind, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn receipts_of(ledger_text: &str) -> Vec<Receipt> {
    ledger_text
        .lines()
        .map(|line| Receipt::from_value(&parse(line).unwrap()).unwrap())
        .collect()
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let home = HomeCli::new(tmp.path().join("home"));
    home.init();
    for action in [READ, READ, PERMISSIONS, ORDER, READ] {
        home.propose(action);
    }
    let ledger = tmp.path().join("ledger.jsonl");
    home.export_to(&ledger);
    let receipts = receipts_of(&read_text(&ledger));
    assert_eq!(receipts.len(), 5);
    Fixture {
        dir: tmp.path().to_owned(),
        _tmp: tmp,
        home,
        ledger,
        receipts,
        log: signer(ORIGIN, KeyType::Ed25519, 11),
        witnesses: vec![
            signer("witness.example/a", KeyType::CosignatureV1, 12),
            signer("witness.example/b", KeyType::CosignatureV1, 13),
        ],
    }
}

impl Fixture {
    fn tree(&self) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for receipt in &self.receipts {
            tree.push(leaf_hash(receipt.canonical_json().as_bytes()));
        }
        tree
    }

    /// The checkpoint of the first `size` receipts, cosigned by `cosigners`.
    fn checkpoint(&self, size: u64, cosigners: &[&SignerKey]) -> (Checkpoint, Note) {
        let checkpoint = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: root(size, &self.tree()).unwrap(),
            extensions: vec![],
        };
        let mut note = checkpoint.sign(&self.log).unwrap();
        for witness in cosigners {
            note.add_signature(cosign(&checkpoint, witness, 1_780_000_000).unwrap());
        }
        (checkpoint, note)
    }

    fn write_checkpoint(&self, name: &str, note: &Note) -> std::path::PathBuf {
        let path = self.dir.join(name);
        write_file(&path, note.encode().unwrap());
        path
    }

    /// A proof that carries receipt `carried` and claims leaf `index`.
    fn proof(&self, name: &str, carried: usize, index: u64, note: Note) -> std::path::PathBuf {
        let size = Checkpoint::parse(note.text()).unwrap().size;
        let hashes = inclusion_proof(index, size, &self.tree()).unwrap();
        let leaf = self.receipts[carried].canonical_json().into_bytes();
        let proof = TlogProof::new(Some(leaf), index, hashes, note).unwrap();
        let path = self.dir.join(name);
        write_file(&path, proof.encode().unwrap());
        path
    }

    fn trust(&self) -> Vec<String> {
        let mut args = vec!["--log-key".to_owned(), self.log.verifier_key().to_string()];
        for w in &self.witnesses {
            args.push("--witness-key".into());
            args.push(w.verifier_key().to_string());
        }
        args
    }

    fn pubkey(&self) -> String {
        self.home.dir.join("signing_key.pub").display().to_string()
    }

    fn audit_verify(&self, proof: &Path, extra: &[&str]) -> delego_e2e::Output {
        let mut args = vec![
            "audit".to_owned(),
            "verify".into(),
            proof.display().to_string(),
        ];
        args.extend(self.trust());
        args.extend(["--pubkey".to_owned(), self.pubkey()]);
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        self.home.run(args)
    }

    fn verify_against(&self, ledger: &Path, checkpoint: &Path) -> delego_e2e::Output {
        let mut args = vec![
            "verify".to_owned(),
            "--ledger".into(),
            ledger.display().to_string(),
            "--pubkey".into(),
            self.pubkey(),
            "--checkpoint".into(),
            checkpoint.display().to_string(),
        ];
        args.extend(self.trust());
        self.home.run(args)
    }
}

#[test]
fn a_receipt_proof_verifies_offline_and_every_forgery_fails() {
    let f = fixture();
    let both: Vec<&SignerKey> = f.witnesses.iter().collect();
    let (_, note) = f.checkpoint(5, &both);
    let good = f.proof("good.tlog-proof", 2, 2, note.clone());
    let out = f.audit_verify(&good, &[]);
    assert_eq!(out.code, 0, "{out}");
    for line in [
        "ok      receipt: receipt seq 2 is leaf 2",
        "ok      receipt signature: signed by the ledger key",
        "ok      inclusion: leaf 2 is in the tree of size 5",
        "VERIFIED: receipt 2 is in the log the witnesses saw (tree size 5).",
    ] {
        assert!(out.has_line(line), "missing {line:?}\n{out}");
    }
    assert!(
        out.stdout.contains("quorum met (cosigned by w0, w1)"),
        "{out}"
    );

    // Another leaf's receipt under this index.
    let swapped = f.proof("swapped.tlog-proof", 3, 2, note.clone());
    let out = f.audit_verify(&swapped, &[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout
            .contains("FAILED  receipt: receipt seq 3 is not the proof's leaf index 2"),
        "{out}"
    );
    assert!(out.stdout.contains("FAILED  inclusion"), "{out}");

    // A receipt signed by someone else's key.
    let other = f.dir.join("other.pub");
    write_file(
        &other,
        delego_spec::keys::verifying_key_to_pem(&SigningKey::from_bytes(&[99; 32]).verifying_key()),
    );
    let mut args = vec![
        "audit".to_owned(),
        "verify".into(),
        good.display().to_string(),
    ];
    args.extend(f.trust());
    args.extend(["--pubkey".to_owned(), other.display().to_string()]);
    let out = f.home.run(args);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("FAILED  receipt signature"), "{out}");

    // One trusted witness and one unknown key cosigned: quorum 2 fails,
    // quorum 1 holds.
    let stranger = signer("witness.example/stranger", KeyType::CosignatureV1, 14);
    let (_, partial) = f.checkpoint(5, &[&f.witnesses[0], &stranger]);
    let partial = f.proof("partial.tlog-proof", 2, 2, partial);
    let out = f.audit_verify(&partial, &[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout
            .contains("FAILED  witnesses: quorum not met (cosigned by w0)"),
        "{out}"
    );
    let out = f.audit_verify(&partial, &["--quorum", "1"]);
    assert_eq!(out.code, 0, "{out}");

    // A checkpoint signed by another log key.
    let impostor = signer(ORIGIN, KeyType::Ed25519, 15);
    let checkpoint = Checkpoint::parse(note.text()).unwrap();
    let forged = f.proof(
        "forged.tlog-proof",
        2,
        2,
        checkpoint.sign(&impostor).unwrap(),
    );
    let out = f.audit_verify(&forged, &[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("FAILED  log signature"), "{out}");

    // Unusable input: exit 2, one line, no panic.
    let garbage = f.dir.join("garbage");
    write_file(&garbage, "not a proof\n");
    assert_eq!(f.audit_verify(&garbage, &[]).code, 2);
    let out = f.audit_verify(&good, &["--quorum", "3"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("--quorum must be between 1 and"),
        "{out}"
    );
}

/// Rewrites receipt `seq`'s reasons and re-signs it and every later receipt
/// with the ledger's own (stolen) key, so the chain verifies again.
fn rewrite_and_resign(receipts: &[Receipt], seq: usize, key: &SigningKey) -> String {
    let prev = if seq == 0 {
        GENESIS.to_owned()
    } else {
        receipts[seq - 1].entry_hash.clone()
    };
    let mut rewritten: Vec<_> = receipts[seq..].iter().map(|r| r.payload.clone()).collect();
    rewritten[0].reasons = vec!["nothing to see here".into()];
    receipts[..seq]
        .iter()
        .cloned()
        .chain(delego_spec::chain::sign_chain(
            rewritten, seq as u64, &prev, key,
        ))
        .map(|r| r.to_reference_line() + "\n")
        .collect()
}

#[test]
fn a_ledger_must_match_the_witnessed_checkpoint() {
    let f = fixture();
    let both: Vec<&SignerKey> = f.witnesses.iter().collect();
    let (checkpoint, note) = f.checkpoint(4, &both);
    let cp = f.write_checkpoint("cp4", &note);

    // The ledger grew past the checkpoint: its first 4 receipts match.
    let out = f.verify_against(&f.ledger, &cp);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.has_line("Checkpoint matches: the first 4 receipts are exactly the ones the witnessed tree holds."), "{out}");
    // The home's own store, too.
    let mut args = vec![
        "verify".to_owned(),
        "--checkpoint".into(),
        cp.display().to_string(),
    ];
    args.extend(f.trust());
    assert_eq!(f.home.run(args).code, 0);

    // Truncated: the chain alone still verifies; the checkpoint does not.
    let text = read_text(&f.ledger);
    let truncated = f.dir.join("truncated.jsonl");
    write_file(
        &truncated,
        text.lines()
            .take(3)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    let out = f.verify_against(&truncated, &cp);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("Audit chain OK"), "{out}");
    assert!(out.stdout.contains("CHECKPOINT MISMATCH: the ledger holds 3 receipts but the witnessed checkpoint covers 4"), "{out}");

    // Rewritten and re-signed with the ledger key: chain OK, root differs.
    let key = signing_key_from_pem(&read_text(&f.home.dir.join("signing_key.pem"))).unwrap();
    let rewritten = f.dir.join("rewritten.jsonl");
    write_file(&rewritten, rewrite_and_resign(&f.receipts, 1, &key));
    let out = f.verify_against(&rewritten, &cp);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("Audit chain OK"), "{out}");
    assert!(
        out.stdout
            .contains("CHECKPOINT MISMATCH: the Merkle root of the first 4 receipts differs"),
        "{out}"
    );

    // A published SIZE:ROOT head works as an anchor too.
    use base64::Engine as _;
    let head = format!(
        "{}:{}",
        checkpoint.size,
        base64::engine::general_purpose::STANDARD.encode(checkpoint.root)
    );
    let run = |ledger: &Path| {
        f.home.run([
            "verify".to_owned(),
            "--ledger".into(),
            ledger.display().to_string(),
            "--pubkey".into(),
            f.pubkey(),
            "--expected-head".into(),
            head.clone(),
        ])
    };
    assert_eq!(run(&f.ledger).code, 0);
    assert_eq!(run(&rewritten).code, 1);

    // A checkpoint below the quorum is refused before the ledger is read.
    let (_, lonely) = f.checkpoint(4, &[&f.witnesses[0]]);
    let lonely = f.write_checkpoint("lonely", &lonely);
    let out = f.verify_against(&f.ledger, &lonely);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("CHECKPOINT FAILED"), "{out}");
    // Trust keys without a checkpoint are a usage error.
    let mut args = vec!["verify".to_owned()];
    args.extend(f.trust());
    assert_eq!(f.home.run(args).code, 2);
}
