//! The proposed action (spec §4) and the values derived from it: the intent
//! hash, the action fingerprint (0.3 preimage with the folded query, and the
//! ≤0.2 preimage for old ledgers), and the receipt's action summary.
//!
//! This module owns the exact preimages. It must never normalise anything the
//! reference does not (paths are raw, hosts keep userinfo and port), because
//! any difference changes every fingerprint.

use crate::hash::sha256_hex;
use crate::json::{write_canonical_object, write_canonical_str, Map, Value};
use crate::text::python_strip;
use crate::url::{canonical_query, urlsplit, UrlError};

/// An action an agent proposes: what it wants to do and the human
/// instruction it claims to serve.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedAction {
    pub instruction: String,
    pub method: String,
    pub url: String,
    pub params: Map,
}

/// Why a JSON document is not a proposed action. Messages name the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("an action must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    #[error("missing field '{0}'")]
    MissingField(&'static str),
    #[error("field '{field}' must be {expected}, got {got}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        got: &'static str,
    },
    #[error("unknown field '{0}' (allowed: instruction, method, url, params)")]
    UnknownField(String),
    #[error("field 'url': {0}")]
    Url(#[from] UrlError),
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl ProposedAction {
    /// Reads `{"instruction", "method", "url", "params"}`. `params` may be
    /// omitted (empty); any other key is refused rather than ignored, so a
    /// misspelled `param` cannot silently drop the values that constrain it.
    pub fn from_value(value: &Value) -> Result<ProposedAction, ActionError> {
        let object = value
            .as_object()
            .ok_or_else(|| ActionError::NotAnObject(json_type(value)))?;
        if let Some(unknown) = object
            .keys()
            .find(|k| !matches!(k.as_str(), "instruction" | "method" | "url" | "params"))
        {
            return Err(ActionError::UnknownField(unknown.clone()));
        }
        let string = |field: &'static str| -> Result<String, ActionError> {
            match object.get(field) {
                None => Err(ActionError::MissingField(field)),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(ActionError::WrongType {
                    field,
                    expected: "a string",
                    got: json_type(other),
                }),
            }
        };
        let params = match object.get("params") {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => {
                return Err(ActionError::WrongType {
                    field: "params",
                    expected: "an object",
                    got: json_type(other),
                })
            }
        };
        Ok(ProposedAction {
            instruction: string("instruction")?,
            method: string("method")?,
            url: string("url")?,
            params,
        })
    }

    /// The action as a JSON object (the shape [`Self::from_value`] reads).
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("instruction".into(), self.instruction.clone().into());
        map.insert("method".into(), self.method.clone().into());
        map.insert("url".into(), self.url.clone().into());
        map.insert("params".into(), Value::Object(self.params.clone()));
        Value::Object(map)
    }

    /// Splits the URL and derives every hashed value in one pass.
    pub fn identity(&self) -> Result<ActionIdentity, UrlError> {
        ActionIdentity::derive(self)
    }
}

/// Everything derived from a proposed action that is hashed, signed or shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionIdentity {
    /// Upper-cased method.
    pub method: String,
    /// Lower-cased authority, userinfo and port included.
    pub host: String,
    /// The raw path, or `/` when empty.
    pub path: String,
    /// The canonical query (§4.2).
    pub query: Vec<(String, String)>,
    /// Whether the URL carries a non-empty `#fragment` (brokers refuse such
    /// actions; an empty one carries nothing, as for the reference).
    pub has_fragment: bool,
    pub intent_canonical_json: String,
    pub intent_hash: String,
    pub fingerprint_canonical_json: String,
    pub action_fingerprint: String,
    /// `METHOD host/path {canonical params}` as receipts record it.
    pub summary: String,
    params_canonical_json: String,
}

impl ActionIdentity {
    fn derive(action: &ProposedAction) -> Result<ActionIdentity, UrlError> {
        let split = urlsplit(&action.url)?;
        let method = action.method.to_uppercase();
        let host = split.netloc.to_lowercase();
        let path = if split.path.is_empty() {
            "/".to_owned()
        } else {
            split.path
        };
        let query = canonical_query(&split.query);

        let intent_canonical_json = intent_canonical_json(&action.instruction);
        let intent_hash = sha256_hex(&intent_canonical_json);

        let mut params_canonical_json = String::with_capacity(64);
        write_canonical_object(&action.params, &mut params_canonical_json);
        let fingerprint_canonical_json =
            fingerprint_preimage(&method, &host, &params_canonical_json, &path, Some(&query));
        let action_fingerprint = sha256_hex(&fingerprint_canonical_json);

        let summary = if action.params.is_empty() {
            format!("{method} {host}{path}")
        } else {
            format!("{method} {host}{path} {params_canonical_json}")
        };
        Ok(ActionIdentity {
            method,
            host,
            path,
            query,
            has_fragment: !split.fragment.is_empty(),
            intent_canonical_json,
            intent_hash,
            fingerprint_canonical_json,
            action_fingerprint,
            summary,
            params_canonical_json,
        })
    }

