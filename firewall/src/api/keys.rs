//! Bearer keys for the HTTP API, one role each (spec §7.3 trust boundary:
//! an agent key can never approve or deny). Keys are shown once when
//! created and stored only as SHA-256 hashes; revoked keys stay listed so
//! names are never reused.
//!
//! This module owns the key records and their checks; reading and writing
//! the key file belongs to the caller.

use delego_spec::json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Proposes actions and resolves its own approvals.
    Agent,
    /// Lists pending approvals and decides them.
    Approver,
    /// Reads receipts, checkpoints and the policy.
    Auditor,
    /// Everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Approver => "approver",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Some(match text {
            "agent" => Role::Agent,
            "approver" => Role::Approver,
            "auditor" => Role::Auditor,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// Who presented a valid key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

/// One key's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub name: String,
    pub role: Role,
    /// SHA-256 of the token, hex.
    pub token_sha256: String,
    pub created_at: String,
    pub revoked: bool,
}

/// A key store refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a key named {0:?} already exists (names are never reused)")]
    Exists(String),
    #[error("no key named {0:?}")]
    Unknown(String),
    #[error("key names are 1-64 characters of letters, digits, '.', '_', '-' and '@'; got {0:?}")]
    BadName(String),
    #[error("the key file is malformed: {0}")]
    Malformed(String),
}

/// The set of API keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiKeys {
    keys: Vec<KeyRecord>,
}

fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Equality that does not stop at the first difference.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

impl ApiKeys {
    pub fn records(&self) -> &[KeyRecord] {
        &self.keys
    }

    /// Adds a key; returns the token, which is never stored.
    /// `random` must come from a CSPRNG.
    pub fn add(
        &mut self,
        name: &str,
        role: Role,
        random: [u8; 24],
        created_at: String,
    ) -> Result<String, KeyError> {
        if !valid_name(name) {
            return Err(KeyError::BadName(name.to_owned()));
        }
        if self.keys.iter().any(|k| k.name == name) {
            return Err(KeyError::Exists(name.to_owned()));
        }
        let token = format!("dlg_{}", hex::encode(random));
        self.keys.push(KeyRecord {
            name: name.to_owned(),
            role,
            token_sha256: hex::encode(hash_token(&token)),
            created_at,
            revoked: false,
        });
        Ok(token)
    }

    pub fn revoke(&mut self, name: &str) -> Result<(), KeyError> {
        let key = self
            .keys
            .iter_mut()
            .find(|k| k.name == name)
            .ok_or_else(|| KeyError::Unknown(name.to_owned()))?;
        key.revoked = true;
        Ok(())
    }

    /// The caller a token belongs to; `None` for an unknown or revoked one.
    /// Every record is compared, so timing does not tell which matched.
    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        let presented = hash_token(token);
        let mut found = None;
        for key in &self.keys {
            let mut stored = [0u8; 32];
            if hex::decode_to_slice(&key.token_sha256, &mut stored).is_err() {
                continue;
            }
            if same(&presented, &stored) && !key.revoked {
                found = Some(Caller {
                    name: key.name.clone(),
                    role: key.role,
                });
            }
        }
        found
    }

    /// These keys and `other`'s together (a server's per-run session key
    /// beside the home's keys).
    pub fn merged(&self, other: &ApiKeys) -> ApiKeys {
        let mut keys = self.keys.clone();
        keys.extend(other.keys.iter().cloned());
        ApiKeys { keys }
    }

    pub fn to_value(&self) -> Value {
        Value::Array(
            self.keys
                .iter()
                .map(|k| {
                    let mut m = Map::new();
                    m.insert("name".into(), k.name.as_str().into());
                    m.insert("role".into(), k.role.as_str().into());
                    m.insert("token_sha256".into(), k.token_sha256.as_str().into());
                    m.insert("created_at".into(), k.created_at.as_str().into());
                    m.insert("revoked".into(), k.revoked.into());
                    Value::Object(m)
                })
                .collect(),
        )
    }

    pub fn from_value(value: &Value) -> Result<ApiKeys, KeyError> {
        let bad = |why: &str| KeyError::Malformed(why.to_owned());
        let items = value.as_array().ok_or_else(|| bad("not a list"))?;
        let mut keys = ApiKeys::default();
        for item in items {
            let m = item
                .as_object()
                .ok_or_else(|| bad("an entry is not an object"))?;
            let text = |k: &str| {
                m.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| KeyError::Malformed(format!("an entry has no string {k:?}")))
            };
            let name = text("name")?;
            let role = Role::parse(&text("role")?).ok_or_else(|| bad("unknown role"))?;
            let token_sha256 = text("token_sha256")?;
            if token_sha256.len() != 64 || hex::decode(&token_sha256).is_err() {
                return Err(bad("a token hash is not 64 hex digits"));
            }
            let revoked = match m.get("revoked") {
                Some(Value::Bool(b)) => *b,
                _ => return Err(bad("an entry has no boolean \"revoked\"")),
            };
            if keys.keys.iter().any(|k| k.name == name) {
                return Err(KeyError::Malformed(format!("duplicate key name {name:?}")));
            }
            keys.keys.push(KeyRecord {
                name,
                role,
                token_sha256,
                created_at: text("created_at")?,
                revoked,
            });
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_authenticate_until_revoked_and_are_stored_hashed() {
        let mut keys = ApiKeys::default();
        let agent = keys
            .add("agent-1", Role::Agent, [1; 24], "t".into())
            .unwrap();
        let human = keys
            .add("alice", Role::Approver, [2; 24], "t".into())
            .unwrap();
        assert!(agent.starts_with("dlg_") && agent.len() == 52);
        assert_eq!(
            keys.authenticate(&agent),
            Some(Caller {
                name: "agent-1".into(),
                role: Role::Agent
            })
        );
        assert_eq!(
            keys.authenticate(&human).map(|c| c.role),
            Some(Role::Approver)
        );
        assert_eq!(keys.authenticate("dlg_nope"), None);
        let text = delego_spec::json::to_canonical_string(&keys.to_value());
        assert!(!text.contains(&agent[4..]), "tokens are never stored");
        let back = ApiKeys::from_value(&delego_spec::json::parse(&text).unwrap()).unwrap();
        assert_eq!(back, keys);
        keys.revoke("agent-1").unwrap();
        assert_eq!(keys.authenticate(&agent), None);
        assert_eq!(
            keys.add("agent-1", Role::Agent, [3; 24], "t".into()),
            Err(KeyError::Exists("agent-1".into()))
        );
        assert_eq!(keys.revoke("bob"), Err(KeyError::Unknown("bob".into())));
        assert!(matches!(
            keys.add("bad name", Role::Agent, [4; 24], "t".into()),
            Err(KeyError::BadName(_))
        ));
    }

    #[test]
    fn malformed_key_files_are_refused() {
        for text in [
            "{}",
            r#"[{"name":"a","role":"root","token_sha256":"00","created_at":"t","revoked":false}]"#,
            r#"[{"name":"a","role":"agent","token_sha256":"zz","created_at":"t","revoked":false}]"#,
        ] {
            assert!(
                ApiKeys::from_value(&delego_spec::json::parse(text).unwrap()).is_err(),
                "{text}"
            );
        }
    }
}
