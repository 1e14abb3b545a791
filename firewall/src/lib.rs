//! `delego-firewall`: the authorizer (spec §2, the PDP).
//!
//! It decides every proposed action (`allow` / `needs_approval` / `deny`) as
//! a pure function of action, policy, ledger state and time; parks sensitive
//! actions for a human; and records every decision and execution as a signed
//! receipt. Wire formats come from `delego-spec`; this crate never defines
//! bytes of its own that are hashed or signed.
#![forbid(unsafe_code)]

pub mod api;
pub mod approval;
pub mod broker;
pub mod conformance;
pub mod decimal;
pub mod decision;
pub mod delivery;
pub mod engine;
pub mod evaluate;
pub mod glob;
pub mod policy_file;
pub mod policy_summary;
pub mod reservation;
pub mod sink;
pub mod store;
pub mod time;
pub mod yaml;
