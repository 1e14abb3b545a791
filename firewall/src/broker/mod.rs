//! Brokers (spec §2.2, the PEP): the only components that touch a credential.
//! A broker executes an already-authorised action once and nothing more; it
//! refuses what it cannot reconstruct from the authorised fields, and tells a
//! refusal (nothing sent) from an upstream result (sent; the service
//! answered) so the execution receipt records what happened.
//!
//! Brokers never decide and never write receipts: the engine does both.

mod http;
mod null;

pub use http::{GatewayConfigError, GatewayProtocol, HttpProxyBroker, HttpProxyConfig};
pub use null::NullBroker;

use delego_spec::json::Value;
use delego_spec::{ActionIdentity, ProposedAction};

/// Why an execution did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BrokerFailure {
    /// The broker would not enforce (reconstruction failure, bad token,
    /// a `#fragment`): nothing was sent.
    #[error("{0}")]
    Refused(String),
    /// The outcome is unknown: no answer, or an answer that does not say
    /// whether the request was forwarded. Never retried (at most one
    /// execution per authorization).
    #[error("{reason}")]
    Unknown {
        reason: String,
        result: Option<Value>,
    },
    /// Sent with the credential, and the service reported a failure (a
    /// non-2xx status or an execution error). The credential was used.
    #[error("{reason}")]
    Upstream { reason: String, result: Value },
}

/// Executes authorised actions.
pub trait Broker: Send + Sync {
    fn name(&self) -> &str;

    /// True when `execute` makes no call outside this process and cannot
    /// block. Such a broker runs inside the writer, so an allow costs one
    /// durable write; any other broker runs outside it, behind a persisted
    /// reservation (see `crate::reservation`).
    fn is_local(&self) -> bool {
        false
    }

    /// Executes `action` (whose derived values are `identity`) once, with the
    /// §9 token when one was minted, returning the result to record.
    fn execute(
        &self,
        action: &ProposedAction,
        identity: &ActionIdentity,
        token: Option<&str>,
    ) -> Result<Value, BrokerFailure>;
}

/// The fail-closed check every broker applies: a `#fragment` is outside the
/// fingerprint, so a value riding it was never authorised.
pub fn refuse_fragment(
    action: &ProposedAction,
    identity: &ActionIdentity,
) -> Result<(), BrokerFailure> {
    if identity.has_fragment {
        return Err(BrokerFailure::Refused(format!(
            "broker refuses to execute: action.url carries a #fragment, which is not part of the \
             fingerprint (method+host+path+query+params) and was therefore never authorised (spec \
             §4.2). Move any decision-relevant value into params so it is fingerprinted and \
             audited. Offending url: {}",
            action.url
        )));
    }
    Ok(())
}
