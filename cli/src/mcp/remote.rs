//! `delego mcp` through a running `delego serve`: finding it, and the tools'
//! calls as requests to its `/v1` API with the server's local admin token.
//!
//! A request that fails after it was sent is reported, never retried nor
//! redone in-process: the server may have decided the action already.

use std::time::Duration;

use anyhow::Context as _;
use delego_firewall::api::keys::Caller;
use delego_firewall::approval::ApprovalRecord;
use delego_spec::json::{parse, to_canonical_string, Map, Value};
use delego_spec::ProposedAction;

use super::backend::{Answer, BackendError, FirewallBackend};
/// How long a decision may take: a credential gateway's own timeout, and
/// anchored durability, come first.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub use crate::client::{running_server, RunningServer};

/// The `/v1` API of a running server.
pub struct RemoteBackend {
    server: RunningServer,
    client: reqwest::blocking::Client,
}

impl RemoteBackend {
    pub fn new(server: RunningServer) -> anyhow::Result<RemoteBackend> {
        let client = reqwest::blocking::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .context("cannot build an HTTP client")?;
        Ok(RemoteBackend { server, client })
    }

    /// One request; the JSON answer of a 200, else the server's error.
    pub(crate) fn call(&self, path: &str, body: Option<&Value>) -> Answer<Value> {
        self.call_as(path, body, None)
    }

    /// As [`Self::call`], deciding as the named approver (admin only).
    pub(crate) fn call_as(
        &self,
        path: &str,
        body: Option<&Value>,
        approver: Option<&str>,
    ) -> Answer<Value> {
        let url = format!("{}{path}", self.server.url);
        let request = match body {
            Some(body) => self
                .client
                .post(&url)
                .header("content-type", "application/json")
                .body(to_canonical_string(body)),
            None => self.client.get(&url),
        };
        let request = match approver {
            Some(name) => request.header("x-delego-approver", name),
            None => request,
        };
        let response = request
            .bearer_auth(&self.server.token)
            .send()
            .map_err(|e| {
                BackendError::Failed(format!(
                    "no answer from the delego server at {} ({e}); if this was a proposal, \
                     check delego_audit_tail before proposing again",
                    self.server.url
                ))
            })?;
        let status = response.status();
        let text = response.text().map_err(|e| {
            BackendError::Failed(format!(
                "unreadable answer from the delego server at {}: {e}",
                self.server.url
            ))
        })?;
        let value = parse(&text).map_err(|e| {
            BackendError::Failed(format!(
                "the delego server at {} answered {status} with non-JSON: {e}",
                self.server.url
            ))
        })?;
        if status.is_success() {
            return Ok(value);
        }
        let message = value
            .as_object()
            .and_then(|m| m.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        Err(BackendError::Failed(format!(
            "the delego server refused ({}): {message}",
            status.as_u16()
        )))
    }

    /// `key` of an answer object, which must be an array.
    pub(crate) fn items(answer: Value, key: &str) -> Answer<Vec<Value>> {
        match answer {
            Value::Object(mut m) => match m.remove(key) {
                Some(Value::Array(items)) => Ok(items),
                _ => Err(BackendError::Failed(format!(
                    "the delego server's answer has no '{key}' list"
                ))),
            },
            _ => Err(BackendError::Failed(
                "the delego server's answer is not an object".into(),
            )),
        }
    }
}

/// An approval id as one URL path segment: every byte outside
/// `A-Z a-z 0-9 - _` percent-encoded, so no id can name another route.
pub(crate) fn path_segment(id: &str) -> Option<String> {
    // A segment of only dots is a dot-segment even when encoded.
    if id.is_empty() || id.bytes().all(|b| b == b'.') {
        return None;
    }
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Some(out)
}

impl FirewallBackend for RemoteBackend {
    /// The server knows the caller from the admin token.
    fn propose(&self, action: ProposedAction, _caller: Option<&Caller>) -> Answer<Value> {
        self.call("/v1/actions", Some(&action.to_value()))
    }

    fn resolve(&self, approval_id: &str, action: ProposedAction) -> Answer<Value> {
        let segment = path_segment(approval_id)
            .ok_or_else(|| BackendError::Failed(format!("there is no approval {approval_id:?}")))?;
        let mut body = Map::new();
        body.insert("action".into(), action.to_value());
        self.call(
            &format!("/v1/approvals/{segment}/resolve"),
            Some(&Value::Object(body)),
        )
    }

    fn audit_tail(&self, lines: u64) -> Answer<Vec<Value>> {
        Self::items(
            self.call(&format!("/v1/receipts?tail={lines}"), None)?,
            "receipts",
        )
    }

    fn pending(&self, _caller: Option<&Caller>) -> Answer<Vec<ApprovalRecord>> {
        let items = Self::items(self.call("/v1/approvals", None)?, "approvals")?;
        let mut records = Vec::new();
        for item in &items {
            // The server adds the status at its clock: an expired approval
            // is no longer awaiting anyone.
            let status = item
                .as_object()
                .and_then(|m| m.get("status"))
                .and_then(Value::as_str);
            if status != Some("pending") {
                continue;
            }
            records.push(ApprovalRecord::from_value(item).ok_or_else(|| {
                BackendError::Failed("the delego server sent an unreadable approval".into())
            })?);
        }
        Ok(records)
    }

    fn policy(&self) -> Answer<Value> {
        self.call("/v1/policy", None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::home::Home;
    use std::fs;

    #[test]
    fn approval_ids_stay_one_path_segment() {
        assert_eq!(
            path_segment("apr_0123abcd").as_deref(),
            Some("apr_0123abcd")
        );
        assert_eq!(
            path_segment("../actions?x=1").as_deref(),
            Some("%2E%2E%2Factions%3Fx%3D1")
        );
        assert_eq!(path_segment("é").as_deref(), Some("%C3%A9"));
        assert_eq!(path_segment(".."), None);
        assert_eq!(path_segment(""), None);
    }

    #[test]
    fn discovery_reads_only_a_well_formed_file_of_a_live_server() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let home = Home { dir: dir.clone() };
        assert_eq!(running_server(&home).unwrap(), None);
        let file = dir.join("server.json");
        let write = |text: &str| {
            fs::write(&file, text).unwrap();
            fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        };
        write("{not json");
        assert!(running_server(&home).is_err());
        write(r#"{"url":"ftp://x","token":"t"}"#);
        assert!(running_server(&home).is_err());
        // The token never goes to another host.
        write(r#"{"url":"http://203.0.113.7:7300","token":"t"}"#);
        assert!(running_server(&home).is_err());
        write(r#"{"url":"http://127.0.0.1:1"}"#);
        assert!(running_server(&home).is_err());
        // Nothing listens on port 1 of loopback: stale, so none.
        write(r#"{"url":"http://127.0.0.1:1","token":"t"}"#);
        assert_eq!(running_server(&home).unwrap(), None);
        // A dead process's file is stale whatever answers at its URL.
        write(r#"{"url":"http://127.0.0.1:1","pid":2147483646,"token":"t"}"#);
        assert_eq!(running_server(&home).unwrap(), None);
        // Readable by others: not trusted.
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(running_server(&home).is_err());
    }
}
