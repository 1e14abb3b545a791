//! `approvals.json`: where notifications go and whose signed decisions
//! count. Strict: unknown keys and ill-typed values are errors.
//!
//! ```json
//! {"webhook": {"url": "https://hooks.example/delego", "max_attempts": 5, "timeout_ms": 5000},
//!  "approvers": [{"name": "alice", "kid": "alice-2026", "public_key": "<64 hex: Ed25519>"}],
//!  "callback_window_seconds": 86400}
//! ```

use std::time::Duration;

use delego_spec::json::{Map, Value};
use delego_spec::keys::VerifyingKey;

/// The configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("approval delivery configuration: {0}")]
pub struct DeliveryConfigError(pub String);

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    pub max_attempts: u32,
    pub timeout: Duration,
}

/// A human approver's callback key, separate from every API key (§7.3: a
/// key the agent does not possess).
#[derive(Debug, Clone)]
pub struct ApproverKey {
    pub name: String,
    pub kid: Option<String>,
    pub key: VerifyingKey,
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub webhook: Option<WebhookConfig>,
    pub approvers: Vec<ApproverKey>,
    /// How long a callback is accepted when the approval has no expiry.
    pub callback_window: Duration,
}

fn bad(what: impl Into<String>) -> DeliveryConfigError {
    DeliveryConfigError(what.into())
}

fn only_keys(map: &Map, allowed: &[&str], what: &str) -> Result<(), DeliveryConfigError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(bad(format!(
            "unknown key {unknown:?} in {what} (allowed: {})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn positive(map: &Map, key: &str, max: i64) -> Result<Option<u64>, DeliveryConfigError> {
    match map.get(key) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .filter(|n| (1..=max).contains(n))
            .map(|n| Some(n.unsigned_abs()))
            .ok_or_else(|| bad(format!("{key:?} must be an integer from 1 to {max}"))),
    }
}

impl DeliveryConfig {
    pub fn from_value(value: &Value) -> Result<DeliveryConfig, DeliveryConfigError> {
        let map = value
            .as_object()
            .ok_or_else(|| bad("must be a JSON object"))?;
        only_keys(
            map,
            &["webhook", "approvers", "callback_window_seconds"],
            "the file",
        )?;
        let webhook = match map.get("webhook") {
            None => None,
            Some(hook) => {
                let hook = hook
                    .as_object()
                    .ok_or_else(|| bad("\"webhook\" must be an object"))?;
                only_keys(hook, &["url", "max_attempts", "timeout_ms"], "\"webhook\"")?;
                let url = hook
                    .get("url")
                    .and_then(Value::as_str)
                    .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                    .ok_or_else(|| bad("\"webhook.url\" must be an http(s) URL"))?;
                Some(WebhookConfig {
                    url: url.to_owned(),
                    max_attempts: positive(hook, "max_attempts", 20)?.map_or(5, |n| n as u32),
                    timeout: Duration::from_millis(
                        positive(hook, "timeout_ms", 60_000)?.unwrap_or(5_000),
                    ),
                })
            }
        };
        let mut approvers = Vec::new();
        if let Some(list) = map.get("approvers") {
            let list = list
                .as_array()
                .ok_or_else(|| bad("\"approvers\" must be a list"))?;
            for (i, item) in list.iter().enumerate() {
                let item = item
                    .as_object()
                    .ok_or_else(|| bad(format!("approvers[{i}] must be an object")))?;
                only_keys(item, &["name", "kid", "public_key"], "an approver")?;
                let name = item
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| {
                        bad(format!("approvers[{i}].name must be a non-empty string"))
                    })?;
                let kid = match item.get("kid") {
                    None => None,
                    Some(kid) => Some(
                        kid.as_str()
                            .ok_or_else(|| bad(format!("approvers[{i}].kid must be a string")))?
                            .to_owned(),
                    ),
                };
                let key = item
                    .get("public_key")
                    .and_then(Value::as_str)
                    .and_then(|hex_key| hex::decode(hex_key).ok())
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
                    .ok_or_else(|| {
                        bad(format!(
                            "approvers[{i}].public_key must be an Ed25519 public key in 64 hex digits"
                        ))
                    })?;
                approvers.push(ApproverKey {
                    name: name.to_owned(),
                    kid,
                    key,
                });
            }
        }
        let window = positive(map, "callback_window_seconds", 30 * 86_400)?.unwrap_or(86_400);
        Ok(DeliveryConfig {
            webhook,
            approvers,
            callback_window: Duration::from_secs(window),
        })
    }
}
