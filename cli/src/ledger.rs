//! `delego export` and `delego import`: the ledger in the reference's JSONL
//! format, out of and into the store.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use delego_firewall::approval::ApprovalRecord;
use delego_firewall::store::{Batch, LedgerStore};
use delego_spec::chain::ChainVerifier;
use delego_spec::json::parse;
use delego_spec::keys::{signing_key_from_pem, verifying_key_from_pem};
use delego_spec::text::python_splitlines;
use delego_spec::Receipt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::exit::Outcome;
use crate::home::Home;

const CHUNK: usize = 10_000;

fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = if total >= 50_000 {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} ({{eta}})"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

pub fn export(home: &Home, out: Option<&Path>) -> anyhow::Result<Outcome> {
    let store = home.open_store()?;
    let total = store.head()?.map_or(0, |h| h.seq + 1);
    let mut writer: Box<dyn Write> = match out {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let bar = if out.is_some() {
        progress(total, "exporting")
    } else {
        ProgressBar::hidden()
    };
    let mut next = 0;
    while next < total {
        let receipts = store.receipts(next, CHUNK)?;
        if receipts.is_empty() {
            break;
        }
        for receipt in &receipts {
            writeln!(writer, "{}", receipt.to_reference_line())
                .context("cannot write the export")?;
        }
        next += receipts.len() as u64;
        bar.set_position(next);
    }
    writer.flush().context("cannot write the export")?;
    bar.finish_and_clear();
    Ok(Outcome::Success)
}

/// The reference's approval file: one JSON record per line, the last record
/// of an id wins.
fn read_approvals(path: &Path) -> anyhow::Result<Vec<ApprovalRecord>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut latest: HashMap<String, ApprovalRecord> = HashMap::new();
    let mut order = Vec::new();
    for (n, line) in python_splitlines(&text).enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value = parse(line)
            .map_err(|e| anyhow::anyhow!("{} line {}: not JSON: {e}", path.display(), n + 1))?;
        let record = ApprovalRecord::from_value(&value).with_context(|| {
            format!("{} line {}: not an approval record", path.display(), n + 1)
        })?;
        if !latest.contains_key(&record.id) {
            order.push(record.id.clone());
        }
        latest.insert(record.id.clone(), record);
    }
    Ok(order
        .into_iter()
        .filter_map(|id| latest.remove(&id))
        .collect())
}

fn same_file_contents(a: &Path, b: &Path) -> bool {
    matches!((fs::read(a), fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

pub fn import(home: &Home, from: &Path) -> anyhow::Result<Outcome> {
    let source = |name: &str| -> PathBuf { from.join(name) };
    let public_pem = fs::read_to_string(source("signing_key.pub"))
        .with_context(|| format!("cannot read {}", source("signing_key.pub").display()))?;
    let public = verifying_key_from_pem(&public_pem).context("signing_key.pub")?;
    let private_pem = fs::read_to_string(source("signing_key.pem"))
        .with_context(|| format!("cannot read {}", source("signing_key.pem").display()))?;
    let private = signing_key_from_pem(&private_pem).context("signing_key.pem")?;
    if private.verifying_key() != public {
        bail!(
            "{}: signing_key.pem and signing_key.pub are not a key pair",
            from.display()
        );
    }

    // Re-verify the whole chain before anything is written.
    let ledger_path = source("audit.log.jsonl");
    let ledger = if ledger_path.exists() {
        fs::read_to_string(&ledger_path)
            .with_context(|| format!("cannot read {}", ledger_path.display()))?
    } else {
        String::new()
    };
    let mut verifier = ChainVerifier::new(&public, None);
    verifier.push_text(&ledger);
    let report = verifier.finish();
    if !report.is_valid() {
        println!(
            "IMPORT REFUSED: the ledger at {} does not verify:",
            ledger_path.display()
        );
        for problem in &report.problems {
            println!("  - {problem}");
        }
        return Ok(Outcome::CheckFailed);
    }
    let mut receipts = Vec::with_capacity(report.seqs.len());
    for line in python_splitlines(&ledger).filter(|l| !l.trim().is_empty()) {
        let value = parse(line).map_err(|e| anyhow::anyhow!("ledger line is not JSON: {e}"))?;
        receipts.push(Receipt::from_value(&value).context("ledger receipt")?);
    }
    let approvals = read_approvals(&source("approvals.jsonl"))?;

    // The home: adopt the imported keys and policy, never overwrite others.
    fs::create_dir_all(&home.dir)
        .with_context(|| format!("cannot create {}", home.dir.display()))?;
    home.ensure_gitignore()?;
    for (name, target) in [
        ("signing_key.pem", home.private_key()),
        ("signing_key.pub", home.public_key()),
        ("token_key.pem", home.token_private_key()),
        ("token_key.pub", home.token_public_key()),
        ("policy.yaml", home.policy()),
    ] {
        let from_file = source(name);
        if !from_file.exists() {
            continue;
        }
        if target.exists() {
            if !same_file_contents(&from_file, &target) {
                bail!(
                    "{} already exists and differs from {}; import into a fresh home",
                    target.display(),
                    from_file.display()
                );
            }
            continue;
        }
        let contents = fs::read_to_string(&from_file)
            .with_context(|| format!("cannot read {}", from_file.display()))?;
        if name.ends_with(".pem") {
            crate::home::write_private(&target, &contents)?;
        } else {
            fs::write(&target, contents)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
    }
    if home.policy().exists() {
        home.load_policy()
            .context("the imported policy does not load")?;
    }

    let store = home.open_store()?;
    if store.head()?.is_some() {
        bail!(
            "the store at {} already holds receipts; import into a fresh home",
            home.store_dir().display()
        );
    }
    let bar = progress(receipts.len() as u64, "importing");
    let (count, approval_count) = (receipts.len(), approvals.len());
    store.commit(&Batch {
        receipts,
        approvals,
        ..Batch::default()
    })?;
    bar.finish_and_clear();
    println!(
        "Imported {count} receipts and {approval_count} approvals from {} into {}",
        from.display(),
        home.dir.display()
    );
    if let Some(head) = store.head()? {
        println!("head: {}:{}", head.seq, head.entry_hash);
    }
    Ok(Outcome::Success)
}
