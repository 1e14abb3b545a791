//! `delego audit prove` and `delego audit consistency`: getting proofs from
//! the log — the home's embedded log (opening the store, so only when no
//! `delego serve` holds it) or any delego log's HTTP API — and, for
//! consistency, checking them. Proof construction is the log crate's and
//! verification the spec crate's; this module only fetches and reports.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use base64::Engine as _;
use delego_log::LogError;
use delego_spec::json::{parse, Value};
use delego_spec::merkle::{verify_consistency, Hash};

use crate::exit::Outcome;
use crate::home::Home;
use crate::tlog::{self, LogMode};
use crate::trust::{check_checkpoint_file, TrustArgs};

/// A GET against a log's HTTP API: the status and the body.
fn get(base: &str, path_and_query: &str) -> anyhow::Result<(u16, String)> {
    let url = format!("{}{path_and_query}", base.trim_end_matches('/'));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .context("cannot build the HTTP client")?;
    let response = client
        .get(&url)
        .send()
        .with_context(|| format!("cannot reach the log at {url}"))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .with_context(|| format!("cannot read the answer of {url}"))?;
    Ok((status, body))
}

/// The `error` member of a JSON error body, or the body itself.
fn error_message(body: &str) -> String {
    parse(body)
        .ok()
        .and_then(|v| {
            v.as_object()
                .and_then(|m| m.get("error"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.trim().to_owned())
}

/// Where the home's log answers: its embedded log, opened over the store,
/// or the URL of the standalone log it appends to.
enum HomeLog {
    Embedded(delego_log::Log),
    Remote(String),
}

fn home_log(home: &Home) -> anyhow::Result<HomeLog> {
    Ok(match LogMode::load(home)? {
        LogMode::Standalone(log) => HomeLog::Remote(log.url),
        LogMode::Embedded(settings) => {
            let store = home.open_store()?;
            HomeLog::Embedded(tlog::open(&store, settings.config)?)
        }
    })
}

pub fn prove(
    seq: u64,
    out: Option<&PathBuf>,
    log_url: Option<&str>,
    home: impl Fn() -> anyhow::Result<Home>,
) -> anyhow::Result<Outcome> {
    let remote = match log_url {
        Some(url) => Some(url.to_owned()),
        None => match home_log(&home()?)? {
            HomeLog::Remote(url) => Some(url),
            HomeLog::Embedded(log) => match log.tlog_proof(seq) {
                Ok(text) => return write_proof(seq, &text, out),
                Err(e @ LogError::NotWitnessedYet { .. }) => {
                    println!(
                        "not yet provable: {e} (a running `delego serve` integrates receipts and gathers cosignatures)"
                    );
                    return Ok(Outcome::CheckFailed);
                }
                Err(LogError::IndexOutOfRange { index, .. }) => {
                    bail!("there is no receipt {index} in the ledger")
                }
                Err(e) => return Err(e.into()),
            },
        },
    };
    let url = remote.unwrap_or_default();
    let proof = match get(&url, &format!("/v1/proof/tlog?index={seq}"))? {
        (200, body) => body,
        (503, body) => {
            println!("not yet provable: {}", error_message(&body));
            return Ok(Outcome::CheckFailed);
        }
        (status, body) => bail!("the log answered {status}: {}", error_message(&body)),
    };
    write_proof(seq, &proof, out)
}

fn write_proof(seq: u64, proof: &str, out: Option<&PathBuf>) -> anyhow::Result<Outcome> {
    match out {
        Some(path) => {
            fs::write(path, proof).with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote the proof of receipt {seq} to {}", path.display());
        }
        None => print!("{proof}"),
    }
    Ok(Outcome::Success)
}

/// Base64 hashes from a JSON consistency answer's `proof` member.
fn proof_hashes(body: &str) -> anyhow::Result<Vec<Hash>> {
    let value = parse(body).context("the consistency proof is not JSON")?;
    let list = value
        .as_object()
        .and_then(|m| m.get("proof"))
        .and_then(Value::as_array)
        .context("the consistency proof has no \"proof\" list")?;
    list.iter()
        .map(|item| {
            let text = item.as_str().context("a proof hash is not a string")?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .context("a proof hash is not base64")?;
            Hash::try_from(bytes.as_slice()).context("a proof hash is not 32 bytes")
        })
        .collect()
}

fn fetch_consistency(
    old: u64,
    new: u64,
    log_url: Option<&str>,
    proof_file: Option<&PathBuf>,
    home: impl Fn() -> anyhow::Result<Home>,
) -> anyhow::Result<Vec<Hash>> {
    if let Some(path) = proof_file {
        let body =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        return proof_hashes(&body).with_context(|| format!("{}", path.display()));
    }
    if let Some(url) = log_url {
        return match get(url, &format!("/v1/proof/consistency?old={old}&new={new}"))? {
            (200, body) => proof_hashes(&body),
            (status, body) => bail!("the log answered {status}: {}", error_message(&body)),
        };
    }
    match home_log(&home()?)? {
        HomeLog::Embedded(log) => Ok(log.consistency_proof(old, new)?),
        HomeLog::Remote(url) => fetch_consistency(old, new, Some(&url), None, home),
    }
}

pub fn consistency(
    old_path: &Path,
    new_path: &Path,
    trust: &TrustArgs,
    log_url: Option<&str>,
    proof_file: Option<&PathBuf>,
    home: impl Fn() -> anyhow::Result<Home>,
) -> anyhow::Result<Outcome> {
    let policy = trust.policy()?;
    let checked = (
        check_checkpoint_file(&policy, old_path)?,
        check_checkpoint_file(&policy, new_path)?,
    );
    let (old, new) = match checked {
        (Ok(old), Ok(new)) => (old, new),
        (old, new) => {
            for reason in [old.err(), new.err()].into_iter().flatten() {
                println!("FAILED  {reason}");
            }
            println!("NOT CONSISTENT: a checkpoint did not verify.");
            return Ok(Outcome::CheckFailed);
        }
    };
    let verdict = if old.origin != new.origin {
        Err(format!(
            "the checkpoints are of different logs ({:?} and {:?})",
            old.origin, new.origin
        ))
    } else if old.size > new.size {
        Err(format!(
            "NEW (size {}) is smaller than OLD (size {}): a rollback, or the files are swapped",
            new.size, old.size
        ))
    } else if old.size == new.size {
        if old.root == new.root {
            Ok("the same tree".to_owned())
        } else {
            Err(format!(
                "two different trees of size {}: the log forked",
                old.size
            ))
        }
    } else if old.size == 0 {
        Ok("the old tree is empty".to_owned())
    } else {
        let proof = fetch_consistency(old.size, new.size, log_url, proof_file, home)?;
        verify_consistency(old.size, new.size, &proof, &old.root, &new.root)
            .map(|()| format!("consistency proof of {} hashes verified", proof.len()))
            .map_err(|e| format!("the consistency proof does not verify: {e}"))
    };
    match verdict {
        Ok(detail) => {
            println!(
                "CONSISTENT: size {} extends size {} of {} ({detail}).",
                new.size, old.size, new.origin
            );
            Ok(Outcome::Success)
        }
        Err(reason) => {
            println!("NOT CONSISTENT: {reason}");
            Ok(Outcome::CheckFailed)
        }
    }
}
