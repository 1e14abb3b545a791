//! The delego Conformance Test Kit (CTK) checks that this crate can answer
//! on its own: hashing (0.3 and ≤0.2 preimages), chain verification (valid
//! and tampered), token verification, policy fail-closed loading, and the
//! hashes embedded in the resolve vectors. Decision and approval outcomes need
//! an authorizer and are reported as such, never as passes.
//!
//! The vectors are the upstream CTK's (Apache-2.0), copied as data under
//! `spec/tests/vectors/ctk` and embedded so a conformance run needs no files.

use crate::action::ProposedAction;
use crate::chain::verify_chain;
use crate::json::{parse, Value};
use crate::keys::verifying_key_from_pem;
use crate::policy::Policy;
use crate::token::{TokenVerifier, VerifierKeys};

/// The CTK vector files, as text.
#[derive(Debug, Clone, Copy)]
pub struct CtkVectors<'a> {
    pub hashing: &'a str,
    pub hashing_v02: &'a str,
    pub chain: &'a str,
    pub chain_expected: &'a str,
    pub chain_tampered: &'a str,
    pub chain_tampered_expected: &'a str,
    pub signing_key_pub: &'a str,
    pub token: &'a str,
    pub token_signing_key_pub: &'a str,
    pub policy_invalid: &'a str,
    pub decisions: &'a str,
    pub resolve: &'a str,
    /// The policy the decision vectors are evaluated against (YAML).
    pub example_policy: &'a str,
}

/// The vectors compiled into this crate.
pub fn embedded() -> CtkVectors<'static> {
    CtkVectors {
        hashing: include_str!("../tests/vectors/ctk/hashing.json"),
        hashing_v02: include_str!("../tests/vectors/ctk/hashing-v0.2.json"),
        chain: include_str!("../tests/vectors/ctk/chain.jsonl"),
        chain_expected: include_str!("../tests/vectors/ctk/chain.expected.json"),
        chain_tampered: include_str!("../tests/vectors/ctk/chain.tampered.jsonl"),
        chain_tampered_expected: include_str!("../tests/vectors/ctk/chain.tampered.expected.json"),
        signing_key_pub: include_str!("../tests/vectors/ctk/signing_key.pub"),
        token: include_str!("../tests/vectors/ctk/token.json"),
        token_signing_key_pub: include_str!("../tests/vectors/ctk/token_signing_key.pub"),
        policy_invalid: include_str!("../tests/vectors/ctk/policy_invalid.json"),
        decisions: include_str!("../tests/vectors/ctk/decisions.json"),
        resolve: include_str!("../tests/vectors/ctk/resolve.json"),
        example_policy: include_str!("../tests/vectors/ctk/policy.example.yaml"),
    }
}

/// How one vector fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail(String),
    /// The vector's outcome is an authorizer's to reproduce (see `detail`).
    NeedsAuthorizer(String),
}

/// One vector's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    pub file: &'static str,
    pub name: String,
    pub status: Status,
}

/// A result for one vector.
pub fn result(
    file: &'static str,
    name: impl Into<String>,
    check: Result<(), String>,
) -> CaseResult {
    CaseResult {
        file,
        name: name.into(),
        status: match check {
            Ok(()) => Status::Pass,
            Err(why) => Status::Fail(why),
        },
    }
}

/// Parses a vector file, or a failing result naming it.
pub fn load(file: &'static str, text: &str) -> Result<Value, CaseResult> {
    parse(text).map_err(|e| result(file, "load", Err(format!("vector file unreadable: {e}"))))
}

/// The list of cases in a vector file (a bare list, or `{"cases": [...]}`).
pub fn cases<'v>(value: &'v Value, file: &'static str) -> Result<&'v [Value], CaseResult> {
    let list = value.as_array().or_else(|| {
        value
            .as_object()
            .and_then(|o| o.get("cases"))
            .and_then(Value::as_array)
    });
    list.ok_or_else(|| result(file, "load", Err("no list of cases".into())))
}

fn field<'v>(case: &'v Value, name: &str) -> Result<&'v Value, String> {
    case.as_object()
        .and_then(|o| o.get(name))
        .ok_or_else(|| format!("vector has no '{name}'"))
}

fn text_field<'v>(case: &'v Value, name: &str) -> Result<&'v str, String> {
    field(case, name)?
        .as_str()
        .ok_or_else(|| format!("vector '{name}' is not a string"))
}

fn expect_eq(what: &str, got: &str, expected: &str) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, expected {expected}"))
    }
}

/// The cases of a vector file, or a failing result naming it.
pub fn load_cases(file: &'static str, text: &str) -> Result<Vec<Value>, CaseResult> {
    let doc = load(file, text)?;
    cases(&doc, file).map(<[Value]>::to_vec)
}

