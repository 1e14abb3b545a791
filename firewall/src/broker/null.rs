//! The stand-in broker: holds no credential and sends nothing.

use delego_spec::json::{Map, Value};
use delego_spec::{ActionIdentity, ProposedAction};

use super::{refuse_fragment, Broker, BrokerFailure};

/// Records what it would have sent, in the reference's result shape.
#[derive(Debug, Default)]
pub struct NullBroker;

impl Broker for NullBroker {
    fn name(&self) -> &str {
        "null"
    }

    fn is_local(&self) -> bool {
        true
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
