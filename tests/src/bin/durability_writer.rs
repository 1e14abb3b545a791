//! Test support for the `kill -9` durability test: proposes actions from
//! several threads into a RocksDB ledger for ever, printing one line per
//! acknowledged decision (`ack <seq> <action_fingerprint>`) only after the
//! firewall returned it, i.e. after its receipt was synced. The test kills
//! this process with SIGKILL and checks every printed line against the store.
//!
//! Usage: durability_writer STORE_DIR THREADS

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use delego_firewall::engine::{EngineParts, Firewall};
use delego_firewall::policy_file::load_policy;
use delego_firewall::store::RocksStore;
use delego_spec::json::parse;
use delego_spec::keys::SigningKey;
use delego_spec::ProposedAction;

/// The ledger key the test verifies with.
pub const KEY_SEED: [u8; 32] = [7; 32];

const POLICY: &str = include_str!("../../../spec/tests/vectors/ctk/policy.example.yaml");

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .context("usage: durability_writer STORE_DIR THREADS")?,
    );
    let threads: usize = args.next().context("THREADS missing")?.parse()?;
    let store = Arc::new(RocksStore::open(&dir)?);
    let parts = EngineParts::local(SigningKey::from_bytes(&KEY_SEED));
    let firewall = Arc::new(Firewall::start(
        store,
        load_policy(POLICY, "example")?,
        parts,
    )?);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let firewall = firewall.clone();
            std::thread::spawn(move || -> anyhow::Result<()> {
                for n in 0u64.. {
                    // Allowed reads, denied writes and parked orders, mixed.
                    let text = match n % 3 {
                        0 => format!(r#"{{"instruction":"read","method":"GET","url":"https://api.example.com/accounts/{t}-{n}","params":{{}}}}"#),
                        1 => format!(r#"{{"instruction":"share","method":"POST","url":"https://api.example.com/accounts/me/permissions","params":{{"n":{n},"t":{t}}}}}"#),
                        _ => format!(r#"{{"instruction":"order","method":"POST","url":"https://api.example.com/orders","params":{{"amount":"2400","currency":"USD","destination":"internal","n":{n},"t":{t}}}}}"#),
                    };
                    let action = ProposedAction::from_value(&parse(&text)?)?;
                    let decision = firewall.propose(action)?;
                    let seq = decision.receipt_seq.context("every proposal writes a receipt")?;
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {seq} {}", decision.action_fingerprint)?;
                    out.flush()?;
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("a worker panicked"))??;
    }
    Ok(())
}
