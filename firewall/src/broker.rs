//! Brokers (spec §2.2, the PEP): the only components that touch a credential.
//! A broker executes an already-authorised action and nothing more; it
//! refuses what it cannot reconstruct from the authorised fields.

use delego_spec::json::{Map, Value};
use delego_spec::{ActionIdentity, ProposedAction};

/// Why a broker did not produce an upstream result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerFailure {
    /// The broker would not enforce (reconstruction failure, bad token,
    /// a `#fragment`): nothing was sent.
    #[error("{0}")]
    Refused(String),
    /// The request may or may not have reached the service.
    #[error("{0}")]
    Transport(String),
}

/// Executes authorised actions.
pub trait Broker: Send + Sync {
    fn name(&self) -> &str;

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

/// Holds no credential and sends nothing: records what it would have sent,
/// in the reference's result shape.
#[derive(Debug, Default)]
pub struct NullBroker;

impl Broker for NullBroker {
    fn name(&self) -> &str {
        "null"
    }

    fn execute(
        &self,
        action: &ProposedAction,
        identity: &ActionIdentity,
        token: Option<&str>,
    ) -> Result<Value, BrokerFailure> {
        refuse_fragment(action, identity)?;
        let mut detail = Map::new();
        detail.insert("broker".into(), "null".into());
        detail.insert("would_send".into(), identity.summary.as_str().into());
        detail.insert(
            "note".into(),
            "stub: no credential injected, no upstream request made".into(),
        );
        detail.insert("token".into(), token.into());
        let mut result = Map::new();
        result.insert("status".into(), "simulated".into());
        result.insert("detail".into(), Value::Object(detail));
        Ok(Value::Object(result))
    }
}
