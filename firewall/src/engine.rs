//! The firewall engine: one writer thread owns the chain. Proposals, release
//! requests and human decisions queue to it; it decides each in order
//! against the committed state plus everything decided earlier in the same
//! batch, signs the receipts, and commits the whole batch in one durable
//! write (group commit) before answering anyone. So `rate_limit` is exact (the
//! serialized single-writer class of spec §5), the chain never forks, and
//! nothing is acknowledged before it is durable.
//!
//! The broker runs inside the writer, before the batch commits: the receipt
//! and the `approved → consumed` transition reach the disk together, so no
//! caller is told "executed" before its receipt is durable.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use delego_spec::keys::SigningKey;
use delego_spec::receipt::{Phase, ReceiptPayload, GENESIS};
use delego_spec::token::{MintRequest, TokenIssuer};
use delego_spec::{ActionIdentity, Outcome, ProposedAction, Receipt};

use crate::approval::{resolve, ApprovalRecord, DecideOutcome, Resolution};
use crate::broker::Broker;
use crate::decision::Decision;
use crate::evaluate::{AllowCounter, CompiledPolicy, CountError};
use crate::store::{Batch, LedgerStore, StoreError};
use crate::time::format_utc;

/// The transparency log's maximum entry size (C2SP tlog-tiles): a receipt
/// larger than this could never be logged, so its action is refused.
pub const MAX_RECEIPT_BYTES: usize = 65_535;

/// Requests decided together in one durable write, at most.
const MAX_BATCH: usize = 512;

/// The source of time. Injected so evaluation stays a pure function of it.
pub trait Clock: Send + Sync + 'static {
    /// Unix time in microseconds.
    fn now_micros(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }
}

/// The source of approval ids and token nonces.
pub trait Entropy: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        use rand_core::RngCore;
        rand_core::OsRng.fill_bytes(buf);
    }
}

/// §9 token minting, opt-in.
pub struct TokenMinting {
    pub issuer: TokenIssuer,
    pub audience: String,
}

/// Why a request was refused without a decision. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FirewallError {
    #[error("invalid action: {0}")]
    InvalidAction(String),
    #[error("action too large: its receipt would be {bytes} bytes; the transparency log accepts at most {MAX_RECEIPT_BYTES}")]
    TooLarge { bytes: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the firewall has stopped")]
    Stopped,
}

/// Everything the engine needs besides the store and the policy.
pub struct EngineParts {
    pub signer: SigningKey,
    pub broker: Box<dyn Broker>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub tokens: Option<TokenMinting>,
}

type Reply<T> = SyncSender<Result<T, FirewallError>>;

enum Request {
    Propose {
        action: ProposedAction,
        identity: ActionIdentity,
        reply: Reply<Decision>,
    },
    Resolve {
        approval_id: String,
        action: ProposedAction,
        identity: ActionIdentity,
        reply: Reply<Decision>,
    },
    Decide {
        approval_id: String,
        approve: bool,
        approver: String,
        note: Option<String>,
        reply: Reply<Option<ApprovalRecord>>,
    },
}

