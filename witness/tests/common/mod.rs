//! Shared by the witness's integration tests: a witness in a temporary
//! home following one in-memory log, and that witness served over HTTP on
//! 127.0.0.1 with a free port.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use delego_spec::note::{parse_cosignature_lines, verify_cosignature, Checkpoint, VerifierKey};
use delego_witness::{FixedClock, TestLog, Witness, WitnessHome};
use rand_core::OsRng;
use tempfile::TempDir;

/// The time the test clock starts at.
pub const NOW: u64 = 1_700_000_000;
pub const ORIGIN: &str = "example.com/log";

/// A witness following [`ORIGIN`], whose log is `log`.
pub struct Harness {
    pub dir: TempDir,
    pub home: WitnessHome,
    pub clock: Arc<FixedClock>,
    pub witness: Arc<Witness>,
    pub log: TestLog,
}

pub fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("temporary directory");
    let home = WitnessHome::new(dir.path().join("witness"));
    home.init(Some("witness.test/w1"), &mut OsRng)
        .expect("init the witness home");
    let clock = Arc::new(FixedClock::new(NOW));
    let witness = home.open(clock.clone()).expect("open the witness");
    let log = TestLog::new(ORIGIN, &mut OsRng).expect("test log");
    assert!(witness
        .add_log(ORIGIN, log.verifier_key())
        .expect("follow the log"));
    Harness {
        dir,
        home,
        clock,
        witness: Arc::new(witness),
        log,
    }
}

impl Harness {
    /// Grows the log to `size` and asks the witness to go from `old` to it.
    pub fn submit(
        &mut self,
        old: u64,
        size: u64,
    ) -> Result<delego_witness::Cosigned, delego_witness::Refusal> {
        self.log.grow_to(size);
        let body = self.log.request(old, size).expect("request body");
        self.witness.add_checkpoint(body.as_bytes())
    }

    /// The size the witness last cosigned for [`ORIGIN`] (0 if none).
    pub fn latest_size(&self) -> u64 {
        let logs = self.witness.logs().expect("logs");
        let log = logs.iter().find(|l| l.origin == ORIGIN).expect("followed");
        log.latest.as_ref().map_or(0, |l| l.checkpoint.size)
    }
}

/// Checks a 200 body: exactly one line, a cosignature/v1 by `witness` over
/// `checkpoint`. Returns its timestamp.
pub fn verify_body(body: &str, checkpoint: &Checkpoint, witness: &VerifierKey) -> u64 {
    let lines = parse_cosignature_lines(body.as_bytes()).expect("cosignature lines");
    assert_eq!(lines.len(), 1, "{body}");
    verify_cosignature(checkpoint, &lines[0], witness).expect("the cosignature verifies")
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// The witness served on 127.0.0.1, port chosen by the kernel.
pub struct Server {
    pub addr: SocketAddr,
    pub prefix: String,
    client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub async fn serve(witness: Arc<Witness>, prefix: &str) -> Server {
    let router = delego_witness::http::router(witness, prefix).expect("router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("bound address");
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.await;
            })
            .await
            .expect("serve");
    });
    Server {
        addr,
        prefix: prefix.to_owned(),
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client"),
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().expect("ASCII content type").to_owned());
        let body = response.text().await.expect("response body");
        Reply {
            status,
            content_type,
            body,
        }
    }

    /// POSTs `body` to `<prefix>/add-checkpoint`.
    pub async fn add_checkpoint(&self, body: impl Into<reqwest::Body>) -> Reply {
        let url = self.url(&format!("{}/add-checkpoint", self.prefix));
        Self::read(self.client.post(url).body(body).send().await.expect("POST")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        Self::read(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }
}