/// A case's `name`, or its position.
pub fn case_name(case: &Value, index: usize) -> String {
    case.as_object()
        .and_then(|o| o.get("name"))
        .and_then(Value::as_str)
        .map_or_else(|| format!("case {index}"), str::to_owned)
}

/// Runs every CTK check; one result per vector.
pub fn run(vectors: &CtkVectors<'_>) -> Vec<CaseResult> {
    let mut out = Vec::new();
    hashing(&mut out, "hashing.json", vectors.hashing, true);
    hashing(&mut out, "hashing-v0.2.json", vectors.hashing_v02, false);
    chain(&mut out, vectors);
    tokens(&mut out, vectors);
    policy_invalid(&mut out, vectors);
    decisions(&mut out, vectors);
    resolve(&mut out, vectors);
    out
}

fn hashing(out: &mut Vec<CaseResult>, file: &'static str, text: &str, with_query: bool) {
    let list = match load_cases(file, text) {
        Ok(list) => list,
        Err(failure) => return out.push(failure),
    };
    for (i, case) in list.iter().enumerate() {
        let check = || -> Result<(), String> {
            let action =
                ProposedAction::from_value(field(case, "action")?).map_err(|e| e.to_string())?;
            let id = action.identity().map_err(|e| e.to_string())?;
            expect_eq(
                "intent_canonical_json",
                &id.intent_canonical_json,
                text_field(case, "intent_canonical_json")?,
            )?;
            expect_eq(
                "intent_hash",
                &id.intent_hash,
                text_field(case, "intent_hash")?,
            )?;
            let (canonical, fingerprint) = if with_query {
                (
                    id.fingerprint_canonical_json.clone(),
                    id.action_fingerprint.clone(),
                )
            } else {
                (
                    id.fingerprint_v02_canonical_json(),
                    id.action_fingerprint_v02(),
                )
            };
            expect_eq(
                "fingerprint_canonical_json",
                &canonical,
                text_field(case, "fingerprint_canonical_json")?,
            )?;
            expect_eq(
                "action_fingerprint",
                &fingerprint,
                text_field(case, "action_fingerprint")?,
            )
        };
        let name = field(case, "action")
            .ok()
            .and_then(|a| a.as_object())
            .and_then(|a| a.get("url"))
            .and_then(Value::as_str)
            .map_or_else(|| format!("case {i}"), |url| format!("{} {url}", i));
        out.push(result(file, name, check()));
    }
}

fn chain(out: &mut Vec<CaseResult>, v: &CtkVectors<'_>) {
    let key = match verifying_key_from_pem(v.signing_key_pub) {
        Ok(key) => key,
        Err(e) => return out.push(result("chain.jsonl", "signing key", Err(e.to_string()))),
    };
    let valid = || -> Result<(), String> {
        let expected = parse(v.chain_expected).map_err(|e| e.to_string())?;
        let report = verify_chain(v.chain, &key, None);
        if !report.is_valid() {
            return Err(format!("problems: {:?}", report.problems));
        }
        let want: Vec<Value> = field(&expected, "seqs")?
            .as_array()
            .unwrap_or_default()
            .to_vec();
        if report.seqs != want {
            return Err(format!("seqs {:?}, expected {want:?}", report.seqs));
        }
        let count = field(&expected, "receipt_count")?.as_i64();
        if count != i64::try_from(report.seqs.len()).ok() {
            return Err("receipt_count differs".into());
        }
        Ok(())
    };
    out.push(result("chain.jsonl", "valid chain verifies", valid()));
    let tampered = || -> Result<(), String> {
        let expected = parse(v.chain_tampered_expected).map_err(|e| e.to_string())?;
        let want: Vec<String> = field(&expected, "problems")?
            .as_array()
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect();
        let report = verify_chain(v.chain_tampered, &key, None);
        if report.problems == want {
            Ok(())
        } else {
            Err(format!("problems {:?}, expected {want:?}", report.problems))
        }
    };
    out.push(result(
        "chain.tampered.jsonl",
        "tampered seq 0 fails exactly",
        tampered(),
    ));
}

