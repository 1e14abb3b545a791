//! The policy document (spec §5): its typed model and the loader's
//! fail-closed validation (§5.1).
//!
//! This module turns a parsed document into a [`Policy`] or refuses it with
//! every problem listed, in the reference's words. It never evaluates actions
//! (that is the firewall's job) and never reads files or parses YAML text.

mod model;
mod validate;

pub use model::{
    AllowListConstraint, AmountConstraint, ApprovalRouting, Constraints, Forbidden, Match, Policy,
    RateLimit, Rule, RuleDecision, Window,
};
pub use validate::PolicyError;
