//! Approvals (spec §7, §7.1, §7.2): the parked-action record, the human
//! decision transitions, and the release resolution (fingerprint guard →
//! intent guard → status). Pure: the engine supplies time and persists the
//! records this module returns.

use delego_spec::json::{python_repr, Map, Value};
use delego_spec::ActionIdentity;

use crate::time::format_utc;

/// Where an approval stands. `Expired` is derived from the clock, never
/// stored: a pending approval past its expiry behaves as denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    Consumed,
    Expired,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Denied => "denied",
            ApprovalStatus::Consumed => "consumed",
            ApprovalStatus::Expired => "expired",
        }
    }

    /// The stored spelling back; `None` for anything else.
    pub fn parse(text: &str) -> Option<ApprovalStatus> {
        Some(match text {
            "pending" => ApprovalStatus::Pending,
            "approved" => ApprovalStatus::Approved,
            "denied" => ApprovalStatus::Denied,
            "consumed" => ApprovalStatus::Consumed,
            "expired" => ApprovalStatus::Expired,
            _ => return None,
        })
    }
}

/// One approver's "yes" toward the quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub approver: String,
    pub at: String,
    pub note: Option<String>,
}

/// A parked action, bound to its fingerprint and intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    /// `apr_` + 12 lowercase hex.
    pub id: String,
    /// The stored status (never `Expired`; see [`Self::status_at`]).
    pub status: ApprovalStatus,
    pub action_fingerprint: String,
    pub intent_hash: String,
    /// The human instruction, shown to approvers.
    pub instruction: String,
    /// The rule that parked it; the release receipt carries it (§5).
    pub rule: Option<String>,
    pub summary: String,
    pub created_at: String,
    pub created_micros: i64,
    pub decided_at: Option<String>,
    /// Who decided (the last approver to complete a quorum, or the denier).
    pub approver: Option<String>,
    pub consumed_at: Option<String>,
    /// §7.2: why approval is required, from the policy.
    pub reason: Option<String>,
    /// §7.2: distinct approvals needed (≥ 1).
    pub required_approvers: u32,
    pub votes: Vec<Vote>,
    /// §7.2: Unix microseconds after which the approval resolves as deny.
    pub expires_micros: Option<i64>,
    /// §7.2: the deciding approver's note.
    pub decision_note: Option<String>,
    /// The API key that proposed the action (it may never approve it).
    pub proposed_by: Option<String>,
}

/// What a human decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideOutcome {
    /// The record changed (a vote counted, or a terminal decision).
    Changed(ApprovalRecord),
    /// Nothing changed: already decided, expired, or a repeat vote.
    Unchanged(ApprovalRecord),
}

/// How a release request resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Refused: an `execution`/`deny` receipt with this reason.
    Refuse(String),
    /// Still pending: `needs_approval`, no receipt (as the reference).
    Awaiting,
    /// Approved: consume, then execute under the parking rule.
    Release {
        rule: Option<String>,
        reason: String,
    },
}

