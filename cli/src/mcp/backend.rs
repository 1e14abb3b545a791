//! What the MCP tools act on, behind one trait: the engine of this process
//! (`delego serve`'s, for `/mcp`), or the home seen from `delego mcp` — the
//! running server's `/v1` API when there is one, else the home's own store,
//! opened for the length of one call.
//!
//! Backends return the firewall's own JSON (decisions, receipts, approval
//! records, the policy summary); the tools shape it. No backend can approve
//! or deny: the trait has no such method, by design (spec §7.3).

use std::sync::{Arc, Mutex};

use delego_firewall::api::keys::{Caller, Role};
use delego_firewall::approval::{ApprovalRecord, ApprovalStatus};
use delego_firewall::engine::{Clock as _, Firewall, SystemClock};
use delego_firewall::policy_summary::policy_summary;
use delego_firewall::store::LedgerStore;
use delego_spec::json::{parse, Value};
use delego_spec::ProposedAction;

use super::remote::{running_server, RemoteBackend};
use crate::home::Home;

/// Why a call produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendError {
    /// The home is not initialised (no policy or signing key): the agent is
    /// told the one-time setup step instead of an error.
    SetupRequired(String),
    /// Refused or failed, with the reason.
    Failed(String),
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendError::SetupRequired(reason) | BackendError::Failed(reason) => {
                f.write_str(reason)
            }
        }
    }
}

impl std::error::Error for BackendError {}

impl BackendError {
    pub fn failed(error: impl std::fmt::Display) -> BackendError {
        BackendError::Failed(error.to_string())
    }
}

pub type Answer<T> = Result<T, BackendError>;

/// The firewall as the tools see it. Every method blocks until its answer
/// is durable; callers run them off the async workers. `caller` is the
/// authenticated key over `/mcp`, and `None` for `delego mcp`, whose caller
/// is whoever may run the binary on the home.
pub trait FirewallBackend: Send + Sync + 'static {
    /// Decides an action; its decision as JSON.
    fn propose(&self, action: ProposedAction, caller: Option<&Caller>) -> Answer<Value>;
    /// Presents an action to release an approval; the decision as JSON.
    fn resolve(&self, approval_id: &str, action: ProposedAction) -> Answer<Value>;
    /// The newest `lines` receipts, oldest first.
    fn audit_tail(&self, lines: u64) -> Answer<Vec<Value>>;
    /// Approvals still awaiting a human (an agent key sees only its own).
    fn pending(&self, caller: Option<&Caller>) -> Answer<Vec<ApprovalRecord>>;
    /// The policy in force, summarised.
    fn policy(&self) -> Answer<Value>;
}

// ---------------------------------------------------------------- engine

/// The engine this process runs (`delego serve`).
pub struct EngineBackend<S: LedgerStore> {
    firewall: Arc<Firewall<S>>,
}

impl<S: LedgerStore> EngineBackend<S> {
    pub fn new(firewall: Arc<Firewall<S>>) -> EngineBackend<S> {
        EngineBackend { firewall }
    }
}

impl<S: LedgerStore> FirewallBackend for EngineBackend<S> {
    fn propose(&self, action: ProposedAction, caller: Option<&Caller>) -> Answer<Value> {
        let proposer = caller.map(|c| c.name.as_str());
        let decision = self
            .firewall
            .propose_as(action, proposer)
            .map_err(BackendError::failed)?;
        Ok(decision.to_value())
    }

    fn resolve(&self, approval_id: &str, action: ProposedAction) -> Answer<Value> {
        let decision = self
            .firewall
            .resolve(approval_id, action)
            .map_err(BackendError::failed)?;
        Ok(decision.to_value())
    }

    fn audit_tail(&self, lines: u64) -> Answer<Vec<Value>> {
        tail(self.firewall.store().as_ref(), lines)
    }

    fn pending(&self, caller: Option<&Caller>) -> Answer<Vec<ApprovalRecord>> {
        pending(
            self.firewall.store().as_ref(),
            self.firewall.now_micros(),
            caller,
        )
    }

    fn policy(&self) -> Answer<Value> {
        Ok(policy_summary(self.firewall.policy().policy()))
    }
}

/// The newest `lines` receipts of `store`, as the API serves them.
fn tail<S: LedgerStore>(store: &S, lines: u64) -> Answer<Vec<Value>> {
    let head = store.head().map_err(BackendError::failed)?;
    let next = head.map_or(0, |h| h.seq + 1);
    let receipts = store
        .receipts(next.saturating_sub(lines), lines as usize)
        .map_err(BackendError::failed)?;
    receipts
        .iter()
        .map(|r| parse(&r.canonical_json()).map_err(BackendError::failed))
        .collect()
}

