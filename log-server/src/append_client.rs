//! A small blocking client for `POST /v1/append`, for a firewall whose log
//! is a standalone server. Blocking (reqwest's blocking client): call it
//! from a plain thread, never from inside an async runtime.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use delego_spec::json::{parse, to_canonical_string, Map, Number, Value};

/// Why an append was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum AppendClientError {
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    #[error("append request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("the log refused the token: {0}")]
    Unauthorized(String),
    #[error("the append does not continue the log (it has {next_index:?} entries): {message}")]
    Conflict {
        next_index: Option<u64>,
        message: String,
    },
    #[error("the log refused the append ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the log's answer is malformed: {0}")]
    BadResponse(String),
}

/// Submits leaves to a standalone log.
pub struct AppendClient {
    client: reqwest::blocking::Client,
    url: String,
    token: String,
}

impl AppendClient {
    /// A client for the log at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(
        base_url: &str,
        token: &str,
        timeout: Duration,
    ) -> Result<AppendClient, AppendClientError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| AppendClientError::Build(e.to_string()))?;
        Ok(AppendClient {
            client,
            url: format!("{}/v1/append", base_url.trim_end_matches('/')),
            token: token.to_owned(),
        })
    }

    /// The index the next append must start at: the log's entry count.
    pub fn next_index(&self) -> Result<u64, AppendClientError> {
        let response = self.client.get(&self.url).bearer_auth(&self.token).send()?;
        let (status, next_index, message) = Self::answer(response)?;
        match status {
            200 => next_index
                .ok_or_else(|| AppendClientError::BadResponse("no next_index in a 200".into())),
            401 => Err(AppendClientError::Unauthorized(message)),
            _ => Err(AppendClientError::Refused { status, message }),
        }
    }

    /// The status, `next_index` and `error` of an answer.
    fn answer(
        response: reqwest::blocking::Response,
    ) -> Result<(u16, Option<u64>, String), AppendClientError> {
        let status = response.status().as_u16();
        let text = response.text()?;
        let answer = parse(&text)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .ok_or_else(|| {
                AppendClientError::BadResponse(format!("{status}: not a JSON object"))
            })?;
        let next_index = match answer.get("next_index") {
            Some(Value::Number(Number::Int(n))) => n.as_u64(),
            _ => None,
        };
        let message = answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok((status, next_index, message))
    }

    /// Appends `leaves` at `first_index`; returns the log's entry count once
    /// they are durable. Resending leaves the log already has is harmless.
    pub fn append<L: AsRef<[u8]>>(
        &self,
        first_index: u64,
        leaves: &[L],
    ) -> Result<u64, AppendClientError> {
        let mut body = Map::new();
        body.insert("first_index".into(), first_index.into());
        body.insert(
            "leaves".into(),
            Value::Array(
                leaves
                    .iter()
                    .map(|leaf| STANDARD.encode(leaf.as_ref()).into())
                    .collect(),
            ),
        );
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(to_canonical_string(&Value::Object(body)))
            .send()?;
        let (status, next_index, message) = Self::answer(response)?;
        match status {
            200 => next_index
                .ok_or_else(|| AppendClientError::BadResponse("no next_index in a 200".into())),
            401 => Err(AppendClientError::Unauthorized(message)),
            409 => Err(AppendClientError::Conflict {
                next_index,
                message,
            }),
            _ => Err(AppendClientError::Refused { status, message }),
        }
    }
}