impl ApprovalRecord {
    /// A new pending record.
    #[allow(clippy::too_many_arguments)]
    pub fn pending(
        id: String,
        identity: &ActionIdentity,
        instruction: &str,
        rule: Option<String>,
        now_micros: i64,
        reason: Option<String>,
        required_approvers: u32,
        expires_after_seconds: Option<u64>,
    ) -> ApprovalRecord {
        let expires_micros = expires_after_seconds.map(|s| {
            now_micros.saturating_add(
                i64::try_from(s)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1_000_000),
            )
        });
        ApprovalRecord {
            id,
            status: ApprovalStatus::Pending,
            action_fingerprint: identity.action_fingerprint.clone(),
            intent_hash: identity.intent_hash.clone(),
            instruction: instruction.to_owned(),
            rule,
            summary: identity.summary.clone(),
            created_at: format_utc(now_micros),
            created_micros: now_micros,
            decided_at: None,
            approver: None,
            consumed_at: None,
            reason,
            required_approvers: required_approvers.max(1),
            votes: Vec::new(),
            expires_micros,
            decision_note: None,
            proposed_by: None,
        }
    }

    /// The status at `now`: a pending approval past its expiry is `Expired`.
    pub fn status_at(&self, now_micros: i64) -> ApprovalStatus {
        match (self.status, self.expires_micros) {
            (ApprovalStatus::Pending, Some(expiry)) if now_micros >= expiry => {
                ApprovalStatus::Expired
            }
            (status, _) => status,
        }
    }

    /// A human approves or denies. Only a pending, unexpired approval
    /// changes; a deny is final at once, approvals count toward the quorum of
    /// distinct approvers.
    pub fn decide(
        &self,
        approve: bool,
        approver: &str,
        note: Option<&str>,
        now_micros: i64,
    ) -> DecideOutcome {
        if self.status_at(now_micros) != ApprovalStatus::Pending {
            return DecideOutcome::Unchanged(self.clone());
        }
        let mut next = self.clone();
        let at = format_utc(now_micros);
        if !approve {
            next.status = ApprovalStatus::Denied;
            next.decided_at = Some(at);
            next.approver = Some(approver.to_owned());
            next.decision_note = note.map(str::to_owned);
            return DecideOutcome::Changed(next);
        }
        if next.votes.iter().any(|v| v.approver == approver) {
            return DecideOutcome::Unchanged(next);
        }
        next.votes.push(Vote {
            approver: approver.to_owned(),
            at: at.clone(),
            note: note.map(str::to_owned),
        });
        if next.votes.len() >= next.required_approvers as usize {
            next.status = ApprovalStatus::Approved;
            next.decided_at = Some(at);
            next.approver = Some(approver.to_owned());
            next.decision_note = note.map(str::to_owned);
        }
        DecideOutcome::Changed(next)
    }

    /// The record after its release (`approved → consumed`).
    pub fn consumed(&self, now_micros: i64) -> ApprovalRecord {
        let mut next = self.clone();
        next.status = ApprovalStatus::Consumed;
        next.consumed_at = Some(format_utc(now_micros));
        next
    }

    /// The record as JSON: the reference's keys, plus the §7.2 fields.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.as_str().into());
        m.insert("status".into(), self.status.as_str().into());
        m.insert(
            "action_fingerprint".into(),
            self.action_fingerprint.as_str().into(),
        );
        m.insert("intent_hash".into(), self.intent_hash.as_str().into());
        m.insert("instruction".into(), self.instruction.as_str().into());
        m.insert("rule".into(), self.rule.clone().into());
        m.insert("summary".into(), self.summary.as_str().into());
        m.insert("created_at".into(), self.created_at.as_str().into());
        m.insert("created_micros".into(), self.created_micros.into());
        m.insert("decided_at".into(), self.decided_at.clone().into());
        m.insert("approver".into(), self.approver.clone().into());
        if let Some(consumed_at) = &self.consumed_at {
            m.insert("consumed_at".into(), consumed_at.as_str().into());
        }
        m.insert("reason".into(), self.reason.clone().into());
        m.insert(
            "required_approvers".into(),
            i64::from(self.required_approvers).into(),
        );
        let votes = self
            .votes
            .iter()
            .map(|v| {
                let mut vote = Map::new();
                vote.insert("approver".into(), v.approver.as_str().into());
                vote.insert("at".into(), v.at.as_str().into());
                vote.insert("note".into(), v.note.clone().into());
                Value::Object(vote)
            })
            .collect();
        m.insert("approvals".into(), Value::Array(votes));
        m.insert(
            "expires_at".into(),
            self.expires_micros.map(format_utc).into(),
        );
        m.insert("expires_micros".into(), self.expires_micros.into());
        m.insert("decision_note".into(), self.decision_note.clone().into());
        if let Some(proposer) = &self.proposed_by {
            m.insert("proposed_by".into(), proposer.as_str().into());
        }
        Value::Object(m)
    }

    /// Reads a record written by [`Self::to_value`] or by the reference
    /// (whose records lack the §7.2 fields and `created_micros`).
    pub fn from_value(value: &Value) -> Option<ApprovalRecord> {
        let m = value.as_object()?;
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
        let created_at = s("created_at").unwrap_or_default();
        let created_micros = m
            .get("created_micros")
            .and_then(Value::as_i64)
            .or_else(|| crate::time::parse_iso(&created_at))
            .unwrap_or(0);
        let votes = m
            .get("approvals")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| {
                let v = v.as_object()?;
                Some(Vote {
                    approver: v.get("approver")?.as_str()?.to_owned(),
                    at: v
                        .get("at")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    note: v.get("note").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect();
        Some(ApprovalRecord {
            id: s("id")?,
            status: ApprovalStatus::parse(&s("status")?)?,
            action_fingerprint: s("action_fingerprint")?,
            intent_hash: s("intent_hash")?,
            instruction: s("instruction").unwrap_or_default(),
            rule: s("rule"),
            summary: s("summary").unwrap_or_default(),
            created_at,
            created_micros,
            decided_at: s("decided_at"),
            approver: s("approver"),
            consumed_at: s("consumed_at"),
            reason: s("reason"),
            required_approvers: m
                .get("required_approvers")
                .and_then(Value::as_i64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(1)
                .max(1),
            votes,
            expires_micros: m.get("expires_micros").and_then(Value::as_i64),
            decision_note: s("decision_note"),
            proposed_by: s("proposed_by"),
        })
    }
}

/// The §7 release check for `approval_id`, presented with `identity`.
pub fn resolve(
    record: Option<&ApprovalRecord>,
    approval_id: &str,
    identity: &ActionIdentity,
    now_micros: i64,
) -> Resolution {
    let Some(record) = record else {
        return Resolution::Refuse(format!(
            "unknown approval id {}",
            python_repr(&Value::from(approval_id))
        ));
    };
    // P1: the fingerprint guard comes before any status.
    if record.action_fingerprint != identity.action_fingerprint {
        return Resolution::Refuse(format!(
            "approval/action mismatch: this approval was issued for a different action (possible \
             confused-deputy / substituted action); the approval was issued for: {}",
            record.summary
        ));
    }
    // P2: the intent guard.
    if record.intent_hash != identity.intent_hash {
        return Resolution::Refuse(format!(
            "approval/intent mismatch: this approval was issued for a different instruction; the \
             approval was issued for: {}",
            python_repr(&Value::from(record.instruction.as_str()))
        ));
    }
    match record.status_at(now_micros) {
        ApprovalStatus::Pending => Resolution::Awaiting,
        ApprovalStatus::Denied => Resolution::Refuse("human denied this action".into()),
        ApprovalStatus::Expired => Resolution::Refuse(format!(
            "approval expired: no human decision before {}; an expired approval never releases",
            record.expires_micros.map(format_utc).unwrap_or_default()
        )),
        ApprovalStatus::Consumed => Resolution::Refuse(
            "approval already used: this single-use approval has already released its action"
                .into(),
        ),
        ApprovalStatus::Approved => {
            let approvers: Vec<String> = if record.votes.is_empty() {
                vec![python_repr(&record.approver.clone().into())]
            } else {
                record
                    .votes
                    .iter()
                    .map(|v| python_repr(&Value::from(v.approver.as_str())))
                    .collect()
            };
            Resolution::Release {
                rule: record.rule.clone(),
                reason: format!("human approved by {}", approvers.join(" and ")),
            }
        }
    }
}