/// Approvals pending at `now` (not expired); an agent's own only, as the
/// API shows them.
fn pending<S: LedgerStore>(
    store: &S,
    now: i64,
    caller: Option<&Caller>,
) -> Answer<Vec<ApprovalRecord>> {
    let records = store.pending_approvals().map_err(BackendError::failed)?;
    Ok(records
        .into_iter()
        .filter(|r| r.status_at(now) == ApprovalStatus::Pending)
        .filter(|r| match caller {
            Some(c) if c.role == Role::Agent => r.proposed_by.as_deref() == Some(c.name.as_str()),
            _ => true,
        })
        .collect())
}

// ------------------------------------------------------------------ home

/// The home of `delego mcp`. Each call goes to the running `delego serve`
/// when there is one (so its single writer keeps rate limits exact across
/// every agent); otherwise it opens the home's store for that call only, so
/// `delego approve` can run between calls.
pub struct HomeBackend {
    home: Home,
    /// One in-process call at a time: the store admits one opener.
    local: Mutex<()>,
}

impl HomeBackend {
    pub fn new(home: &Home) -> HomeBackend {
        HomeBackend {
            home: Home {
                dir: home.dir.clone(),
            },
            local: Mutex::new(()),
        }
    }

    /// Where this call goes.
    fn route(&self) -> Answer<Route<'_>> {
        match running_server(&self.home).map_err(home_error)? {
            Some(server) => Ok(Route::Server(
                RemoteBackend::new(server).map_err(home_error)?,
            )),
            None => {
                self.check_setup()?;
                // The lock guards no data, only exclusivity: a call that
                // panicked leaves nothing to distrust.
                let guard = self
                    .local
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                Ok(Route::Home(&self.home, guard))
            }
        }
    }

    /// Refuses an uninitialised home with the setup step, never creating
    /// keys or state on first contact.
    fn check_setup(&self) -> Answer<()> {
        let home = &self.home;
        if !home.policy().exists() {
            // The policy loader's message names the fix, as the reference's.
            let detail = match home.load_policy() {
                Err(e) => format!("{e:#}"),
                Ok(_) => format!("no delego policy at {}", home.policy().display()),
            };
            return Err(BackendError::SetupRequired(detail));
        }
        if !home.private_key().exists() {
            return Err(BackendError::SetupRequired(format!(
                "no signing key at {}",
                home.private_key().display()
            )));
        }
        Ok(())
    }
}

enum Route<'a> {
    Server(RemoteBackend),
    Home(&'a Home, std::sync::MutexGuard<'a, ()>),
}

fn home_error(error: anyhow::Error) -> BackendError {
    BackendError::Failed(format!("{error:#}"))
}

/// Runs `work` over the home's engine, stopped again afterwards.
fn with_engine<T>(
    home: &Home,
    work: impl FnOnce(&EngineBackend<delego_firewall::store::RocksStore>) -> Answer<T>,
) -> Answer<T> {
    let firewall = Arc::new(home.start(false, None).map_err(home_error)?);
    let answer = work(&EngineBackend::new(firewall.clone()));
    firewall.shutdown();
    answer
}

impl FirewallBackend for HomeBackend {
    fn propose(&self, action: ProposedAction, caller: Option<&Caller>) -> Answer<Value> {
        match self.route()? {
            Route::Server(server) => server.propose(action, caller),
            Route::Home(home, _one) => with_engine(home, |e| e.propose(action, caller)),
        }
    }

    fn resolve(&self, approval_id: &str, action: ProposedAction) -> Answer<Value> {
        match self.route()? {
            Route::Server(server) => server.resolve(approval_id, action),
            Route::Home(home, _one) => with_engine(home, |e| e.resolve(approval_id, action)),
        }
    }

    fn audit_tail(&self, lines: u64) -> Answer<Vec<Value>> {
        match self.route()? {
            Route::Server(server) => server.audit_tail(lines),
            Route::Home(home, _one) => tail(home.open_store().map_err(home_error)?.as_ref(), lines),
        }
    }

    fn pending(&self, caller: Option<&Caller>) -> Answer<Vec<ApprovalRecord>> {
        match self.route()? {
            Route::Server(server) => server.pending(caller),
            Route::Home(home, _one) => pending(
                home.open_store().map_err(home_error)?.as_ref(),
                SystemClock.now_micros(),
                caller,
            ),
        }
    }

    fn policy(&self) -> Answer<Value> {
        match self.route()? {
            Route::Server(server) => server.policy(),
            Route::Home(home, _one) => Ok(policy_summary(
                home.load_policy().map_err(home_error)?.policy(),
            )),
        }
    }
}
