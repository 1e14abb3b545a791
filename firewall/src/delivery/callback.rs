//! The inbound decision callback (schema `approval-callback.json#decision`):
//! strict parsing and authentication. Pure: the caller supplies the issued
//! nonce, the approver keys and the time.
//!
//! The signature is Ed25519, lowercase hex, over the canonical JSON of
//! `{"approval_id", "decision", "nonce", "ts"}` (keys sorted, no spaces):
//! the four fields the spec says it covers, in the same canonical form
//! receipts are hashed in. Anything unverifiable leaves the approval
//! pending (fail closed).

use delego_spec::json::{to_canonical_string, Map, Value};
use delego_spec::keys::Signature;

use super::config::ApproverKey;
use super::nonces::Issued;

/// Why a callback was not accepted; the approval is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("malformed callback: {0}")]
    Malformed(String),
    #[error("unverifiable callback: {0}")]
    Unverifiable(String),
    #[error("the callback arrived after its window closed (exp {exp}); it is a no-op")]
    Expired { exp: i64 },
}

/// A callback whose signature and nonce verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCallback {
    pub approval_id: String,
    pub approve: bool,
    /// The approver's configured name (never an API key's).
    pub approver: String,
    pub note: Option<String>,
}

/// The bytes an approver signs.
pub fn signed_message(approval_id: &str, decision: &str, nonce: &str, ts: &str) -> String {
    let mut map = Map::new();
    map.insert("approval_id".into(), approval_id.into());
    map.insert("decision".into(), decision.into());
    map.insert("nonce".into(), nonce.into());
    map.insert("ts".into(), ts.into());
    to_canonical_string(&Value::Object(map))
}

fn string<'a>(map: &'a Map, key: &str) -> Result<&'a str, CallbackError> {
    map.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| CallbackError::Malformed(format!("'{key}' must be a string")))
}

/// Checks `body` against what was issued for its approval (`issued`, looked
/// up by the caller from the body's `approval_id`), the approver keys and
/// `now_seconds`.
pub fn verify_callback(
    body: &Value,
    issued: Option<&Issued>,
    approvers: &[ApproverKey],
    now_seconds: i64,
) -> Result<VerifiedCallback, CallbackError> {
    let map = body
        .as_object()
        .ok_or_else(|| CallbackError::Malformed("the body must be a JSON object".into()))?;
    let allowed = [
        "approval_id",
        "decision",
        "nonce",
        "ts",
        "signature",
        "kid",
        "decision_note",
    ];
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(CallbackError::Malformed(format!(
            "unknown field '{unknown}'"
        )));
    }
    let approval_id = string(map, "approval_id")?;
    let decision = string(map, "decision")?;
    let approve = match decision {
        "approve" => true,
        "deny" => false,
        _ => {
            return Err(CallbackError::Malformed(
                "'decision' must be \"approve\" or \"deny\"".into(),
            ))
        }
    };
    let nonce = string(map, "nonce")?;
    let ts = string(map, "ts")?;
    let signature_hex = string(map, "signature")?;
    let kid = match map.get("kid") {
        None => None,
        Some(_) => Some(string(map, "kid")?),
    };
    let note = match map.get("decision_note") {
        None => None,
        Some(_) => Some(string(map, "decision_note")?.to_owned()),
    };
    let issued = issued.ok_or_else(|| {
        CallbackError::Unverifiable(format!("no notification was issued for {approval_id}"))
    })?;
    if issued.nonce != nonce {
        return Err(CallbackError::Unverifiable(
            "the nonce is not the one issued for this approval".into(),
        ));
    }
    let signature = hex::decode(signature_hex)
        .ok()
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .map(|bytes| Signature::from_bytes(&bytes))
        .ok_or_else(|| CallbackError::Unverifiable("'signature' must be 128 hex digits".into()))?;
    let message = signed_message(approval_id, decision, nonce, ts);
    let signer = approvers
        .iter()
        .filter(|a| kid.is_none() || a.kid.as_deref() == kid)
        .find(|a| a.key.verify_strict(message.as_bytes(), &signature).is_ok())
        .ok_or_else(|| {
            CallbackError::Unverifiable("no configured approver key verifies the signature".into())
        })?;
    if now_seconds > issued.exp {
        return Err(CallbackError::Expired { exp: issued.exp });
    }
    Ok(VerifiedCallback {
        approval_id: approval_id.to_owned(),
        approve,
        approver: signer.name.clone(),
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use delego_spec::json::parse;
    use delego_spec::keys::{Signer as _, SigningKey};

    fn approver(seed: u8, name: &str) -> (SigningKey, ApproverKey) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let public = key.verifying_key();
        (
            key,
            ApproverKey {
                name: name.into(),
                kid: Some(format!("{name}-1")),
                key: public,
            },
        )
    }

    fn body(key: &SigningKey, decision: &str, nonce: &str, extra: &str) -> Value {
        let message = signed_message("apr_000000000001", decision, nonce, "2026-11-22T12:00:00Z");
        let signature = hex::encode(key.sign(message.as_bytes()).to_bytes());
        parse(&format!(
            r#"{{"approval_id":"apr_000000000001","decision":"{decision}","nonce":"{nonce}","ts":"2026-11-22T12:00:00Z","signature":"{signature}"{extra}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn only_a_configured_key_over_the_issued_nonce_in_time_counts() {
        let (alice_key, alice) = approver(1, "alice");
        let (mallory_key, _) = approver(2, "mallory");
        let issued = Issued {
            nonce: "n-1".into(),
            exp: 2_000,
        };
        let ok = verify_callback(
            &body(&alice_key, "approve", "n-1", r#","decision_note":"fine""#),
            Some(&issued),
            std::slice::from_ref(&alice),
            1_000,
        )
        .unwrap();
        assert_eq!(ok.approver, "alice");
        assert!(ok.approve);
        assert_eq!(ok.note.as_deref(), Some("fine"));
        let keys = std::slice::from_ref(&alice);
        let err = |v: Value, issued: Option<&Issued>, now| {
            verify_callback(&v, issued, keys, now).unwrap_err()
        };
        assert!(matches!(
            err(
                body(&mallory_key, "approve", "n-1", ""),
                Some(&issued),
                1_000
            ),
            CallbackError::Unverifiable(_)
        ));
        assert!(matches!(
            err(body(&alice_key, "approve", "n-2", ""), Some(&issued), 1_000),
            CallbackError::Unverifiable(_)
        ));
        assert!(matches!(
            err(body(&alice_key, "approve", "n-1", ""), None, 1_000),
            CallbackError::Unverifiable(_)
        ));
        assert!(matches!(
            err(body(&alice_key, "approve", "n-1", ""), Some(&issued), 2_001),
            CallbackError::Expired { exp: 2_000 }
        ));
        assert!(matches!(
            err(
                body(&alice_key, "approve", "n-1", r#","kid":"bob-1""#),
                Some(&issued),
                1_000
            ),
            CallbackError::Unverifiable(_)
        ));
        assert!(matches!(
            err(
                body(&alice_key, "approve", "n-1", r#","extra":1"#),
                Some(&issued),
                1_000
            ),
            CallbackError::Malformed(_)
        ));
        // A signature over "approve" does not carry a "deny".
        let mut flipped = body(&alice_key, "approve", "n-1", "");
        if let Value::Object(m) = &mut flipped {
            m.insert("decision".into(), "deny".into());
        }
        assert!(matches!(
            err(flipped, Some(&issued), 1_000),
            CallbackError::Unverifiable(_)
        ));
    }
}
