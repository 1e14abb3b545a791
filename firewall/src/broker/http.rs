//! The credential-gateway broker: forwards an authorised action to a
//! separate process that holds the secret (spec §2.2 separated-gateway
//! profile). delego holds no credential; the configured headers
//! authenticate delego to the gateway and must never be the upstream secret.
//!
//! Two request shapes, chosen by configuration:
//! - [`GatewayProtocol::Reference`]: the reference's body (`method`, `url`,
//!   `params`, `intent_hash`, `action_fingerprint`, `authorization_token`)
//!   with Python's default `json.dumps` spelling and key order, and the
//!   reference's result shape. That protocol cannot tell a gateway refusal
//!   from an upstream failure, so any non-2xx answer is recorded as an
//!   unconfirmed execution, never as an allow.
//! - [`GatewayProtocol::Gateway04`]: spec 0.4 `schema/broker-gateway.json`;
//!   the response is validated strictly and its refusal / upstream result is
//!   recorded as what it is.
//!
//! At most one attempt per authorization: no retries, no redirects, no
//! ambient proxies. The blocking client must be built and dropped outside an
//! async runtime's worker threads.

use std::io::Read;
use std::time::Duration;

use delego_spec::json::{parse, to_canonical_string, write_python_default, Map, Value};
use delego_spec::{ActionIdentity, ProposedAction};

use super::{refuse_fragment, Broker, BrokerFailure};

/// Which request/response contract the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayProtocol {
    Reference,
    Gateway04,
}

impl GatewayProtocol {
    pub fn parse(text: &str) -> Option<GatewayProtocol> {
        match text {
            "reference" => Some(GatewayProtocol::Reference),
            "broker-gateway/0.4" | "gateway-0.4" => Some(GatewayProtocol::Gateway04),
            _ => None,
        }
    }
}

/// How to reach the gateway.
#[derive(Debug, Clone)]
pub struct HttpProxyConfig {
    pub gateway_url: String,
    pub protocol: GatewayProtocol,
    /// Whole-request timeout (the reference's default is 15 s).
    pub timeout: Duration,
    /// Headers that authenticate delego to the gateway.
    pub headers: Vec<(String, String)>,
    /// Larger gateway answers are not read (the outcome is then unknown).
    pub max_response_bytes: usize,
}

impl HttpProxyConfig {
    pub fn new(gateway_url: impl Into<String>, protocol: GatewayProtocol) -> HttpProxyConfig {
        HttpProxyConfig {
            gateway_url: gateway_url.into(),
            protocol,
            timeout: Duration::from_secs(15),
            headers: Vec::new(),
            max_response_bytes: 1 << 20,
        }
    }
}

impl HttpProxyConfig {
    /// Reads a gateway configuration document: `{"url": "...",
    /// "protocol": "reference" | "broker-gateway/0.4", "timeout_seconds": N,
    /// "headers": {"name": "value"}}`; only `url` is required, and unknown
    /// keys are refused (a misspelt setting must not be ignored).
    pub fn from_value(value: &Value) -> Result<HttpProxyConfig, GatewayConfigError> {
        let bad = |what: &str| GatewayConfigError(what.to_owned());
        let m = value
            .as_object()
            .ok_or_else(|| bad("must be a JSON object"))?;
        only_keys(
            m,
            &["url", "protocol", "timeout_seconds", "headers"],
            "the gateway configuration",
        )
        .map_err(GatewayConfigError)?;
        let url = m
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("'url' (a string) is required"))?;
        let protocol = match m.get("protocol") {
            None => GatewayProtocol::Reference,
            Some(p) => p
                .as_str()
                .and_then(GatewayProtocol::parse)
                .ok_or_else(|| bad("'protocol' must be \"reference\" or \"broker-gateway/0.4\""))?,
        };
        let mut config = HttpProxyConfig::new(url, protocol);
        if let Some(timeout) = m.get("timeout_seconds") {
            let seconds = timeout
                .as_i64()
                .filter(|s| !matches!(timeout, Value::Bool(_)) && (1..=300).contains(s))
                .ok_or_else(|| bad("'timeout_seconds' must be an integer from 1 to 300"))?;
            config.timeout = Duration::from_secs(seconds.unsigned_abs());
        }
        if let Some(headers) = m.get("headers") {
            let headers = headers
                .as_object()
                .ok_or_else(|| bad("'headers' must be an object of strings"))?;
            for (name, value) in headers {
                let value = value.as_str().ok_or_else(|| {
                    GatewayConfigError(format!("header {name:?} must be a string"))
                })?;
                config.headers.push((name.clone(), value.to_owned()));
            }
        }
        Ok(config)
    }
}

