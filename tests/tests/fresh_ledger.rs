//! Ledgers written with the library and verified by the binary: a fresh
//! 50-receipt chain, tail truncation (invisible without an anchor, caught
//! with one), a re-signed rewrite of the tail, mutations compared against
//! the library's own verdict, and a ledger large enough for the progress bar.

use std::path::{Path, PathBuf};
use std::time::Duration;

use delego_e2e::{write_file, Delego, Output};
use delego_spec::chain::verify_chain;
use delego_spec::json::parse;
use delego_spec::keys::{verifying_key_to_pem, SigningKey};
use delego_spec::receipt::{Outcome, Phase, Receipt, ReceiptPayload, GENESIS};
use delego_spec::ProposedAction;

const OK_LINE: &str = "Audit chain OK: all receipts intact and signed.";

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[42u8; 32])
}

/// A receipt payload for `seq`; `forged` receipts say something else.
fn payload(seq: u64, prev_hash: String, forged: bool) -> ReceiptPayload {
    let (instruction, method, url, params) = match seq % 3 {
        0 => (
            "read my account details",
            "GET",
            "https://api.example.com/accounts/me",
            "{}",
        ),
        1 => (
            "place a small order",
            "POST",
            "https://api.example.com/orders?src=agent",
            r#"{"amount":2400,"currency":"USD","note":"caf\u00e9 \u2028 \ud83d\ude00"}"#,
        ),
        _ => (
            "share the report",
            "POST",
            "https://api.example.com/share",
            r#"{"to":"me"}"#,
        ),
    };
    let action = parse(&format!(
        r#"{{"instruction":"{instruction}","method":"{method}","url":"{url}","params":{params}}}"#
    ))
    .expect("a well-formed action");
    let identity = ProposedAction::from_value(&action)
        .and_then(|a| a.identity().map_err(Into::into))
        .expect("a valid action");
    let (phase, outcome, rule, approval_id) = match (seq % 4, forged) {
        (_, true) => (
            Phase::Execution,
            Outcome::Allow,
            Some("allow-all".to_owned()),
            None,
        ),
        (0, _) => (
            Phase::Decision,
            Outcome::Allow,
            Some("read-accounts".to_owned()),
            None,
        ),
        (1, _) => (
            Phase::Decision,
            Outcome::NeedsApproval,
            Some("orders".to_owned()),
            None,
        ),
        (2, _) => (
            Phase::Execution,
            Outcome::Allow,
            Some("orders".to_owned()),
            Some(format!("apr_{seq:012x}")),
        ),
        _ => (Phase::Decision, Outcome::Deny, None, None),
    };
    ReceiptPayload {
        seq,
        ts: format!(
            "2026-01-01T00:{:02}:{:02}.000000+00:00",
            seq / 60 % 60,
            seq % 60
        ),
        phase,
        outcome,
        rule,
        reasons: vec![
            format!("reason {seq} \u{2014} \u{2713}"),
            "executed via broker".to_owned(),
        ],
        intent_hash: identity.intent_hash,
        action_fingerprint: identity.action_fingerprint,
        action_summary: identity.summary,
        approval_id,
        prev_hash,
    }
}

/// Appends `count` receipts, each linked to the last one.
fn extend(key: &SigningKey, receipts: &mut Vec<Receipt>, count: u64, forged: bool) {
    for _ in 0..count {
        let seq = receipts.len() as u64;
        let prev_hash = receipts
            .last()
            .map_or_else(|| GENESIS.to_owned(), |r| r.entry_hash.clone());
        receipts.push(payload(seq, prev_hash, forged).sign(key));
    }
}

fn ledger_text(receipts: &[Receipt]) -> String {
    receipts
        .iter()
        .map(|r| r.to_reference_line() + "\n")
        .collect()
}

struct Fixture {
    dir: tempfile::TempDir,
    pubkey: PathBuf,
}

impl Fixture {
    fn new(key: &SigningKey) -> Self {
        let dir = tempfile::tempdir().expect("cannot create a temporary directory");
        let pubkey = dir.path().join("signing_key.pub");
        write_file(&pubkey, verifying_key_to_pem(&key.verifying_key()));
        Fixture { dir, pubkey }
    }

    fn ledger(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        write_file(&path, text);
        path
    }

