//! The single writer: decides queued requests in order, signs their
//! receipts and commits each batch in one durable write before answering.
//! It owns the chain's head and the set of in-flight reservations; it never
//! runs a broker that could block (only local ones).

use std::collections::HashMap;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use delego_spec::json::Value;
use delego_spec::receipt::{Phase, ReceiptPayload, GENESIS};
use delego_spec::token::MintRequest;
use delego_spec::{ActionIdentity, HashedPayload, Outcome, ProposedAction, Receipt};

use super::record::Recorded;
use super::{EngineParts, FirewallError, Reply, Request, Staged, Ticket, MAX_RECEIPT_BYTES};
use crate::approval::{resolve, ApprovalRecord, DecideOutcome, Resolution};
use crate::broker::BrokerFailure;
use crate::decision::Decision;
use crate::evaluate::{AllowCounter, CompiledPolicy, CountError};
use crate::reservation::{Reservation, INTERRUPTED};
use crate::store::{Batch, LedgerStore, StoreError};
use crate::time::format_utc;

/// Requests decided together in one durable write, at most.
const MAX_BATCH: usize = 512;

pub(super) struct Writer<S: LedgerStore> {
    store: Arc<S>,
    policy: Arc<CompiledPolicy>,
    parts: EngineParts,
    /// The committed head's successor.
    next_seq: u64,
    prev_hash: String,
    /// Committed, unsettled reservations, by id.
    inflight: HashMap<u64, Reservation>,
    next_reservation: u64,
    /// Committed receipts the log has not accepted yet, oldest first.
    unpublished: Vec<Receipt>,
}

/// State decided in this batch but not yet committed.
struct Overlay {
    /// Chained but not yet signed: the batch is signed at commit, in
    /// parallel (see [`sign_batch`]).
    receipts: Vec<HashedPayload>,
    approvals: HashMap<String, ApprovalRecord>,
    /// (rule, micros) of allow receipts in this batch.
    allows: Vec<(String, i64)>,
    reserved: Vec<Reservation>,
    settled: Vec<u64>,
    next_seq: u64,
    prev_hash: String,
}

/// A decided request waiting for the batch to commit.
enum Answer {
    Staged(Reply<Staged>, Result<Staged, FirewallError>),
    Decision(Reply<Decision>, Result<Decision, FirewallError>),
    Approval(
        Reply<Option<ApprovalRecord>>,
        Result<Option<ApprovalRecord>, FirewallError>,
    ),
}

/// Allows of a rule: committed receipts, in-flight reservations and what
/// this batch has staged.
struct OverlayCounter<'a, S: LedgerStore> {
    store: &'a S,
    inflight: &'a HashMap<u64, Reservation>,
    overlay: &'a Overlay,
}

impl<S: LedgerStore> AllowCounter for OverlayCounter<'_, S> {
    fn count_allows(&self, rule: &str, since_micros: i64, limit: u64) -> Result<u64, CountError> {
        let counts =
            |r: &Reservation| r.rule.as_deref() == Some(rule) && r.reserved_micros >= since_micros;
        let staged = self
            .overlay
            .allows
            .iter()
            .filter(|(r, t)| r == rule && *t >= since_micros)
            .count()
            + self.overlay.reserved.iter().filter(|r| counts(r)).count()
            + self
                .inflight
                .values()
                .filter(|r| counts(r) && !self.overlay.settled.contains(&r.id))
                .count();
        let staged = staged as u64;
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
    intent_hash: &'a str,
    action_fingerprint: &'a str,
    summary: &'a str,
    approval_id: Option<String>,
}