/// A configuration the broker cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid gateway configuration: {0}")]
pub struct GatewayConfigError(String);

/// See the module documentation.
pub struct HttpProxyBroker {
    config: HttpProxyConfig,
    client: reqwest::blocking::Client,
}

/// The reference keeps at most this many characters of a non-JSON answer.
const RAW_CHARS: usize = 1000;

impl HttpProxyBroker {
    pub fn new(config: HttpProxyConfig) -> Result<HttpProxyBroker, GatewayConfigError> {
        let url = reqwest::Url::parse(&config.gateway_url).map_err(|e| {
            GatewayConfigError(format!("gateway url {:?}: {e}", config.gateway_url))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(GatewayConfigError(format!(
                "gateway url {:?} must be http(s) with a host",
                config.gateway_url
            )));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &config.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| GatewayConfigError(format!("header name {name:?} is invalid")))?;
            let mut value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| GatewayConfigError(format!("header {name} has an invalid value")))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .default_headers(headers)
            .build()
            .map_err(|e| GatewayConfigError(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpProxyBroker { config, client })
    }

    /// The request body for `protocol`.
    fn body(
        &self,
        action: &ProposedAction,
        identity: &ActionIdentity,
        token: Option<&str>,
    ) -> Result<String, BrokerFailure> {
        let url = delego_spec::url::urlsplit(&action.url)
            .map_err(|e| BrokerFailure::Refused(format!("cannot reconstruct the url: {e}")))?
            .without_fragment();
        let params = Value::Object(action.params.clone());
        Ok(match self.config.protocol {
            GatewayProtocol::Reference => {
                // Python's json.dumps(dict) keeps insertion order; write the
                // members in the reference's order.
                let mut fields: Vec<(&str, Value)> = vec![
                    ("method", identity.method.as_str().into()),
                    ("url", url.into()),
                    ("params", params),
                    ("intent_hash", identity.intent_hash.as_str().into()),
                    (
                        "action_fingerprint",
                        identity.action_fingerprint.as_str().into(),
                    ),
                ];
                if let Some(token) = token {
                    fields.push(("authorization_token", token.into()));
                }
                let mut out = String::from("{");
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_python_default(&Value::from(*key), &mut out);
                    out.push_str(": ");
                    write_python_default(value, &mut out);
                }
                out.push('}');
                out
            }
            GatewayProtocol::Gateway04 => {
                let mut inner = Map::new();
                inner.insert("method".into(), identity.method.as_str().into());
                inner.insert("url".into(), url.into());
                inner.insert("params".into(), params);
                let mut request = Map::new();
                request.insert("action".into(), Value::Object(inner));
                request.insert("intent_hash".into(), identity.intent_hash.as_str().into());
                request.insert(
                    "action_fingerprint".into(),
                    identity.action_fingerprint.as_str().into(),
                );
                if let Some(token) = token {
                    request.insert("authorization_token".into(), token.into());
                }
                to_canonical_string(&Value::Object(request))
            }
        })
    }

