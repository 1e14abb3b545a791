//! Approval delivery (spec §7.3, 0.4 draft): a notification to a webhook when
//! an action is parked, and a signed decision callback that resolves it.
//!
//! This module owns the configuration (`approvals.json`), the book of
//! issued nonces (persisted before a notification leaves, so a callback can
//! be checked after a restart), and the wire shapes. It never decides an
//! approval itself: a verified callback is handed to the engine's `decide`,
//! where the §7 rules (quorum, expiry, single use) apply as for any approver.
//! A notification never carries a credential, a key or the agent's input
//! beyond the authorized action's summary.

mod callback;
mod config;
mod nonces;
mod webhook;

pub use callback::{signed_message, verify_callback, CallbackError, VerifiedCallback};
pub use config::{ApproverKey, DeliveryConfig, DeliveryConfigError, WebhookConfig};
pub use nonces::{Issued, NonceBook, NonceBookError};
pub use webhook::{notification, send_with_retries};

use std::sync::Arc;

use crate::approval::ApprovalRecord;

/// Approval delivery as the API runs it: configuration, nonce book, and an
/// HTTP client for the webhook.
pub struct ApprovalDelivery {
    pub config: DeliveryConfig,
    pub book: NonceBook,
    client: reqwest::Client,
}

impl ApprovalDelivery {
    pub fn new(
        config: DeliveryConfig,
        book: NonceBook,
    ) -> Result<ApprovalDelivery, DeliveryConfigError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| DeliveryConfigError(format!("cannot build the webhook client: {e}")))?;
        Ok(ApprovalDelivery {
            config,
            book,
            client,
        })
    }

    /// Issues the nonce for a freshly parked `record` (synced to the book)
    /// and returns the notification to send. Blocking: call it off the
    /// async workers.
    pub fn issue(
        &self,
        record: &ApprovalRecord,
        now_seconds: i64,
        nonce: String,
    ) -> Result<Value, NonceBookError> {
        let window = i64::try_from(self.config.callback_window.as_secs()).unwrap_or(i64::MAX);
        let exp = record
            .expires_micros
            .map(|micros| micros.div_euclid(1_000_000))
            .unwrap_or_else(|| now_seconds.saturating_add(window));
        let issued = Issued { nonce, exp };
        self.book.issue(&record.id, &issued)?;
        Ok(notification(record, &issued))
    }

    /// Sends a notification in the background (when a webhook is set).
    pub fn send(self: &Arc<Self>, body: Value) {
        let Some(hook) = self.config.webhook.clone() else {
            return;
        };
        let delivery = self.clone();
        tokio::spawn(async move {
            if !send_with_retries(&delivery.client, &hook, &body).await {
                tracing::error!(url = %hook.url, "approval notification not delivered; the approval stays pending");
            }
        });
    }
}

use delego_spec::json::Value;
