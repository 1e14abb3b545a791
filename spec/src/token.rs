//! The §9 authorization token: a compact JWS (`alg = EdDSA`) carrying one
//! authorised action's fingerprint to a separated broker, and the broker-side
//! verifier of §9.1.
//!
//! Built directly on `ed25519-dalek` rather than a JWT library: the header and
//! claims must be the reference's canonical JSON byte for byte (a JWT library
//! serialises its own header), and pinning EdDSA is then a property of the
//! code — there is no algorithm negotiation to get wrong. Clock, randomness and
//! replay storage are the caller's: `now`, `jti`/`cns` and a [`ReplayGuard`]
//! are passed in.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::action::ActionIdentity;
use crate::json::{parse, python_repr, to_canonical_string, Map, Number, Value};
use crate::keys::key_id;

/// Spec §9: TTL SHOULD be ≤ 60 s; the reference mints 45 s.
pub const DEFAULT_TTL_SECONDS: u64 = 45;
/// Spec §9: TTL MUST NOT exceed 300 s.
pub const MAX_TTL_SECONDS: u64 = 300;
/// Spec §9.1: clock skew SHOULD be ≤ 60 s; a verifier never allows more.
pub const MAX_LEEWAY_SECONDS: u64 = 60;

const REQUIRED_CLAIMS: [&str; 8] = ["iss", "aud", "iat", "exp", "jti", "cns", "fpr", "iht"];

/// A token that was refused, or a verifier that was misconfigured. A broker
/// that gets one MUST NOT inject a credential. Messages are the reference's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token: expected three dot-separated segments")]
    Segments,
    #[error("unparseable token header: {0}")]
    Header(String),
    #[error("token alg must be EdDSA, got {0} (algorithm-confusion guard)")]
    Algorithm(String),
    #[error("token header lists critical extensions, which this verifier does not support")]
    Critical,
    #[error("token header missing 'kid' but a key set was configured")]
    MissingKid,
    #[error("no configured key for kid {0}")]
    UnknownKid(String),
    #[error("bad token signature")]
    Signature,
    #[error("unparseable token claims: {0}")]
    Claims(String),
    #[error("token claims must be a JSON object")]
    ClaimsNotObject,
    #[error("token missing required claim(s): {0}")]
    MissingClaims(String),
    #[error("token iat/exp must be integers (epoch seconds)")]
    Times,
    #[error("token TTL {ttl}s exceeds the {max}s maximum")]
    Ttl { ttl: i128, max: u64 },
    #[error("token has expired")]
    Expired,
    #[error("token used before its issued-at time (clock skew beyond leeway)")]
    NotYetValid,
    #[error("token aud {found} != this broker's identifier {expected}")]
    Audience { found: String, expected: String },
    #[error("token claim '{0}' must be {1}")]
    ClaimType(&'static str, &'static str),
    #[error("token jti already seen (replay)")]
    ReplayedJti,
    #[error("token cns already consumed (single-use)")]
    ConsumedCns,
    #[error("action fingerprint does not match the token's fpr: the request the broker is about to send is not the action that was authorized")]
    Fingerprint,
    #[error("verifier leeway {0}s exceeds the {MAX_LEEWAY_SECONDS}s bound")]
    LeewayTooLarge(u64),
    #[error("verifier max TTL {0}s exceeds the {MAX_TTL_SECONDS}s bound")]
    MaxTtlTooLarge(u64),
}

/// The `pol` claim: which policy version and rule authorised the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef {
    pub version: Option<i64>,
    pub rule: Option<String>,
}

/// A verified claim set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub cns: String,
    /// The authorised `action_fingerprint`.
    pub fpr: String,
    /// The `intent_hash`.
    pub iht: String,
    pub apr: Option<String>,
    pub sub: Option<String>,
    pub pol: Option<PolicyRef>,
}

/// What to mint a token for. Only `allow` decisions and released approvals
/// may be passed here (§9); the caller enforces that.
#[derive(Debug, Clone)]
pub struct MintRequest<'a> {
    pub action_fingerprint: &'a str,
    pub intent_hash: &'a str,
    pub audience: &'a str,
    pub approval_id: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub policy_version: Option<i64>,
    pub rule: Option<&'a str>,
}

/// Mints tokens with the token key (never the audit key, §9).
pub struct TokenIssuer {
    issuer: String,
    key: SigningKey,
    ttl_seconds: u64,
    kid: String,
}