    /// Sends once; the status and the (bounded) body text.
    fn send(&self, body: String) -> Result<(u16, String), BrokerFailure> {
        let response = self
            .client
            .post(&self.config.gateway_url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .map_err(|e| {
                let sent = if e.is_connect() {
                    "the gateway was not reached"
                } else {
                    "the request may have reached the gateway"
                };
                BrokerFailure::Unknown {
                    reason: format!("gateway request failed ({sent}): {e}"),
                    result: None,
                }
            })?;
        let status = response.status().as_u16();
        let limit = self.config.max_response_bytes;
        let mut bytes = Vec::new();
        response
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| BrokerFailure::Unknown {
                reason: format!("gateway answered HTTP {status} but its body was unreadable: {e}"),
                result: None,
            })?;
        if bytes.len() > limit {
            return Err(BrokerFailure::Unknown {
                reason: format!("gateway answered HTTP {status} with more than {limit} bytes"),
                result: None,
            });
        }
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn reference_result(&self, status: u16, text: &str) -> Result<Value, BrokerFailure> {
        let response = if text.is_empty() {
            Value::Null
        } else {
            parse(text).unwrap_or_else(|_| {
                let mut raw = Map::new();
                raw.insert(
                    "raw".into(),
                    text.chars().take(RAW_CHARS).collect::<String>().into(),
                );
                Value::Object(raw)
            })
        };
        let mut result = Map::new();
        result.insert("broker".into(), "http_proxy".into());
        result.insert("gateway".into(), self.config.gateway_url.as_str().into());
        result.insert("gateway_status".into(), i64::from(status).into());
        result.insert("response".into(), response);
        let result = Value::Object(result);
        if (200..300).contains(&status) {
            Ok(result)
        } else {
            Err(BrokerFailure::Unknown {
                reason: format!(
                    "gateway answered HTTP {status}; the reference gateway protocol does not say \
                     whether the request was forwarded"
                ),
                result: Some(result),
            })
        }
    }

    fn gateway04_result(&self, status: u16, text: &str) -> Result<Value, BrokerFailure> {
        let invalid = |why: String| BrokerFailure::Unknown {
            reason: format!(
                "gateway answered HTTP {status} with an invalid broker-gateway response: {why}"
            ),
            result: None,
        };
        let value = parse(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let response = GatewayResponse::from_value(&value).map_err(invalid)?;
        let mut result = Map::new();
        result.insert("broker".into(), "http_proxy".into());
        result.insert("gateway".into(), self.config.gateway_url.as_str().into());
        result.insert("gateway_status".into(), i64::from(status).into());
        result.insert("response".into(), value);
        let result = Value::Object(result);
        match response {
            GatewayResponse::Refused { code, message } => Err(BrokerFailure::Refused(format!(
                "gateway refused ({code}): {message}"
            ))),
            GatewayResponse::Executed {
                error: Some(error), ..
            } => Err(BrokerFailure::Upstream {
                reason: format!("upstream execution failed: {error}"),
                result,
            }),
            GatewayResponse::Executed {
                status: Some(code), ..
            } if !(200..300).contains(&code) => Err(BrokerFailure::Upstream {
                reason: format!("upstream answered status {code}"),
                result,
            }),
            GatewayResponse::Executed { .. } => Ok(result),
        }
    }
}

/// A validated spec 0.4 gateway response.
#[derive(Debug, PartialEq)]
enum GatewayResponse {
    Refused {
        code: String,
        message: String,
    },
    Executed {
        status: Option<i64>,
        error: Option<String>,
    },
}

const REFUSAL_CODES: [&str; 5] = [
    "reconstruction_failed",
    "fragment_present",
    "token_invalid",
    "unsupported",
    "already_consumed",
];

impl GatewayResponse {
    /// Validates against `schema/broker-gateway.json#/$defs/response`, plus
    /// the rules its descriptions state: `refused` and `upstream` are
    /// mutually exclusive, `upstream` is present iff `executed` is true.
    fn from_value(value: &Value) -> Result<GatewayResponse, String> {
        let m = value.as_object().ok_or("the response must be an object")?;
        only_keys(m, &["executed", "refused", "upstream"], "response")?;
        let executed = match m.get("executed") {
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("'executed' must be a boolean".into()),
            None => return Err("'executed' is required".into()),
        };
        match (executed, m.get("refused"), m.get("upstream")) {
            (false, Some(refused), None) => {
                let r = refused.as_object().ok_or("'refused' must be an object")?;
                only_keys(r, &["code", "message"], "refused")?;
                let code = r
                    .get("code")
                    .and_then(Value::as_str)
                    .ok_or("'refused.code' must be a string")?;
                if !REFUSAL_CODES.contains(&code) {
                    return Err(format!("'refused.code' {code:?} is not a known code"));
                }
                let message = r
                    .get("message")
                    .and_then(Value::as_str)
                    .ok_or("'refused.message' must be a string")?;
                Ok(GatewayResponse::Refused {
                    code: code.to_owned(),
                    message: message.to_owned(),
                })
            }
            (true, None, Some(upstream)) => {
                let u = upstream.as_object().ok_or("'upstream' must be an object")?;
                only_keys(u, &["status", "result", "error"], "upstream")?;
                let status = match u.get("status") {
                    None => None,
                    Some(v) => Some(
                        v.as_i64()
                            .filter(|_| !matches!(v, Value::Bool(_)))
                            .ok_or("'upstream.status' must be an integer")?,
                    ),
                };
                let error = match u.get("error") {
                    None => None,
                    Some(v) => Some(
                        v.as_str()
                            .ok_or("'upstream.error' must be a string")?
                            .to_owned(),
                    ),
                };
                Ok(GatewayResponse::Executed { status, error })
            }
            (false, None, _) => Err("a response that did not execute must carry 'refused'".into()),
            (false, Some(_), Some(_)) => {
                Err("'refused' and 'upstream' are mutually exclusive".into())
            }
            (true, Some(_), _) => Err("an executed response cannot carry 'refused'".into()),
            (true, None, None) => Err("an executed response must carry 'upstream'".into()),
        }
    }
}

fn only_keys(m: &Map, allowed: &[&str], what: &str) -> Result<(), String> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(format!("unexpected property {extra:?} in {what}")),
        None => Ok(()),
    }
}

