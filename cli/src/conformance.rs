//! `delego conformance`: runs the embedded CTK vectors and prints a table.

use std::collections::BTreeMap;

use delego_spec::conformance::{embedded, run as run_vectors, Status};

use crate::exit::Outcome;

/// The spec crate's results, with each vector it leaves to an authorizer
/// (after checking its hashes) settled by the firewall's evaluation.
fn all_results() -> Vec<delego_spec::conformance::CaseResult> {
    let vectors = embedded();
    let mut authorizer = delego_firewall::conformance::run(&vectors).into_iter();
    run_vectors(&vectors)
        .into_iter()
        .map(|r| match r.status {
            Status::NeedsAuthorizer(_) => authorizer
                .find(|a| a.file == r.file)
                .map(|mut a| {
                    a.name = r.name.clone();
                    a
                })
                .unwrap_or(r),
            _ => r,
        })
        .collect()
}

pub fn run() -> anyhow::Result<Outcome> {
    let results = all_results();
    // file -> (pass, fail, awaiting authorizer), in first-seen order.
    let mut order: Vec<&str> = Vec::new();
    let mut tally: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for r in &results {
        if !order.contains(&r.file) {
            order.push(r.file);
        }
        let slot = match r.status {
            Status::Pass => 0,
            Status::Fail(_) => 1,
            Status::NeedsAuthorizer(_) => 2,
        };
        tally.entry(r.file).or_default()[slot] += 1;
    }
    println!("delego Conformance Test Kit (protocol 0.3, vectors from the upstream CTK)\n");
    println!(
        "{:<24} {:>7} {:>7} {:>7} {:>18}",
        "vector file", "cases", "pass", "fail", "needs authorizer"
    );
    println!("{}", "-".repeat(67));
    let mut totals = [0usize; 3];
    for file in &order {
        let [pass, fail, pending] = tally[file];
        totals[0] += pass;
        totals[1] += fail;
        totals[2] += pending;
        println!(
            "{file:<24} {:>7} {pass:>7} {fail:>7} {pending:>18}",
            pass + fail + pending
        );
    }
    println!("{}", "-".repeat(67));
    let [pass, fail, pending] = totals;
    println!(
        "{:<24} {:>7} {pass:>7} {fail:>7} {pending:>18}",
        "total",
        pass + fail + pending
    );
    for r in &results {
        if let Status::Fail(why) = &r.status {
            println!("FAIL {} / {}: {why}", r.file, r.name);
        }
    }
    if pending > 0 {
        println!(
            "\n{pending} vectors check decision and approval outcomes; their hashes are verified here, \
             their outcomes are the authorizer's (the firewall) to reproduce."
        );
    }
    Ok(if fail == 0 {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}