impl TokenIssuer {
    /// An issuer; the TTL is clamped to [`MAX_TTL_SECONDS`].
    pub fn new(issuer: impl Into<String>, key: SigningKey, ttl_seconds: u64) -> TokenIssuer {
        let kid = key_id(&key.verifying_key());
        TokenIssuer {
            issuer: issuer.into(),
            key,
            ttl_seconds: ttl_seconds.min(MAX_TTL_SECONDS),
            kid,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Mints a compact JWS issued at `iat` with the given unique `jti` and
    /// consumption nonce `cns` (the caller draws them at random).
    pub fn mint(&self, request: &MintRequest<'_>, iat: i64, jti: &str, cns: &str) -> String {
        let ttl = i64::try_from(self.ttl_seconds).unwrap_or(0);
        let mut claims = Map::new();
        claims.insert("iss".into(), self.issuer.as_str().into());
        claims.insert("aud".into(), request.audience.into());
        claims.insert("iat".into(), iat.into());
        claims.insert("exp".into(), iat.saturating_add(ttl).into());
        claims.insert("jti".into(), jti.into());
        claims.insert("cns".into(), cns.into());
        claims.insert("fpr".into(), request.action_fingerprint.into());
        claims.insert("iht".into(), request.intent_hash.into());
        if let Some(apr) = request.approval_id {
            claims.insert("apr".into(), apr.into());
        }
        if let Some(sub) = request.subject {
            claims.insert("sub".into(), sub.into());
        }
        if request.policy_version.is_some() || request.rule.is_some() {
            let mut pol = Map::new();
            pol.insert("version".into(), request.policy_version.into());
            pol.insert("rule".into(), request.rule.into());
            claims.insert("pol".into(), Value::Object(pol));
        }
        let mut header = Map::new();
        header.insert("alg".into(), "EdDSA".into());
        header.insert("typ".into(), "JWT".into());
        header.insert("kid".into(), self.kid.as_str().into());
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(to_canonical_string(&Value::Object(header))),
            URL_SAFE_NO_PAD.encode(to_canonical_string(&Value::Object(claims)))
        );
        let signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// Where the verifier's keys come from: always its own configuration.
#[derive(Debug, Clone)]
pub enum VerifierKeys {
    /// One key; the token's `kid` is ignored.
    Single(VerifyingKey),
    /// A key set by `kid` (rotation); a token naming no configured kid fails.
    ById(BTreeMap<String, VerifyingKey>),
}

/// Replay state shared by every instance of a broker (§9.1 steps 3–4).
pub trait ReplayGuard {
    /// Refuses a seen `jti` or a consumed `cns`; otherwise records both until
    /// at least `retain_until` (epoch seconds). Must be atomic per call.
    fn check_and_record(
        &mut self,
        jti: &str,
        cns: &str,
        retain_until: i64,
    ) -> Result<(), TokenError>;
}

/// An in-memory [`ReplayGuard`] for one process; entries are dropped once
/// their tokens could no longer verify.
#[derive(Debug, Default)]
pub struct ReplayCache {
    seen_jti: HashMap<String, i64>,
    consumed_cns: HashMap<String, i64>,
}

impl ReplayCache {
    /// Forgets entries whose tokens have expired (beyond leeway) by `now`.
    pub fn prune(&mut self, now: i64) {
        self.seen_jti.retain(|_, until| *until >= now);
        self.consumed_cns.retain(|_, until| *until >= now);
    }

    pub fn len(&self) -> usize {
        self.seen_jti.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen_jti.is_empty()
    }
}

impl ReplayGuard for ReplayCache {
    fn check_and_record(
        &mut self,
        jti: &str,
        cns: &str,
        retain_until: i64,
    ) -> Result<(), TokenError> {
        if self.seen_jti.contains_key(jti) {
            return Err(TokenError::ReplayedJti);
        }
        if self.consumed_cns.contains_key(cns) {
            return Err(TokenError::ConsumedCns);
        }
        self.seen_jti.insert(jti.to_owned(), retain_until);
        self.consumed_cns.insert(cns.to_owned(), retain_until);
        Ok(())
    }
}

/// The broker-side verifier of §9.1.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    keys: VerifierKeys,
    audience: String,
    leeway_seconds: u64,
    max_ttl_seconds: u64,
}

fn decode_segment(segment: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|e| e.to_string())
}

fn decode_json_segment(segment: &str) -> Result<Value, String> {
    let bytes = decode_segment(segment)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| e.to_string())?;
    parse(text).map_err(|e| e.to_string())
}