impl<'a> Entry<'a> {
    fn of(identity: &'a ActionIdentity, phase: Phase, outcome: Outcome) -> Entry<'a> {
        Entry {
            phase,
            outcome,
            rule: None,
            reasons: Vec::new(),
            intent_hash: &identity.intent_hash,
            action_fingerprint: &identity.action_fingerprint,
            summary: &identity.summary,
            approval_id: None,
        }
    }

    fn of_reservation(reservation: &'a Reservation, outcome: Outcome) -> Entry<'a> {
        Entry {
            phase: Phase::Execution,
            outcome,
            rule: reservation.rule.clone(),
            reasons: Vec::new(),
            intent_hash: &reservation.intent_hash,
            action_fingerprint: &reservation.action_fingerprint,
            summary: &reservation.action_summary,
            approval_id: reservation.approval_id.clone(),
        }
    }

    fn decision(&self) -> Decision {
        Decision {
            outcome: self.outcome,
            rule: self.rule.clone(),
            reasons: self.reasons.clone(),
            intent_hash: self.intent_hash.to_owned(),
            action_fingerprint: self.action_fingerprint.to_owned(),
            approval_id: self.approval_id.clone(),
            executed: false,
            result: None,
            token: None,
            receipt_seq: None,
        }
    }
}

/// What an authorised execution carries from decision to receipt.
struct Authorised<'a> {
    action: &'a ProposedAction,
    identity: &'a ActionIdentity,
    rule: Option<String>,
    reasons: Vec<String>,
    approval_id: Option<String>,
    /// The approval moving to `consumed`, for a release.
    consumed: Option<ApprovalRecord>,
}

impl<S: LedgerStore> Writer<S> {
    pub(super) fn new(
        store: Arc<S>,
        policy: Arc<CompiledPolicy>,
        parts: EngineParts,
    ) -> Result<Writer<S>, FirewallError> {
        let head = store.head()?;
        Ok(Writer {
            store,
            policy,
            parts,
            next_seq: head.as_ref().map_or(0, |h| h.seq + 1),
            prev_hash: head.map_or_else(|| GENESIS.to_owned(), |h| h.entry_hash),
            inflight: HashMap::new(),
            next_reservation: 0,
            unpublished: Vec::new(),
        })
    }

    fn overlay(&self) -> Overlay {
        Overlay {
            receipts: Vec::new(),
            approvals: HashMap::new(),
            allows: Vec::new(),
            reserved: Vec::new(),
            settled: Vec::new(),
            next_seq: self.next_seq,
            prev_hash: self.prev_hash.clone(),
        }
    }

    /// Publishes what the ledger holds beyond the log's size (a previous
    /// process committed it but stopped before the log had it). A log ahead
    /// of the ledger is not this ledger's log: refused.
    pub(super) fn catch_up_log(&mut self) -> Result<(), FirewallError> {
        let Some(sink) = self.parts.sink.clone() else {
            return Ok(());
        };
        let mut size = sink.size()?;
        if size > self.next_seq {
            return Err(FirewallError::Log(crate::sink::SinkError(format!(
                "the log holds {size} leaves but the ledger only {}: it is not this ledger's log",
                self.next_seq
            ))));
        }
        while size < self.next_seq {
            let receipts = self.store.receipts(size, 1_000)?;
            if receipts.is_empty() {
                break;
            }
            sink.publish(size, &receipts)?;
            size += receipts.len() as u64;
        }
        Ok(())
    }

    /// Hands the log every committed receipt it does not have yet.
    fn publish(&mut self, committed: &[Receipt]) -> Result<(), FirewallError> {
        let Some(sink) = &self.parts.sink else {
            return Ok(());
        };
        self.unpublished.extend_from_slice(committed);
        let Some(first) = self.unpublished.first() else {
            return Ok(());
        };
        sink.publish(first.payload.seq, &self.unpublished)?;
        self.unpublished.clear();
        Ok(())
    }

