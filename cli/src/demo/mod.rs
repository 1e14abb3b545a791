//! `delego demo`: the whole story in one command, on loopback, in a
//! temporary home that is removed afterwards. It starts two witness
//! processes and `delego serve` (the firewall with its embedded log), then
//! shows: an allowed read, a forbidden deny, an over-cap deny, an action
//! parked, approved, executed once and refused on replay, a substituted
//! action refused under someone else's approval, a checkpoint cosigned by
//! both witnesses, an offline `audit prove`/`audit verify`, and an attacker
//! who truncates the ledger and re-signs it being caught by `verify
//! --checkpoint`. Every step checks its outcome; the demo exits 1 if any
//! step did not go as the story says.
//!
//! It only drives the product through its own CLI and HTTP API, as a user
//! would; it owns no firewall logic.

mod stage;

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use delego_spec::json::Value;

use crate::exit::Outcome;
use stage::{file, path, reasons, run, run_status, start, text, Api};

const READ: &str = r#"{"instruction":"Check my account balance","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#;
const SHARE: &str = r#"{"instruction":"Check my account balance","method":"POST","url":"https://api.example.com/accounts/me/permissions","params":{"grant":"admin","to":"attacker@evil.example"}}"#;
const BIG_ORDER: &str = r#"{"instruction":"Order 90 units of item 42","method":"POST","url":"https://api.example.com/orders","params":{"amount":9000,"currency":"USD","destination":"internal"}}"#;
const ORDER: &str = r#"{"instruction":"Order 24 units of item 42","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal"}}"#;
const SWAPPED: &str = r#"{"instruction":"Order 24 units of item 42","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal","ship_to":"attacker"}}"#;

/// Terminal styling, off when stdout is not a terminal or NO_COLOR is set.
struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn chapter(&self, n: usize, title: &str) {
        println!("\n{}", self.paint("1;36", &format!("{n}. {title}")));
    }

    fn note(&self, text: &str) {
        println!("   {}", self.paint("2", text));
    }

    fn command(&self, text: &str) {
        println!("   {} {}", self.paint("2", "$"), self.paint("1", text));
    }
}

/// Counts the steps that went as the story says.
struct Checks {
    style: Style,
    failed: usize,
}

impl Checks {
    fn expect(&mut self, ok: bool, good: &str, bad: &str) {
        if ok {
            println!("   {} {good}", self.style.paint("1;32", "✔"));
        } else {
            self.failed += 1;
            println!("   {} {bad}", self.style.paint("1;31", "✘ unexpected:"));
        }
    }

    /// Shows a decision and checks its outcome.
    fn decision(&mut self, answer: &(u16, Value), outcome: &str, what: &str) {
        let (status, value) = answer;
        let got = text(value, "outcome");
        let colour = match got {
            "allow" => "1;32",
            "deny" => "1;31",
            _ => "1;33",
        };
        println!(
            "   → {} {}",
            self.style
                .paint(colour, if got.is_empty() { "error" } else { got }),
            self.style.paint("2", &reasons(value))
        );
        if got.is_empty() {
            println!("     ({status}: {})", text(value, "error"));
        }
        self.expect(
            *status == 200 && got == outcome,
            what,
            &format!("expected {outcome}"),
        );
    }
}

