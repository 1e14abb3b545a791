//! `delego verify`: walks a ledger with only the public key, optionally
//! against a head anchor — a reference-format JSONL file (`--ledger`), or the
//! home's own store. Output and exit codes follow the reference's `delego
//! verify`.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::Args;
use delego_spec::chain::{AnchorStatus, ChainVerifier, HeadAnchor};
use delego_spec::keys::verifying_key_from_pem;
use indicatif::{ProgressBar, ProgressStyle};

use delego_spec::audit::CheckpointMatcher;
use delego_spec::note::Checkpoint;
use delego_spec::Receipt;

use crate::exit::Outcome;
use crate::home::Home;
use crate::trust::TrustArgs;

/// Ledgers larger than this show a progress bar (on a terminal).
const PROGRESS_THRESHOLD_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Args)]
pub struct VerifyArgs {
    /// A ledger file (one receipt per line, as the reference writes
    /// audit.log.jsonl); without it, the home's own ledger is verified.
    #[arg(long, value_name = "FILE", requires = "pubkey")]
    ledger: Option<PathBuf>,
    /// The ledger signer's Ed25519 public key (SubjectPublicKeyInfo PEM);
    /// defaults to the home's signing_key.pub.
    #[arg(long, value_name = "FILE")]
    pubkey: Option<PathBuf>,
    /// External head anchor to check the chain against (spec §8.3): a
    /// receipt's `SEQ:ENTRY_HASH`, or a published checkpoint's
    /// `SIZE:ROOT` (the root in base64, as the checkpoint prints it).
    #[arg(
        long,
        value_name = "SEQ:ENTRY_HASH|SIZE:ROOT",
        conflicts_with = "anchor_file"
    )]
    expected_head: Option<String>,
    /// Head-anchor file: checked if present, advanced after a clean verify.
    #[arg(long, value_name = "FILE")]
    anchor_file: Option<PathBuf>,
    /// A witnessed checkpoint (signed note): the Merkle root of the ledger's
    /// first SIZE receipts must equal its root. Needs the trust keys.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
}

/// A published tree head `SIZE:ROOT` (base64 root), when `text` is one.
fn tree_head(text: &str) -> Option<Checkpoint> {
    use base64::Engine as _;
    let (size, root) = text.split_once(':')?;
    let size = size.parse().ok()?;
    let root = base64::engine::general_purpose::STANDARD
        .decode(root)
        .ok()?;
    Some(Checkpoint {
        origin: String::new(),
        size,
        root: root.try_into().ok()?,
        extensions: Vec::new(),
    })
}

/// The checkpoint the ledger must match, verified against the trust keys.
/// `Ok(Err(reason))` when it does not verify (a failed check, not bad input).
fn witnessed_checkpoint(args: &VerifyArgs) -> anyhow::Result<Option<Result<Checkpoint, String>>> {
    let Some(path) = &args.checkpoint else {
        if args.trust.is_given() {
            bail!("trust keys need a checkpoint to check: add --checkpoint FILE");
        }
        return Ok(None);
    };
    let policy = args.trust.policy()?;
    Ok(Some(crate::trust::check_checkpoint_file(&policy, path)?))
}

pub fn run(args: &VerifyArgs, home: &Home) -> anyhow::Result<Outcome> {
    let key = match &args.pubkey {
        Some(path) => {
            let pem = fs::read_to_string(path)
                .with_context(|| format!("cannot read public key {}", path.display()))?;
            verifying_key_from_pem(&pem)
                .with_context(|| format!("public key {}", path.display()))?
        }
        None => home.verifying_key()?,
    };

    let mut pinned = match witnessed_checkpoint(args)? {
        None => None,
        Some(Ok(checkpoint)) => Some(checkpoint),
        Some(Err(reason)) => {
            println!("CHECKPOINT FAILED: {reason}");
            return Ok(Outcome::CheckFailed);
        }
    };
    let anchor = match (&args.expected_head, &args.anchor_file) {
        // A base64 root (44 characters) cannot be a 64-hex entry hash.
        (Some(text), _) => match (tree_head(text), text.parse::<HeadAnchor>()) {
            (Some(head), _) if pinned.is_none() => {
                pinned = Some(head);
                None
            }
            (Some(_), _) => {
                bail!("--expected-head SIZE:ROOT and --checkpoint both pin the tree; give one")
            }
            (None, Ok(anchor)) => Some(anchor),
            (None, Err(e)) => bail!("invalid value for --expected-head: {e}"),
        },
        (None, Some(path)) if path.exists() => {
            let text = fs::read_to_string(path)
                .with_context(|| format!("cannot read anchor file {}", path.display()))?;
            match text.parse::<HeadAnchor>() {
                Ok(anchor) => Some(anchor),
                Err(e) => bail!("anchor file {} does not hold a head: {e}", path.display()),
            }
        }
        _ => None,
    };

    let mut verifier = ChainVerifier::new(&key, anchor.clone());
    let mut matcher = pinned.as_ref().map(CheckpointMatcher::new);
    match &args.ledger {
        Some(ledger) => {
            println!("ledger: {}", ledger.display());
            walk_file(ledger, &mut verifier, matcher.as_mut())?;
        }
        None => {
            println!("home: {}", home.dir.display());
            walk_store(home, &mut verifier, matcher.as_mut())?;
        }
    }
    let outcome = report(
        verifier,
        anchor.as_ref(),
        args.anchor_file.as_deref(),
        pinned.is_some(),
    )?;
    let Some(matcher) = matcher else {
        return Ok(outcome);
    };
    let size = pinned.map_or(0, |p| p.size);
    match matcher.finish() {
        Ok(()) => {
            println!(
                "Checkpoint matches: the first {size} receipts are exactly the ones the witnessed tree holds."
            );
            Ok(outcome)
        }
        Err(mismatch) => {
            println!("CHECKPOINT MISMATCH: {mismatch}");
            Ok(Outcome::CheckFailed)
        }
    }
}

