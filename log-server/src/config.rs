//! What a log is opened with: its identity and key, its witnesses, the
//! trust policy that decides when a checkpoint counts as witnessed, and the
//! sequencer's pace.
//!
//! This module owns parsing and defaults. It never opens storage or the
//! network.

use std::time::Duration;

use delego_spec::note::{KeyType, SignerKey, TrustPolicy, VerifierKey};

use crate::error::LogError;

/// A witness the log pushes its checkpoints to (c2sp.org/tlog-witness).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessConfig {
    /// The witness's name in the trust policy (and in logs and metrics).
    pub name: String,
    /// Its cosignature/v1 verifier key.
    pub key: VerifierKey,
    /// Its submission prefix: checkpoints go to `<url>/add-checkpoint`.
    pub url: String,
}

impl WitnessConfig {
    /// Parses `NAME=VKEY@URL`. The vkey's base64 never contains `@`, so the
    /// URL starts at the first `@` after the vkey's second `+`.
    pub fn parse(flag: &str) -> Result<WitnessConfig, LogError> {
        let bad = |why: &str| LogError::Config(format!("witness {flag:?}: {why}"));
        let (name, rest) = flag
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=VKEY@URL"))?;
        if name.is_empty() || name == "none" || name.contains(char::is_whitespace) {
            return Err(bad(
                "the name must be non-empty, not \"none\", without spaces",
            ));
        }
        let after_id = rest
            .match_indices('+')
            .nth(1)
            .map(|(at, _)| at)
            .ok_or_else(|| bad("expected NAME=VKEY@URL"))?;
        let at = rest[after_id..]
            .find('@')
            .map(|at| after_id + at)
            .ok_or_else(|| bad("expected NAME=VKEY@URL"))?;
        let (vkey, url) = (&rest[..at], &rest[at + 1..]);
        let key = VerifierKey::parse(vkey).map_err(|e| bad(&e.to_string()))?;
        if key.key_type() != KeyType::CosignatureV1 {
            return Err(bad("a witness key must be a cosignature/v1 (0x04) key"));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad("the URL must start with http:// or https://"));
        }
        Ok(WitnessConfig {
            name: name.to_owned(),
            key,
            url: url.trim_end_matches('/').to_owned(),
        })
    }
}

/// Everything [`crate::Log::open`] needs besides the store.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The checkpoint origin, also the log key's name.
    pub origin: String,
    /// The log's Ed25519 note key.
    pub key: SignerKey,
    pub witnesses: Vec<WitnessConfig>,
    /// Decides which checkpoints count as witnessed. `None`: every configured
    /// witness must cosign (and with no witnesses, `quorum none`).
    pub policy: Option<TrustPolicy>,
    /// How long one add-checkpoint request may take.
    pub witness_timeout: Duration,
    /// The sequencer's pause between integrations.
    pub interval: Duration,
    /// Leaves per integration batch (bounds a batch's memory, not the log's).
    pub max_leaves_per_step: u64,
    /// The bearer token `POST /v1/append` requires (standalone logs); no
    /// token, no appends.
    pub append_token: Option<String>,
}

impl LogConfig {
    pub const DEFAULT_WITNESS_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
    pub const DEFAULT_MAX_LEAVES_PER_STEP: u64 = 1 << 17;

    /// A log of `origin` signed with `key`, no witnesses, default pace.
    pub fn new(origin: &str, key: SignerKey) -> LogConfig {
        LogConfig {
            origin: origin.to_owned(),
            key,
            witnesses: Vec::new(),
            policy: None,
            witness_timeout: Self::DEFAULT_WITNESS_TIMEOUT,
            interval: Self::DEFAULT_INTERVAL,
            max_leaves_per_step: Self::DEFAULT_MAX_LEAVES_PER_STEP,
            append_token: None,
        }
    }

    /// Checks the key against the origin.
    pub(crate) fn check(&self) -> Result<(), LogError> {
        if self.key.key_type() != KeyType::Ed25519 {
            return Err(LogError::NotALogKey);
        }
        if self.key.name() != self.origin {
            return Err(LogError::KeyNotForOrigin {
                key: self.key.name().to_owned(),
                origin: self.origin.clone(),
            });
        }
        if self.max_leaves_per_step == 0 {
            return Err(LogError::Config(
                "max_leaves_per_step must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The configured policy, or the default one: all configured witnesses.
    pub(crate) fn effective_policy(&self) -> Result<TrustPolicy, LogError> {
        if let Some(policy) = &self.policy {
            return Ok(policy.clone());
        }
        let mut text = String::new();
        for witness in &self.witnesses {
            text.push_str(&format!("witness {} {}\n", witness.name, witness.key));
        }
        match self.witnesses.as_slice() {
            [] => text.push_str("quorum none\n"),
            [only] => text.push_str(&format!("quorum {}\n", only.name)),
            all => {
                let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
                let group = "all-configured-witnesses";
                text.push_str(&format!("group {group} all {}\n", names.join(" ")));
                text.push_str(&format!("quorum {group}\n"));
            }
        }
        TrustPolicy::parse(text.as_bytes())
            .map_err(|e| LogError::Config(format!("the witnesses make no valid policy: {e}")))
    }
}

/// Generates a fresh log key for `origin`.
pub fn generate_log_key(origin: &str) -> Result<SignerKey, LogError> {
    Ok(SignerKey::generate(
        origin,
        KeyType::Ed25519,
        &mut rand_core::OsRng,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use delego_spec::note::PolicyName;

    fn witness_vkey(name: &str, seed: u8) -> String {
        let key = SignerKey::new(
            name,
            KeyType::CosignatureV1,
            ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
        )
        .expect("valid");
        key.verifier_key().to_string()
    }

    #[test]
    fn witness_flags() {
        let vkey = witness_vkey("w@x.example/w1", 7);
        let parsed =
            WitnessConfig::parse(&format!("w1={vkey}@http://127.0.0.1:9/a/")).expect("valid flag");
        assert_eq!(parsed.name, "w1");
        assert_eq!(parsed.key.to_string(), vkey);
        assert_eq!(parsed.url, "http://127.0.0.1:9/a");
        for bad in [
            format!("{vkey}@http://x"),
            format!("w1={vkey}"),
            format!("w1={vkey}@ftp://x"),
            format!("none={vkey}@http://x"),
            "w1=junk@http://x".to_owned(),
        ] {
            assert!(WitnessConfig::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_policy_requires_every_witness() {
        let key = generate_log_key("o").expect("key");
        let mut config = LogConfig::new("o", key);
        let policy = config.effective_policy().expect("policy");
        assert!(policy.quorum_satisfied(&Default::default()));
        let add = |config: &mut LogConfig, name: &str, seed: u8| {
            let vkey = witness_vkey(name, seed);
            config
                .witnesses
                .push(WitnessConfig::parse(&format!("{name}={vkey}@http://x")).expect("valid"));
        };
        add(&mut config, "a", 1);
        add(&mut config, "b", 2);
        let policy = config.effective_policy().expect("policy");
        let names = |list: &[&str]| list.iter().map(|n| PolicyName::from(*n)).collect();
        assert!(!policy.quorum_satisfied(&names(&["a"])));
        assert!(policy.quorum_satisfied(&names(&["a", "b"])));
        // Two witnesses with the same public key make no policy.
        add(&mut config, "c", 2);
        assert!(config.effective_policy().is_err());
    }
}
