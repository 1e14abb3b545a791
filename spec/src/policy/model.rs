//! The typed policy model. Every value here has passed validation.

use crate::json::{Number, Value};
use crate::receipt::Outcome;

/// A validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: i64,
    /// The outcome when nothing matches (SHOULD be `deny`).
    pub default: Outcome,
    /// Hard denials, evaluated first.
    pub forbidden: Vec<Forbidden>,
    /// First match wins.
    pub rules: Vec<Rule>,
}

/// A `forbidden` entry: any action it matches is denied.
#[derive(Debug, Clone, PartialEq)]
pub struct Forbidden {
    pub name: String,
    /// Empty when absent; the deny reason falls back to the name.
    pub description: String,
    pub matcher: Match,
}

/// What a rule may decide: rules never hard-deny (that is `forbidden`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleDecision {
    Allow,
    NeedsApproval,
}

impl RuleDecision {
    pub fn outcome(self) -> Outcome {
        match self {
            RuleDecision::Allow => Outcome::Allow,
            RuleDecision::NeedsApproval => Outcome::NeedsApproval,
        }
    }
}

/// A rule: when its match selects an action, its constraints gate it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub description: String,
    pub decision: RuleDecision,
    pub matcher: Match,
    pub constraints: Constraints,
    /// §7.2 routing for `needs_approval` rules (defaults otherwise).
    pub approval: ApprovalRouting,
}

/// §7.2 (0.4 draft): how a parked action is presented and decided. Set by
/// the policy, never by the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRouting {
    /// Why approval is required, shown to approvers.
    pub reason: Option<String>,
    /// Distinct approvers needed before the action is released (≥ 1).
    pub required_approvers: u32,
    /// Seconds after parking when the approval expires (resolves as deny).
    pub expires_after_seconds: Option<u64>,
}

impl Default for ApprovalRouting {
    fn default() -> Self {
        ApprovalRouting {
            reason: None,
            required_approvers: 1,
            expires_after_seconds: None,
        }
    }
}

/// A match. Absent fields do not constrain; an entirely empty match matches
/// nothing (spec §5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    /// Accepted methods (a single string in the document becomes one entry).
    pub method: Option<Vec<String>>,
    pub host: Option<String>,
    /// The coarse glob of spec §5 (`*` and `**` both span `/`).
    pub path: Option<String>,
    pub path_contains: Option<String>,
    /// Whether the document's `match` mapping had no keys at all.
    pub is_empty: bool,
}

/// A rule's constraints; all fail closed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Constraints {
    pub amount: Option<AmountConstraint>,
    pub allow_list: Option<AllowListConstraint>,
    pub rate_limit: Option<RateLimit>,
}

impl Constraints {
    pub fn is_empty(&self) -> bool {
        self.amount.is_none() && self.allow_list.is_none() && self.rate_limit.is_none()
    }
}

/// `amount: {field, max, currency}`.
#[derive(Debug, Clone, PartialEq)]
pub struct AmountConstraint {
    pub field: String,
    pub max: Option<Number>,
    pub currency: Option<String>,
}

/// `allow_list: {field, in: [...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowListConstraint {
    pub field: String,
    pub allowed: Vec<Value>,
}

/// `rate_limit: {max, per}`: at most `max` allows of the rule per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u64,
    pub per: Window,
}

/// A sliding rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    Minute,
    Hour,
    Day,
}

impl Window {
    pub fn seconds(self) -> u64 {
        match self {
            Window::Minute => 60,
            Window::Hour => 3600,
            Window::Day => 86400,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Minute => "minute",
            Window::Hour => "hour",
            Window::Day => "day",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Window> {
        match text {
            "minute" => Some(Window::Minute),
            "hour" => Some(Window::Hour),
            "day" => Some(Window::Day),
            _ => None,
        }
    }
}