    /// The ≤0.2 preimage (no `query` key), for verifying ledgers written by
    /// 0.1–0.2 implementations.
    pub fn fingerprint_v02_canonical_json(&self) -> String {
        fingerprint_preimage(
            &self.method,
            &self.host,
            &self.params_canonical_json,
            &self.path,
            None,
        )
    }

    /// The ≤0.2 action fingerprint.
    pub fn action_fingerprint_v02(&self) -> String {
        sha256_hex(&self.fingerprint_v02_canonical_json())
    }
}

/// `{"instruction": TRIM(instruction)}` in canonical form, trimming exactly
/// what Python's `str.strip()` trims.
pub fn intent_canonical_json(instruction: &str) -> String {
    let mut out = String::with_capacity(instruction.len() + 20);
    out.push_str("{\"instruction\":");
    write_canonical_str(python_strip(instruction), &mut out);
    out.push('}');
    out
}

/// The fingerprint preimage with keys already in canonical order
/// (`host`, `method`, `params`, `path`, `query`).
fn fingerprint_preimage(
    method: &str,
    host: &str,
    params_canonical_json: &str,
    path: &str,
    query: Option<&[(String, String)]>,
) -> String {
    let mut out = String::with_capacity(64 + params_canonical_json.len() + host.len() + path.len());
    out.push_str("{\"host\":");
    write_canonical_str(host, &mut out);
    out.push_str(",\"method\":");
    write_canonical_str(method, &mut out);
    out.push_str(",\"params\":");
    out.push_str(params_canonical_json);
    out.push_str(",\"path\":");
    write_canonical_str(path, &mut out);
    if let Some(query) = query {
        out.push_str(",\"query\":[");
        for (i, (name, value)) in query.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            write_canonical_str(name, &mut out);
            out.push(',');
            write_canonical_str(value, &mut out);
            out.push(']');
        }
        out.push(']');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn action(json: &str) -> ProposedAction {
        ProposedAction::from_value(&parse(json).unwrap()).unwrap()
    }

    #[test]
    fn spec_worked_example() {
        let id = action(r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#)
            .identity()
            .unwrap();
        assert_eq!(
            id.fingerprint_canonical_json,
            r#"{"host":"api.example.com","method":"GET","params":{},"path":"/accounts/me","query":[]}"#
        );
        assert_eq!(
            id.intent_hash,
            "ec949034e985a92f3bcd9f9ab8313a80005157698f748f2b8df6163c04af4619"
        );
        assert_eq!(
            id.action_fingerprint,
            "051bae652ac13aa7eda6389a289e084c3414f9cd2b229544a679b47b21003d06"
        );
        assert_eq!(id.summary, "GET api.example.com/accounts/me");
    }

    #[test]
    fn refuses_malformed_actions_naming_the_field() {
        let err = |json: &str| {
            ProposedAction::from_value(&parse(json).unwrap())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(r#"{"method":"GET","url":"u"}"#),
            "missing field 'instruction'"
        );
        assert_eq!(
            err(r#"{"instruction":"i","method":1,"url":"u"}"#),
            "field 'method' must be a string, got a number"
        );
        assert_eq!(
            err(r#"{"instruction":"i","method":"GET","url":"u","params":[]}"#),
            "field 'params' must be an object, got an array"
        );
        assert_eq!(
            err(r#"{"instruction":"i","method":"GET","url":"u","param":{}}"#),
            "unknown field 'param' (allowed: instruction, method, url, params)"
        );
        assert_eq!(err("[]"), "an action must be a JSON object, got an array");
    }

    #[test]
    fn summary_carries_canonical_params() {
        let id = action(r#"{"instruction":"x","method":"post","url":"https://API.example.com/orders","params":{"b":1.0,"a":"é"}}"#)
            .identity()
            .unwrap();
        assert_eq!(
            id.summary,
            r#"POST api.example.com/orders {"a":"é","b":1.0}"#
        );
    }
}