    /// Records every reservation a previous process left unsettled as a
    /// `deny` execution receipt, in one durable write.
    pub(super) fn settle_interrupted(&mut self) -> Result<usize, FirewallError> {
        let left = self.store.inflight()?;
        if left.is_empty() {
            return Ok(0);
        }
        let now = self.parts.clock.now_micros();
        let mut overlay = self.overlay();
        for reservation in &left {
            let mut entry = Entry::of_reservation(reservation, Outcome::Deny);
            entry.reasons = reservation.reasons.clone();
            entry.reasons.push(INTERRUPTED.to_owned());
            let receipt = self.next_receipt(&entry, now, &overlay)?;
            Self::stage(receipt, now, &mut overlay);
            overlay.settled.push(reservation.id);
        }
        self.commit(overlay)?;
        Ok(left.len())
    }

    pub(super) fn run(mut self, requests: Receiver<Request>) {
        // Waking each caller costs a system call and often a context switch;
        // a second thread delivers the answers so the writer can go on
        // deciding the next batch meanwhile. Without it, the writer delivers.
        let (deliveries, delivered) = std::sync::mpsc::channel::<Delivery>();
        let deliverer = std::thread::Builder::new()
            .name("delego-replies".into())
            .spawn(move || {
                for (answers, committed) in delivered {
                    deliver(answers, &committed);
                }
            });
        let deliveries = deliverer.is_ok().then_some(deliveries);
        while let Ok(first) = requests.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            let (answers, committed) = self.process(batch);
            match &deliveries {
                Some(deliveries) => {
                    if let Err(std::sync::mpsc::SendError((answers, committed))) =
                        deliveries.send((answers, committed))
                    {
                        deliver(answers, &committed);
                    }
                }
                None => deliver(answers, &committed),
            }
        }
    }

    /// Commits `overlay` and publishes its receipts; once committed the
    /// writer's state moves to it, even if the log did not take them.
    fn commit(&mut self, overlay: Overlay) -> Result<(), FirewallError> {
        let batch = Batch {
            receipts: sign_batch(overlay.receipts, &self.parts.signer)?,
            approvals: overlay.approvals.into_values().collect(),
            reserved: overlay.reserved,
            settled: overlay.settled,
        };
        if !batch.is_empty() {
            self.store.commit(&batch)?;
        }
        self.next_seq = overlay.next_seq;
        self.prev_hash = overlay.prev_hash;
        for id in &batch.settled {
            self.inflight.remove(id);
        }
        for reservation in batch.reserved {
            self.inflight.insert(reservation.id, reservation);
        }
        self.publish(&batch.receipts)
    }

    /// Decides and commits one batch; the answers are delivered after.
    fn process(&mut self, requests: Vec<Request>) -> Delivery {
        let mut overlay = self.overlay();
        let answers: Vec<Answer> = requests
            .into_iter()
            .map(|r| self.handle(r, &mut overlay))
            .collect();
        let committed = self.commit(overlay);
        (answers, committed)
    }

