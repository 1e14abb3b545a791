//! The human and agent commands through a running `delego serve` (found by
//! [`crate::client::running_server`]): the same output and exit codes as
//! in-process, from the server's answers. Used only when a server owns the
//! home's store; it never opens the store.

use anyhow::{bail, Context as _};
use delego_firewall::approval::ApprovalRecord;
use delego_spec::json::{Map, Value};
use delego_spec::Receipt;

use crate::exit::Outcome;
use crate::human::{print_decided, print_pending, print_receipts};
use crate::mcp::remote::{path_segment, RemoteBackend, RunningServer};
use crate::output::{decision_line_of, read_action};

fn backend(server: RunningServer) -> anyhow::Result<RemoteBackend> {
    RemoteBackend::new(server)
}

fn id_segment(id: &str) -> anyhow::Result<String> {
    path_segment(id).with_context(|| format!("{id:?} is not an approval id"))
}

fn records(items: &[Value]) -> anyhow::Result<Vec<ApprovalRecord>> {
    items
        .iter()
        .map(|item| {
            ApprovalRecord::from_value(item).context("the server sent an unreadable approval")
        })
        .collect()
}

pub fn pending(server: RunningServer) -> anyhow::Result<Outcome> {
    let remote = backend(server)?;
    let items = RemoteBackend::items(remote.call("/v1/approvals", None)?, "approvals")?;
    print_pending(&records(&items)?);
    Ok(Outcome::Success)
}

pub fn decide(
    server: RunningServer,
    approval_id: &str,
    approve: bool,
    approver: &str,
    note: Option<&str>,
) -> anyhow::Result<Outcome> {
    let remote = backend(server)?;
    let verb = if approve { "approve" } else { "deny" };
    let mut body = Map::new();
    if let Some(note) = note {
        body.insert("note".into(), note.into());
    }
    let path = format!("/v1/approvals/{}/{verb}", id_segment(approval_id)?);
    match remote.call_as(&path, Some(&Value::Object(body)), Some(approver)) {
        Ok(value) => {
            let record = ApprovalRecord::from_value(&value)
                .context("the server sent an unreadable approval")?;
            // The server's clock decided; expiry is judged by its answer.
            let now =
                delego_firewall::engine::Clock::now_micros(&delego_firewall::engine::SystemClock);
            print_decided(&record, now);
            Ok(Outcome::Success)
        }
        Err(e) if e.to_string().contains("(404)") => {
            println!("No such approval: {approval_id}");
            Ok(Outcome::CheckFailed)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn propose(server: RunningServer, action: &str, mint: Option<&str>) -> anyhow::Result<Outcome> {
    if mint.is_some() {
        bail!("--mint-token is not available through a running `delego serve`; stop it or use its API");
    }
    let action = read_action(action)?;
    let remote = backend(server)?;
    println!(
        "{}",
        decision_line_of(&remote.call("/v1/actions", Some(&action.to_value()))?)
    );
    Ok(Outcome::Success)
}

pub fn resolve(
    server: RunningServer,
    approval_id: &str,
    action: &str,
    mint: Option<&str>,
) -> anyhow::Result<Outcome> {
    if mint.is_some() {
        bail!("--mint-token is not available through a running `delego serve`; stop it or use its API");
    }
    let action = read_action(action)?;
    let remote = backend(server)?;
    let path = format!("/v1/approvals/{}/resolve", id_segment(approval_id)?);
    println!(
        "{}",
        decision_line_of(&remote.call(&path, Some(&action.to_value()))?)
    );
    Ok(Outcome::Success)
}

pub fn log(server: RunningServer, lines: usize, json: bool) -> anyhow::Result<Outcome> {
    let remote = backend(server)?;
    let read = |path: &str| -> anyhow::Result<Vec<Receipt>> {
        RemoteBackend::items(remote.call(path, None)?, "receipts")?
            .iter()
            .map(|item| Receipt::from_value(item).context("the server sent an unreadable receipt"))
            .collect()
    };
    // The newest receipt fixes the range; the API pages at most 1,000 at a
    // time, so longer tails are read page by page, as in-process.
    let Some(newest) = read("/v1/receipts?tail=1")?.pop() else {
        return Ok(Outcome::Success);
    };
    let end = newest.payload.seq + 1;
    let mut next = end.saturating_sub(lines as u64);
    let mut receipts = Vec::new();
    while next < end {
        let limit = (end - next).min(1_000);
        let page = read(&format!("/v1/receipts?from={next}&limit={limit}"))?;
        if page.is_empty() {
            break;
        }
        next += page.len() as u64;
        receipts.extend(page);
    }
    print_receipts(&receipts, json);
    Ok(Outcome::Success)
}