/// A ledger line's transparency-log leaf: its receipt's canonical JSON (a
/// line that is no receipt is hashed as it is, and so cannot match).
fn leaf_of_line(line: &str) -> Vec<u8> {
    delego_spec::json::parse(line.trim_end_matches(['\n', '\r']))
        .ok()
        .and_then(|value| Receipt::from_value(&value).ok())
        .map_or_else(
            || line.as_bytes().to_vec(),
            |r| r.canonical_json().into_bytes(),
        )
}

/// Feeds the home's receipts, as reference lines, to the verifier.
fn walk_store(
    home: &Home,
    verifier: &mut ChainVerifier<'_>,
    mut matcher: Option<&mut CheckpointMatcher>,
) -> anyhow::Result<()> {
    let store = home.open_store()?;
    delego_firewall::store::for_each_receipt(store.as_ref(), |receipt| {
        verifier.push_line(&receipt.to_reference_line());
        if let Some(matcher) = matcher.as_deref_mut() {
            matcher.push_leaf(receipt.canonical_json().as_bytes());
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(())
}

fn walk_file(
    ledger: &Path,
    verifier: &mut ChainVerifier<'_>,
    mut matcher: Option<&mut CheckpointMatcher>,
) -> anyhow::Result<()> {
    let file =
        File::open(ledger).with_context(|| format!("cannot read ledger {}", ledger.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = if size >= PROGRESS_THRESHOLD_BYTES {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template("verifying {bar:40} {bytes}/{total_bytes} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read ledger {}", ledger.display()))?;
        if read == 0 {
            break;
        }
        progress.inc(read as u64);
        // Each block ends at '\n', so no line is split across blocks. Invalid
        // UTF-8 becomes U+FFFD, so the damaged receipt is reported (the
        // reference would abort the whole walk instead).
        let text = String::from_utf8_lossy(&line);
        if let Some(matcher) = matcher.as_deref_mut() {
            if !text.trim().is_empty() {
                matcher.push_leaf(&leaf_of_line(&text));
            }
        }
        verifier.push_text(&text);
    }
    progress.finish_and_clear();
    Ok(())
}

fn report(
    verifier: ChainVerifier<'_>,
    anchor: Option<&HeadAnchor>,
    anchor_file: Option<&Path>,
    tree_pinned: bool,
) -> anyhow::Result<Outcome> {
    let report = verifier.finish();

    if !report.is_valid() {
        println!("AUDIT CHAIN FAILED:");
        for problem in &report.problems {
            println!("  - {problem}");
        }
        return Ok(Outcome::CheckFailed);
    }
    println!("Audit chain OK: all receipts intact and signed.");
    let head = report.head_anchor();
    if let Some(head) = &head {
        println!("head: {head}");
    }
    match (&report.anchor, anchor) {
        (AnchorStatus::MatchesHead, _) => {
            println!("Head anchor matches: no truncation/rollback against the anchor.")
        }
        (AnchorStatus::MatchesAncestor, Some(anchor)) => println!(
            "Head anchor matches: receipt {} is unchanged and the ledger has grown past it \
             (no truncation/rollback against the anchor).",
            anchor.seq
        ),
        _ => {}
    }
    match (anchor_file, &head) {
        (Some(path), Some(head)) => {
            fs::write(path, format!("{head}\n"))
                .with_context(|| format!("cannot write anchor file {}", path.display()))?;
            println!("Anchor updated: {}", path.display());
        }
        _ if anchor.is_none() && !tree_pinned => println!(
            "Note: without an external head anchor, truncation of the most recent receipts \
             cannot be ruled out. Persist the head printed above outside this machine and \
             verify with --expected-head or --anchor-file."
        ),
        _ => {}
    }
    Ok(Outcome::Success)
}