    fn handle(&mut self, request: Request, overlay: &mut Overlay) -> Answer {
        let now = self.parts.clock.now_micros();
        match request {
            Request::Propose {
                action,
                identity,
                proposer,
                reply,
            } => Answer::Staged(
                reply,
                self.propose(action, identity, proposer, now, overlay),
            ),
            Request::Resolve {
                approval_id,
                action,
                identity,
                reply,
            } => Answer::Staged(
                reply,
                self.resolve(&approval_id, action, identity, now, overlay),
            ),
            Request::Settle {
                ticket,
                attempt,
                reply,
            } => Answer::Decision(reply, self.settle(&ticket, attempt, now, overlay)),
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

    /// Hashes the next receipt (it is signed at commit); refuses one the
    /// log could not hold.
    fn next_receipt(
        &self,
        entry: &Entry<'_>,
        now: i64,
        overlay: &Overlay,
    ) -> Result<HashedPayload, FirewallError> {
        Ok(Self::next_payload(entry, now, overlay)?.hash())
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
            intent_hash: entry.intent_hash.to_owned(),
            action_fingerprint: entry.action_fingerprint.to_owned(),
            action_summary: entry.summary.to_owned(),
            approval_id: entry.approval_id.clone(),
            prev_hash: overlay.prev_hash.clone(),
        };
        let bytes = payload.signed_canonical_len();
        if bytes > MAX_RECEIPT_BYTES {
            return Err(FirewallError::TooLarge { bytes });
        }
        Ok(payload)
    }

    /// Adds a hashed receipt to the batch; returns its seq.
    fn stage(receipt: HashedPayload, now: i64, overlay: &mut Overlay) -> u64 {
        let seq = receipt.payload.seq;
        if let (Outcome::Allow, Some(rule)) = (receipt.payload.outcome, &receipt.payload.rule) {
            overlay.allows.push((rule.clone(), now));
        }
        overlay.next_seq += 1;
        overlay.prev_hash = receipt.entry_hash.clone();
        overlay.receipts.push(receipt);
        seq
    }

    /// Stages `receipt` and answers with `entry`'s decision.
    fn done(
        &self,
        entry: &Entry<'_>,
        receipt: HashedPayload,
        now: i64,
        overlay: &mut Overlay,
    ) -> Staged {
        let mut decision = entry.decision();
        decision.receipt_seq = Some(Self::stage(receipt, now, overlay));
        Staged::Done(decision)
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
        &mut self,
        action: ProposedAction,
        identity: ActionIdentity,
        proposer: Option<String>,
        now: i64,
        overlay: &mut Overlay,
    ) -> Result<Staged, FirewallError> {
        let counter = OverlayCounter {
            store: &*self.store,
            inflight: &self.inflight,
            overlay,
        };
        let evaluation = self
            .policy
            .evaluate(&identity, &action.params, &counter, now)
            .map_err(|e| FirewallError::Store(StoreError(e.to_string())))?;
        let mut entry = Entry::of(&identity, Phase::Decision, evaluation.outcome);
        entry.rule = evaluation.rule;
        entry.reasons = evaluation.reasons;
        match evaluation.outcome {
            Outcome::Allow => {
                let authorised = Authorised {
                    action: &action,
                    identity: &identity,
                    rule: entry.rule,
                    reasons: entry.reasons,
                    approval_id: None,
                    consumed: None,
                };
                self.execute(authorised, now, overlay)
            }
            Outcome::NeedsApproval => {
                let approval_id = self.new_approval_id(overlay)?;
                let routing = entry
                    .rule
                    .as_deref()
                    .and_then(|name| self.policy.rule(name))
                    .map(|rule| rule.approval.clone())
                    .unwrap_or_default();
                let mut record = ApprovalRecord::pending(
                    approval_id.clone(),
                    &identity,
                    &action.instruction,
                    entry.rule.clone(),
                    now,
                    routing.reason,
                    routing.required_approvers,
                    routing.expires_after_seconds,
                );
                record.proposed_by = proposer;
                entry.approval_id = Some(approval_id.clone());
                // Signed (and size-checked) before the approval is staged:
                // a refused action must leave no parked approval behind.
                let receipt = self.next_receipt(&entry, now, overlay)?;
                overlay.approvals.insert(approval_id, record);
                Ok(self.done(&entry, receipt, now, overlay))
            }
            Outcome::Deny => {
                let receipt = self.next_receipt(&entry, now, overlay)?;
                Ok(self.done(&entry, receipt, now, overlay))
            }
        }
    }

    fn resolve(
        &mut self,
        approval_id: &str,
        action: ProposedAction,
        identity: ActionIdentity,
        now: i64,
        overlay: &mut Overlay,
    ) -> Result<Staged, FirewallError> {
        let record = self.approval(approval_id, overlay)?;
        let approval = Some(approval_id.to_owned());
        match resolve(record.as_ref(), approval_id, &identity, now) {
            Resolution::Awaiting => {
                let mut entry = Entry::of(&identity, Phase::Decision, Outcome::NeedsApproval);
                entry.reasons = vec!["awaiting human approval".into()];
                entry.approval_id = approval;
                Ok(Staged::Done(entry.decision()))
            }
            Resolution::Refuse(reason) => {
                let mut entry = Entry::of(&identity, Phase::Execution, Outcome::Deny);
                entry.reasons = vec![reason];
                entry.approval_id = approval;
                let receipt = self.next_receipt(&entry, now, overlay)?;
                Ok(self.done(&entry, receipt, now, overlay))
            }
            Resolution::Release { rule, reason } => {
                // Consumed in the same atomic write as the execution receipt
                // (or its reservation), and before any later request can see
                // the approval again.
                let authorised = Authorised {
                    action: &action,
                    identity: &identity,
                    rule,
                    reasons: vec![reason],
                    approval_id: approval,
                    consumed: record.map(|r| r.consumed(now)),
                };
                self.execute(authorised, now, overlay)
            }
        }
    }

    fn mint(&self, authorised: &Authorised<'_>, now: i64) -> Option<String> {
        self.parts.tokens.as_ref().map(|minting| {
            let mut nonces = [0u8; 32];
            self.parts.entropy.fill(&mut nonces);
            minting.issuer.mint(
                &MintRequest {
                    action_fingerprint: &authorised.identity.action_fingerprint,
                    intent_hash: &authorised.identity.intent_hash,
                    audience: &minting.audience,
                    approval_id: authorised.approval_id.as_deref(),
                    subject: None,
                    policy_version: Some(self.policy.policy().version),
                    rule: authorised.rule.as_deref(),
                },
                now.div_euclid(1_000_000),
                &hex::encode(&nonces[..16]),
                &hex::encode(&nonces[16..]),
            )
        })
    }

    /// Executes an authorised action: inline for a local broker, else by
    /// reserving it for the caller's thread.
    fn execute(
        &mut self,
        authorised: Authorised<'_>,
        now: i64,
        overlay: &mut Overlay,
    ) -> Result<Staged, FirewallError> {
        // Refuse an action whose receipt could not be logged before anything
        // acts on it. The longest fixed reason sizes every later form.
        let mut probe = Entry::of(authorised.identity, Phase::Execution, Outcome::Allow);
        probe.rule = authorised.rule.clone();
        probe.reasons = authorised.reasons.clone();
        probe.reasons.push(INTERRUPTED.to_owned());
        probe.approval_id = authorised.approval_id.clone();
        Self::next_payload(&probe, now, overlay)?;
        let token = self.mint(&authorised, now);
        if let Some(consumed) = &authorised.consumed {
            overlay
                .approvals
                .insert(consumed.id.clone(), consumed.clone());
        }
        if self.parts.broker.is_local() {
            let attempt =
                self.parts
                    .broker
                    .execute(authorised.action, authorised.identity, token.as_deref());
            let reservation = self.reservation(&authorised, now);
            return self
                .record(&reservation, token, attempt, now, overlay)
                .map(Staged::Done);
        }
        let reservation = self.reservation(&authorised, now);
        self.next_reservation += 1;
        overlay.reserved.push(reservation.clone());
        Ok(Staged::Execute(Box::new(Ticket {
            reservation,
            action: authorised.action.clone(),
            identity: authorised.identity.clone(),
            token,
        })))
    }

    fn reservation(&self, authorised: &Authorised<'_>, now: i64) -> Reservation {
        Reservation {
            id: self.next_reservation,
            rule: authorised.rule.clone(),
            reasons: authorised.reasons.clone(),
            intent_hash: authorised.identity.intent_hash.clone(),
            action_fingerprint: authorised.identity.action_fingerprint.clone(),
            action_summary: authorised.identity.summary.clone(),
            approval_id: authorised.approval_id.clone(),
            reserved_micros: now,
        }
    }

    /// The execution receipt for `attempt`, staged; the agent's decision.
    fn record(
        &self,
        reservation: &Reservation,
        token: Option<String>,
        attempt: Result<Value, BrokerFailure>,
        now: i64,
        overlay: &mut Overlay,
    ) -> Result<Decision, FirewallError> {
        let fits = |reasons: &[String]| {
            let mut entry = Entry::of_reservation(reservation, Outcome::Deny);
            entry.reasons = reasons.to_vec();
            Self::next_payload(&entry, now, overlay).is_ok()
        };
        let recorded = Recorded::new(reservation.reasons.clone(), attempt, fits);
        let mut entry = Entry::of_reservation(reservation, recorded.outcome);
        entry.reasons = recorded.receipt_reasons;
        let receipt = self.next_receipt(&entry, now, overlay)?;
        let mut decision = entry.decision();
        decision.receipt_seq = Some(Self::stage(receipt, now, overlay));
        decision.reasons = recorded.told;
        decision.executed = recorded.executed;
        decision.token = token.filter(|_| recorded.outcome == Outcome::Allow);
        decision.result = recorded.result;
        Ok(decision)
    }

    fn settle(
        &self,
        ticket: &Ticket,
        attempt: Result<Value, BrokerFailure>,
        now: i64,
        overlay: &mut Overlay,
    ) -> Result<Decision, FirewallError> {
        let id = ticket.reservation.id;
        if !self.inflight.contains_key(&id) || overlay.settled.contains(&id) {
            return Err(FirewallError::Store(StoreError(format!(
                "execution {id} is not in flight"
            ))));
        }
        let decision = self.record(
            &ticket.reservation,
            ticket.token.clone(),
            attempt,
            now,
            overlay,
        )?;
        overlay.settled.push(id);
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

/// A committed (or failed) batch's answers.
type Delivery = (Vec<Answer>, Result<(), FirewallError>);

/// Answers every caller of a batch: its own result, unless the commit
/// failed, which fails them all.
fn deliver(answers: Vec<Answer>, committed: &Result<(), FirewallError>) {
    for answer in answers {
        match answer {
            Answer::Staged(reply, result) => {
                let _ = reply.send(committed.clone().and(result));
            }
            Answer::Decision(reply, result) => {
                let _ = reply.send(committed.clone().and(result));
            }
            Answer::Approval(reply, result) => {
                let _ = reply.send(committed.clone().and(result));
            }
        }
    }
}

/// Below this many receipts a batch is signed on the writer's thread: a
/// helper thread costs more than it saves.
const PARALLEL_SIGNING_MIN: usize = 16;

/// Signs a chained batch, in order. Signing is the writer's largest cost per
/// receipt and the chain does not depend on signatures, so a large batch is
/// split across the machine's cores.
fn sign_batch(
    batch: Vec<HashedPayload>,
    key: &delego_spec::keys::SigningKey,
) -> Result<Vec<Receipt>, FirewallError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || batch.len() < PARALLEL_SIGNING_MIN {
        return Ok(batch.into_iter().map(|h| h.sign(key)).collect());
    }
    let chunk = batch.len().div_ceil(cores);
    let mut parts: Vec<Vec<HashedPayload>> = Vec::with_capacity(cores);
    let mut rest = batch;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        parts.push(rest);
        rest = tail;
    }
    parts.push(rest);
    let mut first = parts.remove(0);
    std::thread::scope(|scope| {
        let helpers: Vec<_> = parts
            .into_iter()
            .map(|part| {
                scope.spawn(move || part.into_iter().map(|h| h.sign(key)).collect::<Vec<_>>())
            })
            .collect();
        let mut signed: Vec<Receipt> = std::mem::take(&mut first)
            .into_iter()
            .map(|h| h.sign(key))
            .collect();
        for helper in helpers {
            // A helper that died took its part with it: the whole batch
            // fails (nothing is committed) rather than commit a gap.
            signed.extend(helper.join().map_err(|_| FirewallError::Signing)?);
        }
        Ok(signed)
    })
}