impl TokenVerifier {
    /// A verifier requiring `aud == audience` exactly, with a bounded skew.
    pub fn new(
        keys: VerifierKeys,
        audience: impl Into<String>,
        leeway_seconds: u64,
    ) -> Result<TokenVerifier, TokenError> {
        if leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(TokenError::LeewayTooLarge(leeway_seconds));
        }
        Ok(TokenVerifier {
            keys,
            audience: audience.into(),
            leeway_seconds,
            max_ttl_seconds: MAX_TTL_SECONDS,
        })
    }

    /// Lowers the accepted TTL below the spec's 300 s maximum.
    pub fn with_max_ttl(mut self, max_ttl_seconds: u64) -> Result<TokenVerifier, TokenError> {
        if max_ttl_seconds > MAX_TTL_SECONDS {
            return Err(TokenError::MaxTtlTooLarge(max_ttl_seconds));
        }
        self.max_ttl_seconds = max_ttl_seconds;
        Ok(self)
    }

    /// Steps 1–4 of §9.1 at time `now`. With a `replay` guard the token's
    /// `jti` and `cns` are checked and, on success, recorded. Step 5 is
    /// [`require_fingerprint`], against the request about to be sent.
    pub fn verify(
        &self,
        token: &str,
        now: i64,
        replay: Option<&mut dyn ReplayGuard>,
    ) -> Result<TokenClaims, TokenError> {
        let mut segments = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(TokenError::Segments);
        };

        // 1. The algorithm is pinned; the header only has to agree with it.
        let header = decode_json_segment(header_b64).map_err(TokenError::Header)?;
        let header = header
            .as_object()
            .ok_or_else(|| TokenError::Header("not a JSON object".into()))?;
        match header.get("alg") {
            Some(Value::String(alg)) if alg == "EdDSA" => {}
            Some(other) => return Err(TokenError::Algorithm(python_repr(other))),
            None => return Err(TokenError::Algorithm("None".into())),
        }
        if header.contains_key("crit") {
            return Err(TokenError::Critical);
        }
        let key = match &self.keys {
            VerifierKeys::Single(key) => key,
            VerifierKeys::ById(set) => {
                let kid = header
                    .get("kid")
                    .and_then(Value::as_str)
                    .ok_or(TokenError::MissingKid)?;
                set.get(kid)
                    .ok_or_else(|| TokenError::UnknownKid(python_repr(&Value::from(kid))))?
            }
        };
        let signature_bytes = decode_segment(signature_b64).map_err(|_| TokenError::Signature)?;
        let signature =
            Signature::from_slice(&signature_bytes).map_err(|_| TokenError::Signature)?;
        let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
        key.verify_strict(signing_input.as_bytes(), &signature)
            .map_err(|_| TokenError::Signature)?;

        let claims = decode_json_segment(claims_b64).map_err(TokenError::Claims)?;
        let claims = claims.as_object().ok_or(TokenError::ClaimsNotObject)?;
        let missing: Vec<Value> = REQUIRED_CLAIMS
            .iter()
            .filter(|c| !claims.contains_key(**c))
            .map(|c| Value::from(*c))
            .collect();
        if !missing.is_empty() {
            return Err(TokenError::MissingClaims(python_repr(&Value::Array(
                missing,
            ))));
        }

        // 2. Lifetime and audience.
        let integer = |name: &str| match claims.get(name) {
            Some(Value::Number(Number::Int(i))) => i.as_i64().ok_or(TokenError::Times),
            _ => Err(TokenError::Times),
        };
        let (iat, exp) = (integer("iat")?, integer("exp")?);
        let ttl = i128::from(exp) - i128::from(iat);
        if ttl > i128::from(self.max_ttl_seconds) {
            return Err(TokenError::Ttl {
                ttl,
                max: self.max_ttl_seconds,
            });
        }
        let leeway = i128::from(self.leeway_seconds);
        if i128::from(now) >= i128::from(exp) + leeway {
            return Err(TokenError::Expired);
        }
        if i128::from(now) < i128::from(iat) - leeway {
            return Err(TokenError::NotYetValid);
        }
        let aud = &claims["aud"];
        if aud.as_str() != Some(self.audience.as_str()) {
            return Err(TokenError::Audience {
                found: python_repr(aud),
                expected: python_repr(&Value::from(self.audience.as_str())),
            });
        }
        let string = |name: &'static str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(TokenError::ClaimType(name, "a string"))
        };
        let hex64 = |name: &'static str| {
            let value = string(name)?;
            let ok = value.len() == 64
                && value
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            ok.then_some(value)
                .ok_or(TokenError::ClaimType(name, "64 lowercase hex characters"))
        };
        let optional = |name: &'static str| match claims.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(TokenError::ClaimType(name, "a string")),
        };
        let pol = match claims.get("pol") {
            None => None,
            Some(Value::Object(pol)) => Some(PolicyRef {
                version: match pol.get("version") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_i64().ok_or(TokenError::ClaimType(
                        "pol",
                        "{version: integer, rule: string}",
                    ))?),
                },
                rule: match pol.get("rule") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => {
                        return Err(TokenError::ClaimType(
                            "pol",
                            "{version: integer, rule: string}",
                        ))
                    }
                },
            }),
            Some(_) => return Err(TokenError::ClaimType("pol", "an object")),
        };
        let verified = TokenClaims {
            iss: string("iss")?,
            aud: string("aud")?,
            iat,
            exp,
            jti: string("jti")?,
            cns: string("cns")?,
            fpr: hex64("fpr")?,
            iht: hex64("iht")?,
            apr: optional("apr")?,
            sub: optional("sub")?,
            pol,
        };

        // 3–4. Single use, recorded only once everything else has passed.
        if let Some(replay) = replay {
            let retain_until = exp.saturating_add(i64::try_from(self.leeway_seconds).unwrap_or(0));
            replay.check_and_record(&verified.jti, &verified.cns, retain_until)?;
        }
        Ok(verified)
    }
}

