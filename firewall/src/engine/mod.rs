//! The firewall engine: one writer thread owns the chain. Proposals, release
//! requests, human decisions and execution results queue to it; it decides
//! each in order against the committed state plus everything decided earlier
//! in the same batch, signs the receipts, and commits the whole batch in one
//! durable write (group commit) before answering anyone. So `rate_limit` is
//! exact (the serialized single-writer class of spec §5), the chain never
//! forks, and nothing is acknowledged before it is durable.
//!
//! Execution: a local broker (no I/O, see [`Broker::is_local`]) runs inside
//! the writer, and its receipt commits with the decision. Any other broker
//! runs on the caller's thread, outside the writer: the writer first commits
//! a reservation (with the approval's `approved → consumed` move), the broker
//! runs once, and the writer then commits the execution receipt that settles
//! the reservation. A reservation counts toward its rule's rate limit while
//! in flight; one left by a crash is settled at start-up by a `deny` receipt
//! saying the outcome is unknown (see [`crate::reservation`]).

mod record;
mod writer;

use std::sync::mpsc::{self, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use delego_spec::json::Value;
use delego_spec::keys::SigningKey;
use delego_spec::token::TokenIssuer;
use delego_spec::{ActionIdentity, ProposedAction};

pub use record::{is_broker_refusal, EXECUTED};

use crate::approval::ApprovalRecord;
use crate::broker::{Broker, BrokerFailure};
use crate::decision::Decision;
use crate::evaluate::CompiledPolicy;
use crate::reservation::Reservation;
use crate::sink::{ReceiptSink, SinkError};
use crate::store::{LedgerStore, StoreError};
use writer::Writer;

/// The transparency log's maximum entry size (C2SP tlog-tiles): a receipt
/// larger than this could never be logged, so its action is refused.
pub const MAX_RECEIPT_BYTES: usize = 65_535;

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
    /// Committed to the ledger but not (yet) in the transparency log; it is
    /// published again before anything newer, and never reported executed.
    #[error("{0}; the decision is recorded in the ledger but was not acknowledged")]
    Log(SinkError),
    #[error("the firewall has stopped")]
    Stopped,
    /// A signing thread failed; the batch was not committed.
    #[error("signing failed; nothing was recorded")]
    Signing,
}

// Not `#[from]`: that would also make the sink error the `source`, and a
// report of the chain (`{:#}`) would print its message twice.
impl From<SinkError> for FirewallError {
    fn from(error: SinkError) -> FirewallError {
        FirewallError::Log(error)
    }
}

/// Everything the engine needs besides the store and the policy.
pub struct EngineParts {
    pub signer: SigningKey,
    pub broker: Arc<dyn Broker>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub tokens: Option<TokenMinting>,
    /// The transparency log receipts are published to before answering
    /// (none: the log reads the ledger's own store, or there is no log).
    pub sink: Option<Arc<dyn ReceiptSink>>,
    /// Spec §8.3 anchored durability: an execution is reported only once a
    /// witnessed checkpoint covers its receipt (needs `sink`), waiting at
    /// most this long.
    pub anchored: Option<std::time::Duration>,
}

impl EngineParts {
    /// The parts of a firewall that executes nothing: the null broker, the
    /// system clock, OS entropy, no tokens, no separate log, no anchoring.
    /// Set the other fields with struct update syntax.
    pub fn local(signer: SigningKey) -> EngineParts {
        EngineParts {
            signer,
            broker: Arc::new(crate::broker::NullBroker),
            clock: Arc::new(SystemClock),
            entropy: Arc::new(OsEntropy),
            tokens: None,
            sink: None,
            anchored: None,
        }
    }
}

type Reply<T> = SyncSender<Result<T, FirewallError>>;

/// An execution the writer reserved for a broker that runs outside it.
struct Ticket {
    reservation: Reservation,
    action: ProposedAction,
    identity: ActionIdentity,
    token: Option<String>,
}

