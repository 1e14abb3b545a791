//! The outbound notification (schema `approval-callback.json#notification`)
//! and its delivery: POSTed as JSON, retried with exponential backoff until
//! a 2xx or the attempts run out. Delivery is best effort by design: the
//! approval is parked durably either way, and every other surface (CLI, API,
//! inbox) still shows it.

use std::time::Duration;

use delego_spec::json::{to_canonical_string, Map, Value};

use super::config::WebhookConfig;
use super::nonces::Issued;
use crate::approval::ApprovalRecord;

/// The notification for a parked approval: no credential, no key, nothing
/// of the agent's input beyond the instruction and the action's summary.
pub fn notification(record: &ApprovalRecord, issued: &Issued) -> Value {
    let mut map = Map::new();
    map.insert("approval_id".into(), record.id.clone().into());
    map.insert("instruction".into(), record.instruction.clone().into());
    map.insert("action_summary".into(), record.summary.clone().into());
    map.insert("outcome".into(), "needs_approval".into());
    map.insert("nonce".into(), issued.nonce.clone().into());
    map.insert("exp".into(), issued.exp.into());
    if let Some(reason) = &record.reason {
        map.insert("reason".into(), reason.clone().into());
    }
    map.insert(
        "required_approvers".into(),
        i64::from(record.required_approvers.max(1)).into(),
    );
    Value::Object(map)
}

/// POSTs `body` to the webhook until it answers 2xx: waits 250 ms, 500 ms,
/// 1 s, … between attempts. Returns whether it was delivered.
pub async fn send_with_retries(
    client: &reqwest::Client,
    hook: &WebhookConfig,
    body: &Value,
) -> bool {
    let text = to_canonical_string(body);
    let mut pause = Duration::from_millis(250);
    for attempt in 1..=hook.max_attempts {
        let sent = client
            .post(&hook.url)
            .timeout(hook.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(text.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => return true,
            Ok(response) => {
                tracing::warn!(attempt, status = %response.status(), url = %hook.url, "approval webhook refused")
            }
            Err(error) => {
                tracing::warn!(attempt, %error, url = %hook.url, "approval webhook failed")
            }
        }
        if attempt < hook.max_attempts {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(30));
        }
    }
    false
}