impl Broker for HttpProxyBroker {
    fn name(&self) -> &str {
        "http_proxy"
    }

    fn execute(
        &self,
        action: &ProposedAction,
        identity: &ActionIdentity,
        token: Option<&str>,
    ) -> Result<Value, BrokerFailure> {
        refuse_fragment(action, identity)?;
        let body = self.body(action, identity, token)?;
        let (status, text) = self.send(body)?;
        match self.config.protocol {
            GatewayProtocol::Reference => self.reference_result(status, &text),
            GatewayProtocol::Gateway04 => self.gateway04_result(status, &text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(text: &str) -> Result<GatewayResponse, String> {
        GatewayResponse::from_value(&parse(text).map_err(|e| e.to_string())?)
    }

    #[test]
    fn accepts_the_schema_shapes() {
        assert_eq!(
            response(r#"{"executed":true,"upstream":{"status":201,"result":{"id":1}}}"#),
            Ok(GatewayResponse::Executed {
                status: Some(201),
                error: None
            })
        );
        assert_eq!(
            response(r#"{"executed":false,"refused":{"code":"token_invalid","message":"exp"}}"#),
            Ok(GatewayResponse::Refused {
                code: "token_invalid".into(),
                message: "exp".into()
            })
        );
        assert_eq!(
            response(r#"{"executed":true,"upstream":{"error":"timeout"}}"#),
            Ok(GatewayResponse::Executed {
                status: None,
                error: Some("timeout".into())
            })
        );
    }

    #[test]
    fn refuses_everything_else() {
        for (text, why) in [
            ("[]", "must be an object"),
            ("{}", "'executed' is required"),
            (r#"{"executed":"yes"}"#, "boolean"),
            (r#"{"executed":false}"#, "must carry 'refused'"),
            (r#"{"executed":true}"#, "must carry 'upstream'"),
            (
                r#"{"executed":true,"upstream":{},"refused":{"code":"unsupported","message":""}}"#,
                "cannot carry 'refused'",
            ),
            (
                r#"{"executed":false,"upstream":{},"refused":{"code":"unsupported","message":""}}"#,
                "mutually exclusive",
            ),
            (
                r#"{"executed":false,"refused":{"code":"nope","message":""}}"#,
                "not a known code",
            ),
            (
                r#"{"executed":false,"refused":{"code":"unsupported"}}"#,
                "'refused.message'",
            ),
            (r#"{"executed":true,"upstream":{"status":true}}"#, "integer"),
            (r#"{"executed":true,"upstream":{"status":2.5}}"#, "integer"),
            (
                r#"{"executed":true,"upstream":{"error":1}}"#,
                "'upstream.error'",
            ),
            (
                r#"{"executed":true,"upstream":{},"extra":1}"#,
                "unexpected property",
            ),
            (
                r#"{"executed":true,"upstream":{"headers":{}}}"#,
                "unexpected property",
            ),
        ] {
            match response(text) {
                Err(message) => assert!(message.contains(why), "{text}: {message}"),
                Ok(parsed) => panic!("{text} accepted as {parsed:?}"),
            }
        }
    }

    #[test]
    fn configuration_is_checked() {
        for url in ["ftp://gw/x", "not a url", "http://"] {
            assert!(
                HttpProxyBroker::new(HttpProxyConfig::new(url, GatewayProtocol::Reference))
                    .is_err(),
                "{url}"
            );
        }
        let mut config = HttpProxyConfig::new("http://127.0.0.1:9/x", GatewayProtocol::Gateway04);
        config.headers.push(("bad header".into(), "v".into()));
        assert!(HttpProxyBroker::new(config).is_err());
        assert_eq!(
            GatewayProtocol::parse("reference"),
            Some(GatewayProtocol::Reference)
        );
        assert_eq!(
            GatewayProtocol::parse("broker-gateway/0.4"),
            Some(GatewayProtocol::Gateway04)
        );
        assert_eq!(GatewayProtocol::parse("v2"), None);
    }

    #[test]
    fn configuration_documents_are_read_strictly() {
        let read = |text: &str| HttpProxyConfig::from_value(&parse(text).unwrap());
        let config = read(
            r#"{"url":"http://127.0.0.1:8081/x","protocol":"broker-gateway/0.4","timeout_seconds":3,"headers":{"authorization":"Bearer t"}}"#,
        )
        .unwrap();
        assert_eq!(config.protocol, GatewayProtocol::Gateway04);
        assert_eq!(config.timeout, Duration::from_secs(3));
        assert_eq!(
            config.headers,
            [("authorization".to_owned(), "Bearer t".to_owned())]
        );
        assert_eq!(
            read(r#"{"url":"http://gw"}"#).unwrap().protocol,
            GatewayProtocol::Reference
        );
        for (text, why) in [
            (r#"{}"#, "'url'"),
            (
                r#"{"url":"http://gw","timeout":3}"#,
                "unexpected property \"timeout\"",
            ),
            (r#"{"url":"http://gw","protocol":"v9"}"#, "'protocol'"),
            (
                r#"{"url":"http://gw","timeout_seconds":0}"#,
                "'timeout_seconds'",
            ),
            (
                r#"{"url":"http://gw","timeout_seconds":true}"#,
                "'timeout_seconds'",
            ),
            (r#"{"url":"http://gw","headers":{"a":1}}"#, "header \"a\""),
            (r#"[]"#, "object"),
        ] {
            match read(text) {
                Err(e) => assert!(e.to_string().contains(why), "{text}: {e}"),
                Ok(_) => panic!("{text} accepted"),
            }
        }
    }
}