/// The writer's answer to a proposal or release: final, or an execution to
/// run before the final answer.
enum Staged {
    Done(Decision),
    Execute(Box<Ticket>),
}

enum Request {
    Propose {
        action: ProposedAction,
        identity: ActionIdentity,
        proposer: Option<String>,
        reply: Reply<Staged>,
    },
    Resolve {
        approval_id: String,
        action: ProposedAction,
        identity: ActionIdentity,
        reply: Reply<Staged>,
    },
    Settle {
        ticket: Box<Ticket>,
        attempt: Result<Value, BrokerFailure>,
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
    broker: Arc<dyn Broker>,
    sink: Option<Arc<dyn ReceiptSink>>,
    anchored: Option<std::time::Duration>,
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
    /// Starts the engine over `store`, continuing its chain. Executions a
    /// previous process left in flight are settled first, as `deny`.
    pub fn start(
        store: Arc<S>,
        policy: CompiledPolicy,
        parts: EngineParts,
    ) -> Result<Firewall<S>, FirewallError> {
        let policy = Arc::new(policy);
        let clock = parts.clock.clone();
        let broker = parts.broker.clone();
        let (sink, anchored) = (parts.sink.clone(), parts.anchored);
        if anchored.is_some() && sink.is_none() {
            return Err(FirewallError::Log(SinkError(
                "anchored durability needs a transparency log".into(),
            )));
        }
        let mut writer = Writer::new(store.clone(), policy.clone(), parts)?;
        writer.catch_up_log()?;
        writer.settle_interrupted()?;
        let (sender, receiver) = mpsc::channel();
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
            broker,
            sink,
            anchored,
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

    /// Under anchored durability, holds an execution's report until a
    /// witnessed checkpoint covers its receipt.
    fn anchor(&self, decision: Decision) -> Result<Decision, FirewallError> {
        if let (Some(timeout), Some(sink), true, Some(seq)) = (
            self.anchored,
            &self.sink,
            decision.executed,
            decision.receipt_seq,
        ) {
            sink.wait_witnessed(seq, timeout)?;
        }
        Ok(decision)
    }

    /// Runs a reserved execution on this thread, then records it.
    fn finish(&self, staged: Staged) -> Result<Decision, FirewallError> {
        let ticket = match staged {
            Staged::Done(decision) => return self.anchor(decision),
            Staged::Execute(ticket) => ticket,
        };
        // A panicking broker must still settle its reservation.
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.broker
                .execute(&ticket.action, &ticket.identity, ticket.token.as_deref())
        }))
        .unwrap_or_else(|_| {
            Err(BrokerFailure::Unknown {
                reason: format!("broker {} panicked", self.broker.name()),
                result: None,
            })
        });
        let decision = self.call(|reply| Request::Settle {
            ticket,
            attempt,
            reply,
        })?;
        self.anchor(decision)
    }

    /// Decides a proposed action (spec §6); executes it if allowed.
    pub fn propose(&self, action: ProposedAction) -> Result<Decision, FirewallError> {
        self.propose_as(action, None)
    }

    /// As [`Self::propose`], recording which API key proposed it: that key
    /// may never approve the approval it parks.
    pub fn propose_as(
        &self,
        action: ProposedAction,
        proposer: Option<&str>,
    ) -> Result<Decision, FirewallError> {
        let identity = validate_action(&action)?;
        let proposer = proposer.map(str::to_owned);
        let staged = self.call(|reply| Request::Propose {
            action,
            identity,
            proposer,
            reply,
        })?;
        self.finish(staged)
    }

    /// Presents an action to release approval `approval_id` (spec §7).
    pub fn resolve(
        &self,
        approval_id: &str,
        action: ProposedAction,
    ) -> Result<Decision, FirewallError> {
        let identity = validate_action(&action)?;
        let approval_id = approval_id.to_owned();
        let staged = self.call(|reply| Request::Resolve {
            approval_id,
            action,
            identity,
            reply,
        })?;
        self.finish(staged)
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
