//! `delego audit`: the auditor's offline checks of receipt proofs.

use std::fs;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use delego_spec::audit::verify_receipt_proof;
use delego_spec::keys::{verifying_key_from_pem, VerifyingKey};

use crate::exit::Outcome;
use crate::home::Home;
use crate::trust::TrustArgs;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check a receipt's proof of logging (c2sp.org/tlog-proof@v1) offline:
    /// receipt, its signature, inclusion, log signature, witness quorum.
    Verify {
        /// The proof file, as `delego audit prove` writes it.
        file: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
        /// The ledger signer's public key (PEM); default: the home's.
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
    },
}

pub fn run(
    command: &AuditCommand,
    home: impl Fn() -> anyhow::Result<Home>,
) -> anyhow::Result<Outcome> {
    match command {
        AuditCommand::Verify {
            file,
            trust,
            pubkey,
        } => verify(file, trust, pubkey.as_ref(), home),
    }
}

fn receipt_key(
    pubkey: Option<&PathBuf>,
    home: impl Fn() -> anyhow::Result<Home>,
) -> anyhow::Result<VerifyingKey> {
    match pubkey {
        Some(path) => {
            let pem = fs::read_to_string(path)
                .with_context(|| format!("cannot read public key {}", path.display()))?;
            verifying_key_from_pem(&pem).with_context(|| format!("public key {}", path.display()))
        }
        None => home()?
            .verifying_key()
            .context("the ledger's public key is needed to check the receipt's signature: pass --pubkey FILE"),
    }
}

fn verify(
    file: &PathBuf,
    trust: &TrustArgs,
    pubkey: Option<&PathBuf>,
    home: impl Fn() -> anyhow::Result<Home>,
) -> anyhow::Result<Outcome> {
    let policy = trust.policy()?;
    let key = receipt_key(pubkey, home)?;
    let text = fs::read(file).with_context(|| format!("cannot read proof {}", file.display()))?;
    let report = verify_receipt_proof(&text, &policy, &key)
        .with_context(|| format!("{}", file.display()))?;
    for check in &report.checks {
        match &check.result {
            Ok(detail) => println!("ok      {}: {detail}", check.name),
            Err(reason) => println!("FAILED  {}: {reason}", check.name),
        }
    }
    if report.verified() {
        println!(
            "VERIFIED: receipt {} is in the log the witnesses saw (tree size {}).",
            report.index, report.tree_size
        );
        Ok(Outcome::Success)
    } else {
        println!(
            "NOT VERIFIED: receipt proof {} failed the checks above.",
            file.display()
        );
        Ok(Outcome::CheckFailed)
    }
}
