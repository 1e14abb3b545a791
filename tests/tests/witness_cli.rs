//! `delego witness` as real processes: init, add-log, serve on a free port,
//! add-checkpoint over HTTP, list; then SIGKILL the server and restart it
//! on the same home: what it cosigned is kept and the protocol continues
//! from there. Also graceful SIGTERM, the home's environment variable and
//! refused input.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use delego_e2e::{assert_no_panic, delego_bin, run_command, HomeCli};
use delego_spec::note::{
    open_checkpoint, origin_hash, parse_cosignature_lines, verify_cosignature, KeyType, VerifierKey,
};
use delego_witness::TestLog;
use rand_core::OsRng;

const ORIGIN: &str = "example.com/e2e-log";

/// A running `delego witness serve`, killed (SIGKILL) on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(home: &Path) -> Server {
        let mut child = Command::new(delego_bin())
            .args(["witness", "--home"])
            .arg(home)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start delego witness serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = match receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("the server printed no address within 30 s");
            }
        };
        let addr = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first stdout line: {line:?}"))
            .to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Server {
            child,
            base: format!("http://{addr}"),
        }
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }

    /// SIGTERM, then the exit status within a bound.
    fn terminate(mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "no exit within 30 s of SIGTERM");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// POSTs an add-checkpoint body: status, content type, body.
fn add_checkpoint(server: &Server, body: String) -> (u16, String, String) {
    let response = client()
        .post(format!("{}/add-checkpoint", server.base))
        .body(body)
        .send()
        .expect("POST add-checkpoint");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().expect("body"))
}

fn assert_cosigned(reply: &(u16, String, String), log: &TestLog, size: u64, witness: &VerifierKey) {
    assert_eq!(reply.0, 200, "{reply:?}");
    let lines = parse_cosignature_lines(reply.2.as_bytes()).expect("cosignature lines");
    assert_eq!(lines.len(), 1);
    let timestamp = verify_cosignature(&log.checkpoint(size).unwrap(), &lines[0], witness)
        .expect("the cosignature verifies with the witness key");
    assert!(timestamp > 1_600_000_000, "{timestamp}");
}

#[test]
fn a_witness_cosigns_and_keeps_its_state_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("witness");
    let cli = HomeCli::new(&home);
    let cli = |args: &[&str]| {
        let mut all = vec!["witness"];
        all.extend_from_slice(args);
        cli.run(all)
    };

    let out = cli(&["init", "--name", "witness.example/e2e"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out}");
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 1, "{out}");
    let witness_key = VerifierKey::parse(lines[0]).expect("init prints a verifier key");
    assert_eq!(witness_key.key_type(), KeyType::CosignatureV1);
    assert_eq!(witness_key.name(), "witness.example/e2e");

    let mut log = TestLog::new(ORIGIN, &mut OsRng).unwrap();
    let vkey = log.verifier_key().to_string();
    let out = cli(&["add-log", "example.com/other", &vkey]);
    let error = out.assert_usage_error();
    assert!(error.contains("origin"), "{error}");
    let out = cli(&["add-log", ORIGIN, &vkey]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out}");
    let out = cli(&["list"]);
    assert_eq!(
        out.stdout,
        format!("{ORIGIN} size=0 root=none keys=1 evidence=0\n"),
        "{out}"
    );

    let server = Server::start(&home);
    log.grow_to(25);
    let reply = add_checkpoint(&server, log.request(0, 10).unwrap());
    assert_eq!(reply.1, "text/plain; charset=utf-8");
    assert_cosigned(&reply, &log, 10, &witness_key);
    assert_cosigned(
        &add_checkpoint(&server, log.request(10, 25).unwrap()),
        &log,
        25,
        &witness_key,
    );
    server.kill();

    // The state is the server's last answer, though it never shut down.
    let out = cli(&["list"]);
    let root_line = log.checkpoint(25).unwrap().to_text().unwrap();
    let root = root_line.lines().nth(2).unwrap();
    assert_eq!(
        out.stdout,
        format!("{ORIGIN} size=25 root={root} keys=1 evidence=0\n"),
        "{out}"
    );

    let server = Server::start(&home);
    log.grow_to(30);
    let reply = add_checkpoint(&server, log.request(10, 30).unwrap());
    assert_eq!(
        reply,
        (409, "text/x.tlog.size".to_owned(), "25\n".to_owned())
    );

    // Monitors get the last cosigned checkpoint from the restarted server.
    let served = client()
        .get(format!(
            "{}/{}/checkpoint",
            server.base,
            origin_hash(ORIGIN)
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let opened = open_checkpoint(served.as_bytes(), &[log.verifier_key()]).unwrap();
    assert_eq!(opened.checkpoint, log.checkpoint(25).unwrap());
    verify_cosignature(&opened.checkpoint, &opened.note.unverified[0], &witness_key).unwrap();

    assert_cosigned(
        &add_checkpoint(&server, log.request(25, 30).unwrap()),
        &log,
        30,
        &witness_key,
    );
    assert_eq!(server.terminate(), Some(0), "SIGTERM is a clean shutdown");
    let out = cli(&["list"]);
    assert!(
        out.stdout.starts_with(&format!("{ORIGIN} size=30 ")),
        "{out}"
    );
    // The 409 was a validly signed refusal: kept as evidence.
    assert!(out.stdout.ends_with(" evidence=1\n"), "{out}");
}

#[test]
fn the_home_comes_from_the_environment_and_bad_input_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("from-env");
    let mut command = Command::new(delego_bin());
    command
        .args(["witness", "init", "--name", "witness.example/env"])
        .env("DELEGO_WITNESS_HOME", &home);
    let out = run_command(&mut command, None, Duration::from_secs(60)).unwrap();
    assert_eq!(out.code, 0, "{out}");
    assert!(home.join("witness.key").is_file());
    assert!(home.join("state").is_dir());

    let cli = HomeCli::new(&home);
    // A different name for an existing witness, a bad VKEY, a missing home,
    // a bad prefix, an address that cannot be bound.
    for args in [
        vec!["witness", "init", "--name", "witness.example/other"],
        vec!["witness", "add-log", ORIGIN, "not-a-key"],
        vec![
            "witness",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--prefix",
            "nope/",
        ],
        vec!["witness", "serve", "--listen", "256.0.0.1:1"],
    ] {
        let out = cli.run(&args);
        out.assert_usage_error();
    }
    let missing = HomeCli::new(dir.path().join("missing"));
    let error = missing
        .run(["witness", "list"])
        .assert_usage_error()
        .to_owned();
    assert!(error.contains("not initialised"), "{error}");
    assert_no_panic(&error, &error);
}
