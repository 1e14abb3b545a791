//! The trust keys an auditor supplies: a log key, witness keys and a quorum,
//! or a tlog-policy file. Shared by `audit verify`, `audit consistency` and
//! `verify --checkpoint`.

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::Args;
use delego_spec::audit::trust_policy_from_keys;
use delego_spec::note::TrustPolicy;

#[derive(Args, Clone, Default)]
pub struct TrustArgs {
    /// The log's checkpoint verifier key (C2SP note key `name+id+base64`).
    #[arg(long, value_name = "VKEY", conflicts_with = "policy")]
    pub log_key: Option<String>,
    /// A witness's cosignature verifier key; repeat for each witness.
    #[arg(long = "witness-key", value_name = "VKEY", requires = "log_key")]
    pub witness_keys: Vec<String>,
    /// How many of the witness keys must have cosigned (default: all).
    #[arg(long, value_name = "K", requires = "log_key")]
    pub quorum: Option<usize>,
    /// A tlog-policy file (log, witness, group and quorum lines) instead.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

impl TrustArgs {
    pub fn is_given(&self) -> bool {
        self.log_key.is_some() || self.policy.is_some()
    }

    /// The trust policy these arguments describe.
    pub fn policy(&self) -> anyhow::Result<TrustPolicy> {
        match (&self.log_key, &self.policy) {
            (Some(log_key), None) => Ok(trust_policy_from_keys(
                log_key,
                &self.witness_keys,
                self.quorum,
            )?),
            (None, Some(path)) => {
                let bytes = fs::read(path)
                    .with_context(|| format!("cannot read trust policy {}", path.display()))?;
                TrustPolicy::parse(&bytes)
                    .with_context(|| format!("trust policy {}", path.display()))
            }
            _ => bail!("give the trust keys: --log-key VKEY [--witness-key VKEY]... [--quorum K], or --policy FILE"),
        }
    }
}

/// Verifies the checkpoint note in `path` against `policy`: the log's
/// signature and the witness quorum. Prints the verified line; a failed
/// check is `Ok(Err(reason))`, an unreadable file an error.
pub fn check_checkpoint_file(
    policy: &TrustPolicy,
    path: &std::path::Path,
) -> anyhow::Result<Result<delego_spec::note::Checkpoint, String>> {
    let bytes =
        fs::read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    Ok(match policy.verify_checkpoint(&bytes) {
        Err(e) => Err(format!("checkpoint {}: {e}", path.display())),
        Ok(verdict) => match delego_spec::audit::quorum_result(&verdict) {
            Ok(line) => {
                println!(
                    "checkpoint: {} size {} — log signature ok, {line}",
                    verdict.checkpoint.origin, verdict.checkpoint.size
                );
                Ok(verdict.checkpoint)
            }
            Err(line) => Err(format!("checkpoint {}: {line}", path.display())),
        },
    })
}
