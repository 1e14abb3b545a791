//! `delego audit`: proofs that receipts are in the witnessed log — writing
//! them (`prove`, from the home's embedded log or a log's HTTP API),
//! checking them offline (`verify`), checking that a newer checkpoint
//! extends an older one (`consistency`), and printing the log's key.

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
    /// Write the c2sp.org/tlog-proof@v1 proof of receipt SEQ: the receipt,
    /// its inclusion proof and the newest witnessed checkpoint.
    Prove {
        seq: u64,
        /// Write the proof here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Ask this log's HTTP API (e.g. http://127.0.0.1:7300/log for a
        /// running `delego serve`, or a `delego log-server`) instead of
        /// opening the home's store.
        #[arg(long, value_name = "URL")]
        log: Option<String>,
    },
    /// Check that checkpoint NEW extends checkpoint OLD (same log, no
    /// receipt of OLD's tree removed or changed).
    Consistency {
        old: PathBuf,
        new: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
        /// Fetch the consistency proof from this log's HTTP API instead of
        /// the home's store.
        #[arg(long, value_name = "URL", conflicts_with = "proof")]
        log: Option<String>,
        /// The consistency proof as `GET /v1/proof/consistency` returns it.
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
    },
    /// Print the home's log verifier key (creating the log key if needed):
    /// what witnesses add with `delego witness add-log` and auditors pass
    /// as --log-key.
    LogKey,
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
        AuditCommand::Prove { seq, out, log } => {
            crate::audit_prove::prove(*seq, out.as_ref(), log.as_deref(), home)
        }
        AuditCommand::Consistency {
            old,
            new,
            trust,
            log,
            proof,
        } => crate::audit_prove::consistency(old, new, trust, log.as_deref(), proof.as_ref(), home),
        AuditCommand::LogKey => {
            let home = home()?;
            match crate::tlog::LogMode::load(&home)? {
                crate::tlog::LogMode::Embedded(settings) => {
                    println!("{}", settings.config.key.verifier_key());
                    Ok(Outcome::Success)
                }
                crate::tlog::LogMode::Standalone(log) => anyhow::bail!(
                    "this home logs to the standalone log at {}; its key is the one `delego log-server` printed",
                    log.url
                ),
            }
        }
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