pub fn run_demo() -> anyhow::Result<Outcome> {
    let style = Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    println!(
        "{}",
        style.paint(
            "1",
            "delego demo — an authorization firewall for AI agents, with a witnessed log"
        )
    );
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mut checks = Checks { style, failed: 0 };
    let result = story(dir.path(), &mut checks);
    let style = &checks.style;
    match result {
        Err(e) => {
            println!("\n{} {e:#}", style.paint("1;31", "The demo stopped:"));
            return Ok(Outcome::CheckFailed);
        }
        Ok(()) if checks.failed > 0 => {
            println!(
                "\n{}",
                style.paint(
                    "1;31",
                    &format!("{} step(s) did not go as expected.", checks.failed)
                )
            );
            return Ok(Outcome::CheckFailed);
        }
        Ok(()) => {}
    }
    println!("\n{}", style.paint("1", "Run it for real:"));
    for line in [
        "delego init                                   # a home with keys and the example policy",
        "delego keys add agent-1 --role agent          # a bearer key for each agent",
        "delego keys add alice --role approver         # and for each human approver",
        "delego serve --listen 127.0.0.1:7300          # the firewall, its log under /log, MCP at /mcp",
    ] {
        println!("   {line}");
    }
    println!(
        "   {}",
        style.paint(
            "2",
            "witnesses go in <home>/log.json (see README: The transparency log)"
        )
    );
    Ok(Outcome::Success)
}