/// The authorizer. Cheap to share behind an `Arc`; every method blocks until
/// its answer is durable.
pub struct Firewall<S: LedgerStore> {
    store: Arc<S>,
    policy: Arc<CompiledPolicy>,
    clock: Arc<dyn Clock>,
    sender: Mutex<Option<Sender<Request>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// Checks what evaluation cannot: an absolute URL, a method. Returns the
/// derived values.
pub fn validate_action(action: &ProposedAction) -> Result<ActionIdentity, FirewallError> {
    if action.method.trim().is_empty() {
        return Err(FirewallError::InvalidAction(
            "field 'method' must not be empty".into(),
        ));
    }
    let split = delego_spec::url::urlsplit(&action.url)
        .map_err(|e| FirewallError::InvalidAction(format!("field 'url': {e}")))?;
    if split.scheme.is_empty() || split.netloc.is_empty() {
        return Err(FirewallError::InvalidAction(format!(
            "field 'url' must be an absolute URL with a scheme and a host, got {:?}",
            action.url
        )));
    }
    action
        .identity()
        .map_err(|e| FirewallError::InvalidAction(format!("field 'url': {e}")))
}

impl<S: LedgerStore> Firewall<S> {
    /// Starts the engine over `store`, continuing its chain.
    pub fn start(
        store: Arc<S>,
        policy: CompiledPolicy,
        parts: EngineParts,
    ) -> Result<Firewall<S>, FirewallError> {
        let head = store.head()?;
        let policy = Arc::new(policy);
        let (sender, receiver) = mpsc::channel();
        let clock = parts.clock.clone();
        let writer = Writer {
            store: store.clone(),
            policy: policy.clone(),
            next_seq: head.as_ref().map_or(0, |h| h.seq + 1),
            prev_hash: head.map_or_else(|| GENESIS.to_owned(), |h| h.entry_hash),
            parts,
        };
        let handle = std::thread::Builder::new()
            .name("delego-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| {
                FirewallError::Store(StoreError(format!("cannot start the writer thread: {e}")))
            })?;
        Ok(Firewall {
            store,
            policy,
            clock,
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(handle)),
        })
    }

    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    pub fn policy(&self) -> &CompiledPolicy {
        &self.policy
    }

    pub fn now_micros(&self) -> i64 {
        self.clock.now_micros()
    }

    fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, FirewallError> {
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let sender = self.sender.lock().map_err(|_| FirewallError::Stopped)?;
            sender
                .as_ref()
                .ok_or(FirewallError::Stopped)?
                .send(make(reply))
                .map_err(|_| FirewallError::Stopped)?;
        }
        answer.recv().map_err(|_| FirewallError::Stopped)?
    }

    /// Decides a proposed action (spec §6); executes it if allowed.
    pub fn propose(&self, action: ProposedAction) -> Result<Decision, FirewallError> {
        let identity = validate_action(&action)?;
        self.call(|reply| Request::Propose {
            action,
            identity,
            reply,
        })
    }

    /// Presents an action to release approval `approval_id` (spec §7).
    pub fn resolve(
        &self,
        approval_id: &str,
        action: ProposedAction,
    ) -> Result<Decision, FirewallError> {
        let identity = validate_action(&action)?;
        let approval_id = approval_id.to_owned();
        self.call(|reply| Request::Resolve {
            approval_id,
            action,
            identity,
            reply,
        })
    }

    /// A human approves or denies. `None` when no such approval exists.
    pub fn decide(
        &self,
        approval_id: &str,
        approve: bool,
        approver: &str,
        note: Option<&str>,
    ) -> Result<Option<ApprovalRecord>, FirewallError> {
        let (approval_id, approver, note) = (
            approval_id.to_owned(),
            approver.to_owned(),
            note.map(str::to_owned),
        );
        self.call(|reply| Request::Decide {
            approval_id,
            approve,
            approver,
            note,
            reply,
        })
    }

    /// Stops the writer after the requests already queued.
    pub fn shutdown(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        if let Some(handle) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = handle.join();
        }
    }
}

impl<S: LedgerStore> Drop for Firewall<S> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Writer<S: LedgerStore> {
    store: Arc<S>,
    policy: Arc<CompiledPolicy>,
    parts: EngineParts,
    /// The committed head's successor.
    next_seq: u64,
    prev_hash: String,
}

/// State decided in this batch but not yet committed.
struct Overlay {
    receipts: Vec<Receipt>,
    approvals: HashMap<String, ApprovalRecord>,
    /// (rule, micros) of allow receipts in this batch.
    allows: Vec<(String, i64)>,
    next_seq: u64,
    prev_hash: String,
}

/// A decided request waiting for the batch to commit.
enum Answer {
    Decision(Reply<Decision>, Result<Decision, FirewallError>),
    Approval(
        Reply<Option<ApprovalRecord>>,
        Result<Option<ApprovalRecord>, FirewallError>,
    ),
}

struct OverlayCounter<'a, S: LedgerStore> {
    store: &'a S,
    overlay: &'a Overlay,
}