    fn verify(&self, ledger: &Path, anchor: Option<String>) -> Output {
        let mut command = Delego::new()
            .args(["verify", "--ledger"])
            .arg(ledger)
            .arg("--pubkey")
            .arg(&self.pubkey);
        if let Some(anchor) = anchor {
            command = command.arg("--expected-head").arg(anchor);
        }
        command.run()
    }
}

fn head_of(receipts: &[Receipt]) -> String {
    let last = receipts.last().expect("a non-empty chain");
    format!("{}:{}", last.payload.seq, last.entry_hash)
}

fn assert_ok_with_head(out: &Output, head: &str) {
    assert_eq!(out.code, 0, "{out}");
    assert!(out.has_line(OK_LINE), "{out}");
    assert!(out.has_line(&format!("head: {head}")), "{out}");
    assert_eq!(out.stderr, "", "{out}");
}

fn assert_single_problem(out: &Output, problem: &str) {
    assert_eq!(out.code, 1, "{out}");
    assert!(out.has_line("AUDIT CHAIN FAILED:"), "{out}");
    assert_eq!(out.problems(), [problem], "{out}");
}

#[test]
fn fresh_ledger_verifies_and_truncation_is_caught_only_by_the_anchor() {
    let key = signing_key();
    let fixture = Fixture::new(&key);
    let mut full = Vec::new();
    extend(&key, &mut full, 50, false);
    let original_head = head_of(&full);
    let ledger = fixture.ledger("full.jsonl", ledger_text(&full));

    let out = fixture.verify(&ledger, None);
    assert_ok_with_head(&out, &original_head);
    assert!(
        out.stdout.contains("Note: without an external head anchor"),
        "{out}"
    );
    let out = fixture.verify(&ledger, Some(original_head.clone()));
    assert_ok_with_head(&out, &original_head);
    assert!(out.stdout.contains("Head anchor matches"), "{out}");

    // The first 30 receipts, signed again: Ed25519 is deterministic, so they
    // are the same lines, and they form a perfectly valid chain.
    let mut truncated = Vec::new();
    extend(&key, &mut truncated, 30, false);
    assert_eq!(truncated[..], full[..30]);
    let ledger = fixture.ledger("truncated.jsonl", ledger_text(&truncated));
    let out = fixture.verify(&ledger, None);
    assert_ok_with_head(&out, &head_of(&truncated));

    // Only the anchor at the original head shows that receipts are missing.
    let out = fixture.verify(&ledger, Some(original_head.clone()));
    assert_single_problem(
        &out,
        &format!(
            "head mismatch: expected seq 49 ({}\u{2026}), found seq 29 \u{2014} ledger truncated or rolled back",
            &full[49].entry_hash[..12]
        ),
    );
}

#[test]
fn rewritten_tail_is_caught_by_an_anchor_inside_it() {
    let key = signing_key();
    let fixture = Fixture::new(&key);
    let mut full = Vec::new();
    extend(&key, &mut full, 50, false);
    // Whoever holds the key truncates to 30 receipts and writes 20 others.
    let mut rewritten = full[..30].to_vec();
    extend(&key, &mut rewritten, 20, true);
    assert_ne!(rewritten[49].entry_hash, full[49].entry_hash);
    let ledger = fixture.ledger("rewritten.jsonl", ledger_text(&rewritten));

    assert_ok_with_head(&fixture.verify(&ledger, None), &head_of(&rewritten));

    let out = fixture.verify(&ledger, Some(head_of(&full)));
    assert_single_problem(
        &out,
        &format!(
            "head mismatch: expected seq 49 ({}\u{2026}), found seq 49 \u{2014} ledger truncated or rolled back",
            &full[49].entry_hash[..12]
        ),
    );

    let out = fixture.verify(&ledger, Some(head_of(&full[..41])));
    assert_single_problem(
        &out,
        &format!(
            "head mismatch: expected seq 40 ({}\u{2026}), found seq 40 with entry_hash {}\u{2026} \u{2014} ledger rewritten",
            &full[40].entry_hash[..12],
            &rewritten[40].entry_hash[..12]
        ),
    );

    // An anchor taken before the rewritten part cannot see it.
    let out = fixture.verify(&ledger, Some(head_of(&full[..21])));
    assert_ok_with_head(&out, &head_of(&rewritten));
    assert!(out.stdout.contains("receipt 20 is unchanged"), "{out}");
}