fn story(dir: &std::path::Path, checks: &mut Checks) -> anyhow::Result<()> {
    let home_dir = file(dir, "home");
    let home = path(&home_dir)?.to_owned();
    let h = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--home".to_owned(), home.clone()];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        all
    };
    let run_h = |args: &[&str]| {
        let all = h(args);
        run(&all.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let status_h = |args: &[&str]| {
        let all = h(args);
        run_status(&all.iter().map(String::as_str).collect::<Vec<_>>())
    };

    checks.style.chapter(
        0,
        "Setting the stage (a temporary home, two witnesses, the firewall)",
    );
    run_h(&["init"])?;
    let log_key = run_h(&["audit", "log-key"])?.trim().to_owned();
    let origin = log_key.split('+').next().unwrap_or_default().to_owned();
    let mut witnesses = Vec::new();
    let mut witness_keys = Vec::new();
    for name in ["witness-a.demo", "witness-b.demo"] {
        let wdir = file(dir, name);
        let w = path(&wdir)?;
        let vkey = run(&["witness", "--home", w, "init", "--name", name])?
            .trim()
            .to_owned();
        run(&["witness", "--home", w, "add-log", &origin, &log_key])?;
        let server = start(&["witness", "--home", w, "serve", "--listen", "127.0.0.1:0"])?;
        checks
            .style
            .note(&format!("witness {name} listening at {}", server.base));
        witness_keys.push(vkey);
        witnesses.push(server);
    }
    let config = format!(
        r#"{{"witnesses": ["a={}@{}", "b={}@{}"], "interval_ms": 250}}"#,
        witness_keys[0], witnesses[0].base, witness_keys[1], witnesses[1].base
    );
    std::fs::write(home_dir.join("log.json"), config).context("cannot write log.json")?;
    let agent = run_h(&["keys", "add", "agent-1", "--role", "agent"])?
        .trim()
        .to_owned();
    let alice = run_h(&["keys", "add", "alice", "--role", "approver"])?
        .trim()
        .to_owned();
    let auditor = run_h(&["keys", "add", "auditor", "--role", "auditor"])?
        .trim()
        .to_owned();
    let firewall = start(
        &h(&["serve", "--listen", "127.0.0.1:0"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )?;
    checks.style.note(&format!(
        "firewall listening at {} (log {origin})",
        firewall.base
    ));
    let api = Api::new(&firewall.base)?;
    let propose = |body: &str| api.post(&agent, "/v1/actions", body);

    checks
        .style
        .chapter(1, "An agent reads its own account: allowed");
    checks
        .style
        .command("POST /v1/actions  GET api.example.com/accounts/me");
    checks.decision(
        &propose(READ)?,
        "allow",
        "allowed by rule read-accounts, executed, receipt signed",
    );

    checks
        .style
        .chapter(2, "A prompt injection asks to share the account: forbidden");
    checks
        .style
        .command("POST /v1/actions  POST …/accounts/me/permissions");
    checks.decision(
        &propose(SHARE)?,
        "deny",
        "denied by a forbidden rule before any credential is used",
    );

    checks
        .style
        .chapter(3, "An order over the policy's cap: denied");
    checks
        .style
        .command("POST /v1/actions  POST /orders amount 9000 USD (cap 5000)");
    checks.decision(
        &propose(BIG_ORDER)?,
        "deny",
        "denied by the amount constraint",
    );

    checks
        .style
        .chapter(4, "An order within the cap is parked for a human");
    checks
        .style
        .command("POST /v1/actions  POST /orders amount 2400 USD");
    let parked = propose(ORDER)?;
    checks.decision(
        &parked,
        "needs_approval",
        "parked, bound to this exact action and instruction",
    );
    let id = text(&parked.1, "approval_id").to_owned();
    checks
        .style
        .command(&format!("alice: POST /v1/approvals/{id}/approve"));
    let approved = api.post(
        &alice,
        &format!("/v1/approvals/{id}/approve"),
        r#"{"note":"ok, expected order"}"#,
    )?;
    checks.expect(
        approved.0 == 200,
        "approved by alice (an agent key could not have)",
        "approval refused",
    );
    checks.style.command(&format!(
        "agent: POST /v1/approvals/{id}/resolve  (the same action)"
    ));
    let released = api.post(&agent, &format!("/v1/approvals/{id}/resolve"), ORDER)?;
    checks.decision(&released, "allow", "released and executed once");
    checks
        .style
        .command(&format!("agent: POST /v1/approvals/{id}/resolve  (again)"));
    let replay = api.post(&agent, &format!("/v1/approvals/{id}/resolve"), ORDER)?;
    checks.decision(
        &replay,
        "deny",
        "a replay is refused: approvals are single-use",
    );

    checks.style.chapter(
        5,
        "The confused deputy: a substituted action under someone else's approval",
    );
    let parked = propose(ORDER)?;
    let id = text(&parked.1, "approval_id").to_owned();
    api.post(&alice, &format!("/v1/approvals/{id}/approve"), "")?;
    checks
        .style
        .note(&format!("alice approved {id} for the 2400 USD order"));
    checks.style.command(&format!(
        "agent: POST /v1/approvals/{id}/resolve  (ship_to: attacker)"
    ));
    let swapped = api.post(&agent, &format!("/v1/approvals/{id}/resolve"), SWAPPED)?;
    checks.decision(
        &swapped,
        "deny",
        "refused: the action's fingerprint is not the approved one",
    );

    checks.style.chapter(
        6,
        "Every decision is a receipt in a Merkle log that both witnesses cosign",
    );
    let newest = api.get_json(&auditor, "/v1/receipts?tail=1")?;
    let last_seq = newest
        .as_object()
        .and_then(|m| m.get("receipts"))
        .and_then(Value::as_array)
        .and_then(|list| list.last())
        .and_then(|r| r.as_object())
        .and_then(|r| r.get("seq"))
        .and_then(Value::as_i64)
        .context("the receipts tail has no seq")?;
    let size = last_seq.unsigned_abs() + 1;
    checks.style.note(&format!(
        "the ledger holds {size} receipts, seq 0..{last_seq}"
    ));
    let proof_path = file(dir, "receipt.tlog-proof");
    let proof = path(&proof_path)?;
    let log_url = format!("{}/log", firewall.base);
    let deadline = Instant::now() + Duration::from_secs(30);
    let seq = (size - 1).to_string();
    loop {
        let (code, _, _) = status_h(&["audit", "prove", &seq, "--log", &log_url, "--out", proof])?;
        if code == 0 {
            break;
        }
        if Instant::now() > deadline {
            anyhow::bail!("no witnessed checkpoint covered receipt {seq} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let checkpoint = api.get_text("/log/checkpoint")?;
    for line in checkpoint.lines() {
        checks.style.note(line);
    }
    let cosigned = checkpoint
        .lines()
        .filter(|l| l.starts_with("— witness-"))
        .count();
    checks.expect(
        cosigned == 2,
        "checkpoint signed by the log and cosigned by both witnesses",
        "missing cosignatures",
    );

    checks.style.chapter(
        7,
        "An auditor proves a receipt offline, with public keys only",
    );
    checks.style.command(&format!(
        "delego audit prove {seq} --out receipt.tlog-proof"
    ));
    let trust = [
        "--log-key",
        log_key.as_str(),
        "--witness-key",
        witness_keys[0].as_str(),
        "--witness-key",
        witness_keys[1].as_str(),
    ];
    let mut verify_args = vec!["audit", "verify", proof];
    verify_args.extend(trust);
    checks.style.command(
        "delego audit verify receipt.tlog-proof --log-key … --witness-key … --witness-key …",
    );
    let (code, out, _) = status_h(&verify_args)?;
    for line in out.lines() {
        checks.style.note(line);
    }
    checks.expect(code == 0, "verified offline", "the proof did not verify");

    checks.style.chapter(
        8,
        "The host's owner erases the forbidden attempt and re-signs the ledger",
    );
    let checkpoint_path = file(dir, "witnessed.checkpoint");
    std::fs::write(&checkpoint_path, &checkpoint).context("cannot save the checkpoint")?;
    firewall.stop();
    let ledger_path = file(dir, "ledger.jsonl");
    run_h(&["export", "--out", path(&ledger_path)?])?;
    let forged = erase_and_resign(&ledger_path, &home_dir.join("signing_key.pem"))?;
    let cut_path = file(dir, "rewritten.jsonl");
    std::fs::write(&cut_path, forged).context("cannot write the rewritten ledger")?;
    let pubkey = home_dir.join("signing_key.pub");
    let cut = path(&cut_path)?;
    let pubkey = path(&pubkey)?;
    checks
        .style
        .note("receipt 1 (the share attempt) removed; the rest renumbered, re-chained and");
    checks
        .style
        .note("re-signed with the ledger key, which the host's owner holds");
    checks
        .style
        .command("delego verify --ledger rewritten.jsonl   (the hash chain alone)");
    let (code, out, _) = status_h(&["verify", "--ledger", cut, "--pubkey", pubkey])?;
    checks.expect(
        code == 0,
        "the chain alone cannot tell: it verifies",
        out.trim(),
    );
    checks.style.command("delego verify --ledger rewritten.jsonl --checkpoint witnessed.checkpoint --log-key … --witness-key …");
    let mut args = vec![
        "verify",
        "--ledger",
        cut,
        "--pubkey",
        pubkey,
        "--checkpoint",
        path(&checkpoint_path)?,
    ];
    args.extend(trust);
    let (code, out, _) = status_h(&args)?;
    for line in out.lines().filter(|l| l.contains("CHECKPOINT")) {
        checks.style.note(line);
    }
    checks.expect(
        code == 1,
        "caught: the witnesses saw a different ledger",
        "the rewrite went unnoticed",
    );
    drop(witnesses);
    Ok(())
}

/// The attacker's rewrite: receipt 1 removed, every later one renumbered,
/// re-chained and re-signed with the ledger's own key.
fn erase_and_resign(ledger: &std::path::Path, key_pem: &std::path::Path) -> anyhow::Result<String> {
    use delego_spec::chain::sign_chain;
    use delego_spec::{Receipt, GENESIS};
    let key = delego_spec::keys::signing_key_from_pem(
        &std::fs::read_to_string(key_pem).context("cannot read the ledger key")?,
    )?;
    let text = std::fs::read_to_string(ledger).context("cannot read the export")?;
    let receipts = text
        .lines()
        .map(|line| Ok(Receipt::from_value(&delego_spec::json::parse(line)?)?))
        .collect::<anyhow::Result<Vec<Receipt>>>()?;
    let kept = receipts
        .into_iter()
        .filter(|r| r.payload.seq != 1)
        .map(|r| r.payload);
    Ok(sign_chain(kept, 0, GENESIS, &key)
        .iter()
        .map(|r| r.to_reference_line() + "\n")
        .collect())
}
