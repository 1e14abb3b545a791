//! The human side, in the reference's words: `init`, `home`, `policy`,
//! `pending`, `approve`, `deny`, `log`.

use std::fs;

use anyhow::Context as _;
use delego_firewall::approval::ApprovalRecord;
use delego_firewall::store::LedgerStore;
use delego_spec::json::{python_repr, Value};

use crate::exit::Outcome;
use crate::home::Home;

/// The starter policy (the reference ships the same file).
const EXAMPLE_POLICY: &str = include_str!("../../spec/tests/vectors/ctk/policy.example.yaml");

pub fn init(home: &Home) -> anyhow::Result<Outcome> {
    fs::create_dir_all(&home.dir)
        .with_context(|| format!("cannot create {}", home.dir.display()))?;
    home.ensure_gitignore()?;
    home.ensure_keys(&home.private_key(), &home.public_key())?;
    let policy = home.policy();
    if !policy.exists() {
        fs::write(&policy, EXAMPLE_POLICY)
            .with_context(|| format!("cannot write {}", policy.display()))?;
        println!("Installed example policy at {}", policy.display());
    }
    drop(home.open_store()?);
    println!("Initialised delego home at {}", home.dir.display());
    println!("Signing key: {}", home.private_key().display());
    Ok(Outcome::Success)
}

pub fn show_home(home: &Home) -> anyhow::Result<Outcome> {
    println!("{}", home.dir.display());
    Ok(Outcome::Success)
}

pub fn show_policy(home: &Home) -> anyhow::Result<Outcome> {
    println!("home:   {}", home.dir.display());
    let compiled = home.load_policy()?;
    let policy = compiled.policy();
    println!("policy v{} | default: {}", policy.version, policy.default);
    println!("\nforbidden:");
    for entry in &policy.forbidden {
        println!("  - {}: {}", entry.name, describe_match(&entry.matcher));
    }
    println!("\nrules:");
    for rule in &policy.rules {
        let mut line = format!(
            "  - {} -> {} | {}",
            rule.name,
            rule.decision.outcome(),
            describe_match(&rule.matcher)
        );
        let c = &rule.constraints;
        let mut parts = Vec::new();
        if let Some(a) = &c.amount {
            parts.push(format!(
                "amount: {} max {} {}",
                a.field,
                a.max.as_ref().map_or("none".into(), |m| m.to_string()),
                a.currency.as_deref().unwrap_or("")
            ));
        }
        if let Some(l) = &c.allow_list {
            parts.push(format!(
                "allow_list: {} in {}",
                l.field,
                python_repr(&Value::Array(l.allowed.clone()))
            ));
        }
        if let Some(r) = &c.rate_limit {
            parts.push(format!("rate_limit: {} per {}", r.max, r.per));
        }
        if !parts.is_empty() {
            line.push_str(&format!(" | constraints: {}", parts.join("; ").trim_end()));
        }
        println!("{line}");
    }
    Ok(Outcome::Success)
}

fn describe_match(m: &delego_spec::policy::Match) -> String {
    let mut parts = Vec::new();
    if let Some(methods) = &m.method {
        parts.push(format!("method={}", methods.join("|")));
    }
    if let Some(host) = &m.host {
        parts.push(format!("host={host}"));
    }
    if let Some(path) = &m.path {
        parts.push(format!("path={path}"));
    }
    if let Some(needle) = &m.path_contains {
        parts.push(format!("path_contains={needle}"));
    }
    if parts.is_empty() {
        "(matches nothing)".into()
    } else {
        parts.join(" ")
    }
}

pub fn pending(home: &Home) -> anyhow::Result<Outcome> {
    let store = home.open_store()?;
    print_pending(&store.pending_approvals()?);
    Ok(Outcome::Success)
}

/// The queue as `delego pending` prints it (in-process or through a server).
pub fn print_pending(items: &[ApprovalRecord]) {
    if items.is_empty() {
        println!("No pending approvals.");
        return;
    }
    for record in items {
        println!("{}  {}", record.id, record.summary);
        if !record.instruction.is_empty() {
            println!(
                "    instruction: {}",
                python_repr(&Value::from(record.instruction.as_str()))
            );
        }
        if let Some(reason) = &record.reason {
            println!("    reason: {reason}");
        }
        if record.required_approvers > 1 {
            println!(
                "    approvals: {}/{}",
                record.votes.len(),
                record.required_approvers
            );
        }
        println!("    requested {}", record.created_at);
        if let Some(expiry) = record.expires_micros {
            println!("    expires {}", delego_firewall::time::format_utc(expiry));
        }
    }
}

pub fn decide(
    home: &Home,
    approval_id: &str,
    approve: bool,
    approver: &str,
    note: Option<&str>,
) -> anyhow::Result<Outcome> {
    let firewall = home.start(true, None)?;
    let Some(record) = firewall.decide(approval_id, approve, approver, note)? else {
        println!("No such approval: {approval_id}");
        return Ok(Outcome::CheckFailed);
    };
    print_decided(&record, firewall.now_micros());
    Ok(Outcome::Success)
}

/// The consent moment: show exactly what was decided.
pub fn print_decided(record: &ApprovalRecord, now: i64) {
    println!("{}: {}", record.id, record.status_at(now).as_str());
    println!("    {}", record.summary);
    if !record.instruction.is_empty() {
        println!(
            "    instruction: {}",
            python_repr(&Value::from(record.instruction.as_str()))
        );
    }
    if record.required_approvers > 1 && record.status_at(now).as_str() == "pending" {
        println!(
            "    approvals: {}/{}",
            record.votes.len(),
            record.required_approvers
        );
    }
}

pub fn log(home: &Home, lines: usize, json: bool) -> anyhow::Result<Outcome> {
    let store = home.open_store()?;
    let head = store.head()?;
    let from = head.map_or(0, |h| (h.seq + 1).saturating_sub(lines as u64));
    print_receipts(&store.receipts(from, lines)?, json);
    Ok(Outcome::Success)
}

/// Receipts as `delego log` prints them.
pub fn print_receipts(receipts: &[delego_spec::Receipt], json: bool) {
    for receipt in receipts {
        if json {
            println!("{}", receipt.to_reference_line());
            continue;
        }
        let p = &receipt.payload;
        let rule = p
            .rule
            .as_ref()
            .map_or_else(String::new, |r| format!("  rule={r}"));
        println!(
            "#{} [{}/{}] {}{rule}",
            p.seq, p.phase, p.outcome, p.action_summary
        );
        for reason in &p.reasons {
            println!("      - {reason}");
        }
    }
}
