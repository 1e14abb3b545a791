//! `delego log-server` as a real process on 127.0.0.1: receipts appended
//! with the `AppendClient` come back in a checkpoint that verifies with the
//! key the server printed, with inclusion proofs that verify against it; a
//! `kill -9` loses nothing acknowledged and the restarted log stays
//! consistent with what it signed before; SIGTERM stops it cleanly; and
//! unusable input is one error line with exit code 2.

use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use delego_e2e::{assert_no_panic, delego_bin, write_file, Delego};
use delego_log::AppendClient;
use delego_spec::json::{parse, Map, Number, Value};
use delego_spec::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};
use delego_spec::note::{open_checkpoint, Checkpoint, VerifierKey};
use delego_spec::{Outcome, Phase, ReceiptPayload, GENESIS};

const ORIGIN: &str = "log.example/receipts";
const TOKEN: &str = "e2e-append-token";
const WAIT: Duration = Duration::from_secs(30);

/// A chain of signed receipts, as canonical JSON leaves.
fn receipts(count: u64) -> Vec<Vec<u8>> {
    let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let mut prev = GENESIS.to_owned();
    (0..count)
        .map(|seq| {
            let receipt = ReceiptPayload {
                seq,
                ts: "2025-06-01T12:00:00.000000+00:00".into(),
                phase: Phase::Decision,
                outcome: Outcome::Allow,
                rule: Some("read-only".into()),
                reasons: vec![],
                intent_hash: format!("{seq:064x}"),
                action_fingerprint: format!("{:064x}", seq + 1),
                action_summary: format!("GET api.example.com/accounts/{seq}"),
                approval_id: None,
                prev_hash: prev.clone(),
            }
            .sign(&key);
            prev = receipt.entry_hash.clone();
            receipt.canonical_json().into_bytes()
        })
        .collect()
}