impl<S: LedgerStore> AllowCounter for OverlayCounter<'_, S> {
    fn count_allows(&self, rule: &str, since_micros: i64, limit: u64) -> Result<u64, CountError> {
        let staged = self
            .overlay
            .allows
            .iter()
            .filter(|(r, t)| r == rule && *t >= since_micros)
            .count() as u64;
        if staged >= limit {
            return Ok(staged);
        }
        let stored = self
            .store
            .count_allows(rule, since_micros, limit - staged)
            .map_err(|e| CountError::Storage(e.0))?;
        Ok(staged + stored)
    }
}

/// The receipt fields a request decides; the writer adds seq, time and link.
struct Entry<'a> {
    phase: Phase,
    outcome: Outcome,
    rule: Option<String>,
    reasons: Vec<String>,
    identity: &'a ActionIdentity,
    approval_id: Option<String>,
}

impl<S: LedgerStore> Writer<S> {
    fn run(mut self, requests: Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            self.process(batch);
        }
    }

    fn process(&mut self, requests: Vec<Request>) {
        let mut overlay = Overlay {
            receipts: Vec::new(),
            approvals: HashMap::new(),
            allows: Vec::new(),
            next_seq: self.next_seq,
            prev_hash: self.prev_hash.clone(),
        };
        let answers: Vec<Answer> = requests
            .into_iter()
            .map(|r| self.handle(r, &mut overlay))
            .collect();
        let batch = Batch {
            receipts: std::mem::take(&mut overlay.receipts),
            approvals: overlay.approvals.into_values().collect(),
        };
        let committed = if batch.is_empty() {
            Ok(())
        } else {
            self.store.commit(&batch)
        };
        if committed.is_ok() {
            self.next_seq = overlay.next_seq;
            self.prev_hash = overlay.prev_hash;
        }
        for answer in answers {
            match answer {
                Answer::Decision(reply, result) => {
                    let _ = reply.send(committed.clone().map_err(FirewallError::from).and(result));
                }
                Answer::Approval(reply, result) => {
                    let _ = reply.send(committed.clone().map_err(FirewallError::from).and(result));
                }
            }
        }
    }

    fn handle(&self, request: Request, overlay: &mut Overlay) -> Answer {
        let now = self.parts.clock.now_micros();
        match request {
            Request::Propose {
                action,
                identity,
                reply,
            } => Answer::Decision(reply, self.propose(&action, &identity, now, overlay)),
            Request::Resolve {
                approval_id,
                action,
                identity,
                reply,
            } => Answer::Decision(
                reply,
                self.resolve(&approval_id, &action, &identity, now, overlay),
            ),
            Request::Decide {
                approval_id,
                approve,
                approver,
                note,
                reply,
            } => Answer::Approval(
                reply,
                self.decide(
                    &approval_id,
                    approve,
                    &approver,
                    note.as_deref(),
                    now,
                    overlay,
                ),
            ),
        }
    }

    fn approval(
        &self,
        id: &str,
        overlay: &Overlay,
    ) -> Result<Option<ApprovalRecord>, FirewallError> {
        match overlay.approvals.get(id) {
            Some(record) => Ok(Some(record.clone())),
            None => Ok(self.store.approval(id)?),
        }
    }

    /// Signs the next receipt; refuses one the log could not hold.
    fn next_receipt(
        &self,
        entry: &Entry<'_>,
        now: i64,
        overlay: &Overlay,
    ) -> Result<Receipt, FirewallError> {
        Ok(Self::next_payload(entry, now, overlay)?.sign(&self.parts.signer))
    }

    /// The next receipt's payload, refused when the signed receipt could not
    /// be logged. Sizing needs no signature, so oversized actions cost no
    /// signing.
    fn next_payload(
        entry: &Entry<'_>,
        now: i64,
        overlay: &Overlay,
    ) -> Result<ReceiptPayload, FirewallError> {
        let payload = ReceiptPayload {
            seq: overlay.next_seq,
            ts: format_utc(now),
            phase: entry.phase,
            outcome: entry.outcome,
            rule: entry.rule.clone(),
            reasons: entry.reasons.clone(),
            intent_hash: entry.identity.intent_hash.clone(),
            action_fingerprint: entry.identity.action_fingerprint.clone(),
            action_summary: entry.identity.summary.clone(),
            approval_id: entry.approval_id.clone(),
            prev_hash: overlay.prev_hash.clone(),
        };
        let bytes = payload.signed_canonical_len();
        if bytes > MAX_RECEIPT_BYTES {
            return Err(FirewallError::TooLarge { bytes });
        }
        Ok(payload)
    }

    fn stage(receipt: Receipt, now: i64, overlay: &mut Overlay) {
        if let (Outcome::Allow, Some(rule)) = (receipt.payload.outcome, &receipt.payload.rule) {
            overlay.allows.push((rule.clone(), now));
        }
        overlay.next_seq += 1;
        overlay.prev_hash = receipt.entry_hash.clone();
        overlay.receipts.push(receipt);
    }

    fn decision(entry: &Entry<'_>) -> Decision {
        Decision {
            outcome: entry.outcome,
            rule: entry.rule.clone(),
            reasons: entry.reasons.clone(),
            intent_hash: entry.identity.intent_hash.clone(),
            action_fingerprint: entry.identity.action_fingerprint.clone(),
            approval_id: entry.approval_id.clone(),
            executed: false,
            result: None,
            token: None,
        }
    }

    fn new_approval_id(&self, overlay: &Overlay) -> Result<String, FirewallError> {
        loop {
            let mut bytes = [0u8; 6];
            self.parts.entropy.fill(&mut bytes);
            let id = format!("apr_{}", hex::encode(bytes));
            if self.approval(&id, overlay)?.is_none() {
                return Ok(id);
            }
        }
    }

    fn propose(
        &self,
        action: &ProposedAction,
        identity: &ActionIdentity,
        now: i64,
        overlay: &mut Overlay,
    ) -> Result<Decision, FirewallError> {
        let counter = OverlayCounter {
            store: &*self.store,
            overlay,
        };
        let evaluation = self
            .policy
            .evaluate(identity, &action.params, &counter, now)
            .map_err(|e| FirewallError::Store(StoreError(e.to_string())))?;
        match evaluation.outcome {
            Outcome::Allow => self.execute(
                action,
                identity,
                evaluation.rule,
                evaluation.reasons,
                None,
                None,
                now,
                overlay,
            ),
            Outcome::NeedsApproval => {
                let approval_id = self.new_approval_id(overlay)?;
                let routing = evaluation
                    .rule
                    .as_deref()
                    .and_then(|name| self.policy.rule(name))
                    .map(|rule| rule.approval.clone())
                    .unwrap_or_default();
                let record = ApprovalRecord::pending(
                    approval_id.clone(),
                    identity,
                    &action.instruction,
                    evaluation.rule.clone(),
                    now,
                    routing.reason,
                    routing.required_approvers,
                    routing.expires_after_seconds,
                );
                let entry = Entry {
                    phase: Phase::Decision,
                    outcome: Outcome::NeedsApproval,
                    rule: evaluation.rule,
                    reasons: evaluation.reasons,
                    identity,
                    approval_id: Some(approval_id.clone()),
                };
                let receipt = self.next_receipt(&entry, now, overlay)?;
                Self::stage(receipt, now, overlay);
                overlay.approvals.insert(approval_id, record);
                Ok(Self::decision(&entry))
            }
            Outcome::Deny => {
                let entry = Entry {
                    phase: Phase::Decision,
                    outcome: Outcome::Deny,
                    rule: evaluation.rule,
                    reasons: evaluation.reasons,
                    identity,
                    approval_id: None,
                };
                let receipt = self.next_receipt(&entry, now, overlay)?;
                Self::stage(receipt, now, overlay);
                Ok(Self::decision(&entry))
            }
        }
    }

    fn resolve(
        &self,
        approval_id: &str,
        action: &ProposedAction,
        identity: &ActionIdentity,
        now: i64,
        overlay: &mut Overlay,
    ) -> Result<Decision, FirewallError> {
        let record = self.approval(approval_id, overlay)?;
        match resolve(record.as_ref(), approval_id, identity, now) {
            Resolution::Awaiting => Ok(Self::decision(&Entry {
                phase: Phase::Decision,
                outcome: Outcome::NeedsApproval,
                rule: None,
                reasons: vec!["awaiting human approval".into()],
                identity,
                approval_id: Some(approval_id.to_owned()),
            })),
            Resolution::Refuse(reason) => {
                let entry = Entry {
                    phase: Phase::Execution,
                    outcome: Outcome::Deny,
                    rule: None,
                    reasons: vec![reason],
                    identity,
                    approval_id: Some(approval_id.to_owned()),
                };
                let receipt = self.next_receipt(&entry, now, overlay)?;
                Self::stage(receipt, now, overlay);
                Ok(Self::decision(&entry))
            }
            Resolution::Release { rule, reason } => {
                // Consumed in the same atomic write as the execution receipt,
                // and before any later request can see the approval again.
                let consumed = record.map(|r| r.consumed(now));
                self.execute(
                    action,
                    identity,
                    rule,
                    vec![reason],
                    Some(approval_id.to_owned()),
                    consumed,
                    now,
                    overlay,
                )
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        action: &ProposedAction,
        identity: &ActionIdentity,
        rule: Option<String>,
        reasons: Vec<String>,
        approval_id: Option<String>,
        consumed: Option<ApprovalRecord>,
        now: i64,
        overlay: &mut Overlay,
    ) -> Result<Decision, FirewallError> {
        let token = self.parts.tokens.as_ref().map(|minting| {
            let mut nonces = [0u8; 32];
            self.parts.entropy.fill(&mut nonces);
            minting.issuer.mint(
                &MintRequest {
                    action_fingerprint: &identity.action_fingerprint,
                    intent_hash: &identity.intent_hash,
                    audience: &minting.audience,
                    approval_id: approval_id.as_deref(),
                    subject: None,
                    policy_version: Some(self.policy.policy().version),
                    rule: rule.as_deref(),
                },
                now.div_euclid(1_000_000),
                &hex::encode(&nonces[..16]),
                &hex::encode(&nonces[16..]),
            )
        });
        // Refuse an oversized action before the broker could act on it.
        let probe = Entry {
            phase: Phase::Execution,
            outcome: Outcome::Allow,
            rule: rule.clone(),
            reasons: reasons
                .iter()
                .cloned()
                .chain(["executed via broker".to_owned()])
                .collect(),
            identity,
            approval_id: approval_id.clone(),
        };
        Self::next_payload(&probe, now, overlay)?;
        let executed = self
            .parts
            .broker
            .execute(action, identity, token.as_deref());
        // The receipt says "executed via broker"; the agent is told the
        // decision's own reasons, as the reference does.
        let (entry, told, result) = match executed {
            Ok(result) => (probe, reasons, Some(result)),
            Err(failure) => {
                let failed: Vec<String> = reasons
                    .into_iter()
                    .chain([format!("broker did not execute: {failure}")])
                    .collect();
                (
                    Entry {
                        outcome: Outcome::Deny,
                        reasons: failed.clone(),
                        ..probe
                    },
                    failed,
                    None,
                )
            }
        };
        let receipt = self.next_receipt(&entry, now, overlay)?;
        Self::stage(receipt, now, overlay);
        if let Some(consumed) = consumed {
            overlay.approvals.insert(consumed.id.clone(), consumed);
        }
        let mut decision = Self::decision(&entry);
        decision.reasons = told;
        decision.executed = result.is_some();
        decision.token = if result.is_some() { token } else { None };
        decision.result = result;
        Ok(decision)
    }

    fn decide(
        &self,
        approval_id: &str,
        approve: bool,
        approver: &str,
        note: Option<&str>,
        now: i64,
        overlay: &mut Overlay,
    ) -> Result<Option<ApprovalRecord>, FirewallError> {
        let Some(record) = self.approval(approval_id, overlay)? else {
            return Ok(None);
        };
        Ok(Some(match record.decide(approve, approver, note, now) {
            DecideOutcome::Changed(next) => {
                overlay.approvals.insert(next.id.clone(), next.clone());
                next
            }
            DecideOutcome::Unchanged(same) => same,
        }))
    }
}