/// Step 5 of §9.1: the request about to be sent must be the authorised one.
pub fn require_fingerprint(
    claims: &TokenClaims,
    action: &ActionIdentity,
) -> Result<(), TokenError> {
    if claims.fpr == action.action_fingerprint {
        Ok(())
    } else {
        Err(TokenError::Fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FPR: &str = "c70d4ee57957202087887cb5e9d32222977b728bd06947b7761c283b6d4ed394";
    const IHT: &str = "76f8eef1b97e1213a59eec28cedf15bb999fdb00a3fd17f8343bc4676fdbb4f3";

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(
            "delego:local",
            SigningKey::from_bytes(&[9u8; 32]),
            DEFAULT_TTL_SECONDS,
        )
    }

    fn request() -> MintRequest<'static> {
        MintRequest {
            action_fingerprint: FPR,
            intent_hash: IHT,
            audience: "broker:a",
            approval_id: Some("apr_000000000001"),
            subject: None,
            policy_version: Some(1),
            rule: Some("place-order"),
        }
    }

    #[test]
    fn mint_then_verify_once() {
        let issuer = issuer();
        let token = issuer.mint(&request(), 1_000, "j1", "c1");
        let verifier =
            TokenVerifier::new(VerifierKeys::Single(issuer.verifying_key()), "broker:a", 60)
                .unwrap();
        let mut cache = ReplayCache::default();
        let claims = verifier.verify(&token, 1_010, Some(&mut cache)).unwrap();
        assert_eq!(claims.exp, 1_045);
        assert_eq!(
            claims.pol,
            Some(PolicyRef {
                version: Some(1),
                rule: Some("place-order".into())
            })
        );
        assert_eq!(
            verifier.verify(&token, 1_011, Some(&mut cache)),
            Err(TokenError::ReplayedJti)
        );
        let second = issuer.mint(&request(), 1_000, "j2", "c1");
        assert_eq!(
            verifier.verify(&second, 1_011, Some(&mut cache)),
            Err(TokenError::ConsumedCns)
        );
    }

    #[test]
    fn refuses_wrong_audience_kid_and_time() {
        let issuer = issuer();
        let token = issuer.mint(&request(), 1_000, "j", "c");
        let key = issuer.verifying_key();
        let other = TokenVerifier::new(VerifierKeys::Single(key), "broker:ab", 60).unwrap();
        assert!(matches!(
            other.verify(&token, 1_000, None),
            Err(TokenError::Audience { .. })
        ));
        let verifier = TokenVerifier::new(VerifierKeys::Single(key), "broker:a", 60).unwrap();
        assert_eq!(
            verifier.verify(&token, 1_045 + 59, None).map(|c| c.jti),
            Ok("j".into())
        );
        assert_eq!(
            verifier.verify(&token, 1_045 + 60, None),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verifier.verify(&token, 1_000 - 61, None),
            Err(TokenError::NotYetValid)
        );
        let by_id = TokenVerifier::new(
            VerifierKeys::ById(BTreeMap::from([("nope".to_owned(), key)])),
            "broker:a",
            60,
        )
        .unwrap();
        assert!(matches!(
            by_id.verify(&token, 1_000, None),
            Err(TokenError::UnknownKid(_))
        ));
        let by_id = TokenVerifier::new(
            VerifierKeys::ById(BTreeMap::from([(issuer.kid().to_owned(), key)])),
            "broker:a",
            60,
        )
        .unwrap();
        assert!(by_id.verify(&token, 1_000, None).is_ok());
        assert!(TokenVerifier::new(VerifierKeys::Single(key), "b", 61).is_err());
    }
}