#[test]
fn binary_agrees_with_the_library_on_mutated_ledgers() {
    let key = signing_key();
    let other = SigningKey::from_bytes(&[7u8; 32]);
    let fixture = Fixture::new(&key);
    let mut receipts = Vec::new();
    extend(&key, &mut receipts, 50, false);
    let lines: Vec<String> = receipts.iter().map(Receipt::to_reference_line).collect();
    let join = |lines: &[String], ending: &str| -> String {
        lines.iter().map(|l| format!("{l}{ending}")).collect()
    };

    let mut mutations: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut deleted = lines.clone();
    deleted.remove(17);
    mutations.push(("deleted line", join(&deleted, "\n").into_bytes()));
    let mut swapped = lines.clone();
    swapped.swap(10, 11);
    mutations.push(("swapped lines", join(&swapped, "\n").into_bytes()));
    let mut duplicated = lines.clone();
    duplicated.insert(33, lines[33].clone());
    mutations.push(("duplicated line", join(&duplicated, "\n").into_bytes()));
    let mut edited = lines.clone();
    edited[27] = edited[27].replace("\"outcome\": \"deny\"", "\"outcome\": \"allow\"");
    assert_ne!(edited[27], lines[27], "receipt 27 records a deny");
    mutations.push(("edited outcome", join(&edited, "\n").into_bytes()));
    let mut resigned = receipts.clone();
    resigned[12] = resigned[12].payload.clone().sign(&other);
    mutations.push(("other signer", ledger_text(&resigned).into_bytes()));
    let mut garbage = lines.clone();
    garbage.insert(5, "{\"seq\": 5, not json".to_owned());
    mutations.push(("garbage line", join(&garbage, "\n").into_bytes()));
    mutations.push(("crlf", join(&lines, "\r\n").into_bytes()));
    mutations.push(("cr only", join(&lines, "\r").into_bytes()));
    mutations.push(("blank lines", join(&lines, "\n\n  \n").into_bytes()));
    mutations.push((
        "no final newline",
        join(&lines, "\n").trim_end().as_bytes().to_vec(),
    ));
    let mut raw_separator = join(&lines, "\n");
    raw_separator.insert(
        raw_separator.find("reason 3").expect("reason 3") + 6,
        '\u{2028}',
    );
    mutations.push(("raw U+2028", raw_separator.into_bytes()));
    let mut bad_byte = join(&lines, "\n").into_bytes();
    let at = bad_byte.len() / 2;
    bad_byte[at] = 0xff;
    mutations.push(("invalid UTF-8", bad_byte));

    for (name, bytes) in &mutations {
        let ledger = fixture.ledger("mutated.jsonl", bytes);
        let out = fixture.verify(&ledger, None);
        let report = verify_chain(&String::from_utf8_lossy(bytes), &key.verifying_key(), None);
        assert_eq!(out.problems(), report.problems, "{name}\n{out}");
        assert_eq!(
            out.code,
            if report.is_valid() { 0 } else { 1 },
            "{name}\n{out}"
        );
        if let Some(head) = report.head_anchor().filter(|_| report.is_valid()) {
            assert!(out.has_line(&format!("head: {head}")), "{name}\n{out}");
        }
    }
}

#[test]
fn large_ledger_verifies_without_progress_output_on_a_pipe() {
    // Past the 8 MiB progress-bar threshold; stderr is a pipe here, so the
    // bar must stay hidden.
    let key = signing_key();
    let fixture = Fixture::new(&key);
    let mut receipts = Vec::new();
    let mut text = String::new();
    while text.len() <= 9 * 1024 * 1024 {
        let seq = receipts.len() as u64;
        let prev_hash = receipts
            .last()
            .map_or_else(|| GENESIS.to_owned(), |r: &Receipt| r.entry_hash.clone());
        let mut payload = payload(seq, prev_hash, false);
        payload.reasons.push("x".repeat(1500));
        let receipt = payload.sign(&key);
        text.push_str(&receipt.to_reference_line());
        text.push('\n');
        receipts.push(receipt);
    }
    let ledger = fixture.ledger("large.jsonl", &text);
    let out = Delego::new()
        .args(["verify", "--ledger"])
        .arg(&ledger)
        .arg("--pubkey")
        .arg(&fixture.pubkey)
        .timeout(Duration::from_secs(120))
        .run();
    assert_ok_with_head(&out, &head_of(&receipts));
    assert_eq!(out.stderr, "", "no progress bar on a pipe");
}