fn tokens(out: &mut Vec<CaseResult>, v: &CtkVectors<'_>) {
    const FILE: &str = "token.json";
    let key = match verifying_key_from_pem(v.token_signing_key_pub) {
        Ok(key) => key,
        Err(e) => return out.push(result(FILE, "token signing key", Err(e.to_string()))),
    };
    let doc = match load(FILE, v.token) {
        Ok(doc) => doc,
        Err(failure) => return out.push(failure),
    };
    let leeway = doc
        .as_object()
        .and_then(|o| o.get("_leeway_seconds"))
        .and_then(Value::as_i64)
        .and_then(|l| u64::try_from(l).ok())
        .unwrap_or(60);
    let list = match cases(&doc, FILE) {
        Ok(list) => list,
        Err(failure) => return out.push(failure),
    };
    for (i, case) in list.iter().enumerate() {
        let check = || -> Result<(), String> {
            let verifier = TokenVerifier::new(
                VerifierKeys::Single(key),
                text_field(case, "audience")?,
                leeway,
            )
            .map_err(|e| e.to_string())?;
            let now = field(case, "now")?
                .as_i64()
                .ok_or("now is not an integer")?;
            let verdict = verifier.verify(text_field(case, "token")?, now, None);
            match (text_field(case, "expect")?, verdict) {
                ("accept", Ok(claims)) => {
                    let expected = field(case, "expected_claims")?
                        .as_object()
                        .ok_or("expected_claims")?;
                    for (name, want) in expected {
                        let got = match name.as_str() {
                            "fpr" => Some(claims.fpr.as_str()),
                            "iht" => Some(claims.iht.as_str()),
                            "aud" => Some(claims.aud.as_str()),
                            "apr" => claims.apr.as_deref(),
                            "iss" => Some(claims.iss.as_str()),
                            "sub" => claims.sub.as_deref(),
                            _ => None,
                        };
                        if got != want.as_str() {
                            return Err(format!("claim {name}: got {got:?}, expected {want:?}"));
                        }
                    }
                    Ok(())
                }
                ("reject", Err(_)) => Ok(()),
                ("accept", Err(e)) => Err(format!("rejected: {e}")),
                ("reject", Ok(_)) => Err("accepted a token that must be rejected".into()),
                (other, _) => Err(format!("unknown expectation {other}")),
            }
        };
        out.push(result(FILE, case_name(case, i), check()));
    }
}

fn policy_invalid(out: &mut Vec<CaseResult>, v: &CtkVectors<'_>) {
    const FILE: &str = "policy_invalid.json";
    let list = match load_cases(FILE, v.policy_invalid) {
        Ok(list) => list,
        Err(failure) => return out.push(failure),
    };
    for (i, case) in list.iter().enumerate() {
        let check = || -> Result<(), String> {
            let needle = text_field(field(case, "expected")?, "reason_contains")?;
            match Policy::from_value(field(case, "policy")?, "ctk") {
                Ok(_) => Err("policy loaded; it must be rejected".into()),
                Err(e) if e.to_string().contains(needle) => Ok(()),
                Err(e) => Err(format!("rejected, but no problem mentions {needle:?}: {e}")),
            }
        };
        out.push(result(FILE, case_name(case, i), check()));
    }
}

fn decisions(out: &mut Vec<CaseResult>, v: &CtkVectors<'_>) {
    const FILE: &str = "decisions.json";
    let list = match load_cases(FILE, v.decisions) {
        Ok(list) => list,
        Err(failure) => return out.push(failure),
    };
    for (i, case) in list.iter().enumerate() {
        let parsed = field(case, "action")
            .and_then(|a| ProposedAction::from_value(a).map_err(|e| e.to_string()))
            .and_then(|a| a.identity().map_err(|e| e.to_string()));
        let status = match parsed {
            Ok(_) => Status::NeedsAuthorizer(
                "outcome, rule and reasons come from policy evaluation".into(),
            ),
            Err(e) => Status::Fail(e),
        };
        out.push(CaseResult {
            file: FILE,
            name: format!("case {i}"),
            status,
        });
    }
}

fn resolve(out: &mut Vec<CaseResult>, v: &CtkVectors<'_>) {
    const FILE: &str = "resolve.json";
    let list = match load_cases(FILE, v.resolve) {
        Ok(list) => list,
        Err(failure) => return out.push(failure),
    };
    for (i, case) in list.iter().enumerate() {
        // The presented action's hashes are ours to reproduce; the outcome is
        // the approval store's.
        let check = || -> Result<(), String> {
            let action = ProposedAction::from_value(field(case, "presented_action")?)
                .map_err(|e| e.to_string())?;
            let id = action.identity().map_err(|e| e.to_string())?;
            expect_eq(
                "presented_fingerprint",
                &id.action_fingerprint,
                text_field(case, "presented_fingerprint")?,
            )?;
            expect_eq(
                "presented_intent_hash",
                &id.intent_hash,
                text_field(case, "presented_intent_hash")?,
            )
        };
        let status = match check() {
            Ok(()) => Status::NeedsAuthorizer(
                "hashes match; the outcome comes from approval resolution".into(),
            ),
            Err(e) => Status::Fail(e),
        };
        out.push(CaseResult {
            file: FILE,
            name: case_name(case, i),
            status,
        });
    }
}