/// A running `delego log-server`, killed when dropped.
struct Server {
    child: Child,
    url: String,
    key: VerifierKey,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let token = dir.join("token");
        write_file(&token, format!("{TOKEN}\n"));
        let mut child = Command::new(delego_bin())
            .args(["log-server", "--listen", "127.0.0.1:0", "--origin", ORIGIN])
            .arg("--dir")
            .arg(dir.join("log"))
            .arg("--append-token-file")
            .arg(&token)
            .args(["--interval-ms", "50"])
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start delego log-server");
        let stdout = child.stdout.take().expect("stdout");
        let (lines, received) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        // Drained so that logging never blocks the server.
        let mut stderr = child.stderr.take().expect("stderr");
        thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
        let line = || received.recv_timeout(WAIT).expect("a stdout line in time");
        let listening = line();
        let address = listening
            .strip_prefix("listening on 127.0.0.1:")
            .unwrap_or_else(|| panic!("first line is {listening:?}"));
        let key_line = line();
        let key = key_line
            .strip_prefix("log key: ")
            .unwrap_or_else(|| panic!("second line is {key_line:?}"));
        Server {
            child,
            url: format!("http://127.0.0.1:{address}"),
            key: VerifierKey::parse(key).expect("the printed key is a verifier key"),
        }
    }

    fn client(&self) -> AppendClient {
        AppendClient::new(&self.url, TOKEN, Duration::from_secs(10)).expect("client")
    }

    fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let response = reqwest::blocking::get(format!("{}/{path}", self.url)).expect("GET");
        let status = response.status().as_u16();
        (status, response.bytes().expect("body").to_vec())
    }

    fn checkpoint(&self) -> Checkpoint {
        let (status, body) = self.get("checkpoint");
        assert_eq!(status, 200);
        open_checkpoint(&body, std::slice::from_ref(&self.key))
            .expect("the checkpoint verifies with the printed key")
            .checkpoint
    }

    /// Polls until the checkpoint covers `size` leaves.
    fn wait_for_size(&self, size: u64) -> Checkpoint {
        let deadline = Instant::now() + WAIT;
        loop {
            let checkpoint = self.checkpoint();
            if checkpoint.size >= size {
                return checkpoint;
            }
            assert!(
                Instant::now() < deadline,
                "stuck at size {}",
                checkpoint.size
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn json(&self, path: &str) -> Map {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        parse(std::str::from_utf8(&body).expect("UTF-8"))
            .ok()
            .and_then(|v| v.as_object().cloned())
            .expect("a JSON object")
    }

    /// Sends SIGTERM; returns the exit code.
    fn terminate(mut self) -> i32 {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().expect("exited, not signalled");
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGKILL, as a crash would; a no-op once it has exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proof(body: &Map) -> Vec<Hash> {
    body.get("proof")
        .and_then(Value::as_array)
        .expect("proof array")
        .iter()
        .map(|h| {
            let bytes = base64_decode(h.as_str().expect("string"));
            Hash::try_from(bytes).expect("32 bytes")
        })
        .collect()
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

fn number(body: &Map, name: &str) -> u64 {
    match body.get(name) {
        Some(Value::Number(Number::Int(n))) => n.as_u64().expect("u64"),
        other => panic!("{name} is {other:?}"),
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn appended_receipts_are_signed_and_provable() {
    let dir = tempdir();
    let server = Server::start(dir.path());
    let key_file = dir.path().join("log/log.key");
    let mode = std::fs::metadata(&key_file)
        .expect("log.key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(server.key.name(), ORIGIN);

    let leaves = receipts(50);
    let client = server.client();
    assert_eq!(client.append(0, &leaves[..20]).expect("append"), 20);
    assert_eq!(client.append(20, &leaves[20..]).expect("append"), 50);
    let checkpoint = server.wait_for_size(50);
    assert_eq!((checkpoint.origin.as_str(), checkpoint.size), (ORIGIN, 50));

    for index in [0u64, 1, 17, 31, 49] {
        let body = server.json(&format!("v1/proof/inclusion?index={index}&size=50"));
        let hash = leaf_hash(&leaves[index as usize]);
        verify_inclusion(&hash, index, 50, &proof(&body), &checkpoint.root)
            .expect("the inclusion proof verifies against the checkpoint");
    }
    let hash = leaf_hash(&leaves[33]);
    let body = server.json(&format!(
        "v1/proof/inclusion?leaf_hash={}&size=50",
        hex_encode(&hash)
    ));
    assert_eq!(number(&body, "index"), 33);
    verify_inclusion(&hash, 33, 50, &proof(&body), &checkpoint.root).expect("verifies");

    // The entry bundle holds the receipts byte for byte.
    let (status, bundle) = server.get("tile/entries/000.p/50");
    assert_eq!(status, 200);
    let mut rest = bundle.as_slice();
    for leaf in &leaves {
        let (len, tail) = rest.split_first_chunk::<2>().expect("length");
        let len = usize::from(u16::from_be_bytes(*len));
        assert_eq!(&tail[..len], leaf.as_slice());
        rest = &tail[len..];
    }
    assert_eq!(server.terminate(), 0);
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_killed_server_loses_nothing_and_stays_consistent() {
    let dir = tempdir();
    let leaves = receipts(80);
    let (key, before) = {
        let server = Server::start(dir.path());
        assert_eq!(
            server.client().append(0, &leaves[..30]).expect("append"),
            30
        );
        let before = server.wait_for_size(30);
        // Acknowledged but perhaps not yet integrated when the kill lands.
        assert_eq!(
            server.client().append(30, &leaves[30..45]).expect("append"),
            45
        );
        (server.key.clone(), before)
        // Dropped: SIGKILL.
    };
    let server = Server::start(dir.path());
    assert_eq!(server.key, key, "the key survives restarts");
    // A resend across the crash boundary is harmless; then the log continues.
    let client = server.client();
    assert_eq!(client.append(40, &leaves[40..60]).expect("append"), 60);
    assert_eq!(client.append(60, &leaves[60..]).expect("append"), 80);
    let after = server.wait_for_size(80);
    let body = server.json(&format!(
        "v1/proof/consistency?old={}&new={}",
        before.size, after.size
    ));
    verify_consistency(
        before.size,
        after.size,
        &proof(&body),
        &before.root,
        &after.root,
    )
    .expect("the restarted log extends what it signed before the crash");
    for index in [0u64, 44, 79] {
        let body = server.json(&format!("v1/proof/inclusion?index={index}&size=80"));
        let hash = leaf_hash(&leaves[index as usize]);
        verify_inclusion(&hash, index, 80, &proof(&body), &after.root).expect("verifies");
    }
    assert_eq!(server.terminate(), 0);
}

fn usage_error(dir: &Path, extra: &[&str]) -> String {
    let out = Delego::new()
        .args(["log-server", "--listen", "127.0.0.1:0"])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .timeout(WAIT)
        .run();
    assert_no_panic(&out.stderr, &out);
    out.assert_usage_error().to_owned()
}

#[test]
fn unusable_input_is_one_line_and_exit_code_2() {
    let dir = tempdir();
    let log_dir: PathBuf = dir.path().join("log");
    let missing = dir.path().join("missing");
    let message = usage_error(&log_dir, &["--origin", ORIGIN, "--witness", "w1=nonsense"]);
    assert!(message.contains("witness"), "{message}");
    let message = usage_error(
        &log_dir,
        &[
            "--origin",
            ORIGIN,
            "--policy",
            missing.to_str().expect("utf8"),
        ],
    );
    assert!(message.contains("policy"), "{message}");
    let message = usage_error(
        &log_dir,
        &[
            "--origin",
            ORIGIN,
            "--append-token-file",
            missing.to_str().expect("utf8"),
        ],
    );
    assert!(message.contains("token"), "{message}");
    assert!(
        !log_dir.exists(),
        "bad flags are refused before anything is created"
    );
    // A first start creates the key for ORIGIN: another origin is refused.
    assert_eq!(Server::start(dir.path()).terminate(), 0);
    let message = usage_error(&log_dir, &["--origin", "someone.else/log"]);
    assert!(message.contains("origin"), "{message}");
    // A key file others can read is refused.
    let key_file = log_dir.join("log.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let message = usage_error(&log_dir, &["--origin", ORIGIN]);
    assert!(message.contains("chmod 600"), "{message}");
}
