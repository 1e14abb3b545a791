//! The full deployment over real processes on 127.0.0.1: a firewall
//! (`delego serve`) appending its receipts to a standalone `delego
//! log-server`, which pushes checkpoints to two `delego witness` processes.
//! Receipts flow, checkpoints carry both cosignatures, `delego audit prove`
//! and `delego audit verify` succeed offline; then the attacks fail: a
//! truncated ledger and a rewritten receipt, a forked log showing a witness
//! another tree of the same size, a rolled-back witness request, and a
//! cosignature from a key the auditor does not trust.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use delego_e2e::{read_text, write_file, HomeCli, Output, ServerProcess};
use delego_spec::note::{AddCheckpointRequest, SignerKey};
use delego_witness::TestLog;

const READ: &str = r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#;
const ORIGIN: &str = "log.test/delego";
const TOKEN: &str = "append-token-for-the-e2e-test";

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `delego log-server` in `dir/log` for `origins`, with the append tokens
/// in `tokens` and the given witness flags.
fn log_server(dir: &Path, origins: &[&str], tokens: &Path, witnesses: &[String]) -> ServerProcess {
    let mut args: Vec<String> = [
        "log-server",
        "--dir",
        path(&dir.join("log")),
        "--listen",
        "127.0.0.1:0",
    ]
    .map(str::to_owned)
    .to_vec();
    for origin in origins {
        args.extend(["--origin".to_owned(), (*origin).to_owned()]);
    }
    args.extend([
        "--append-token-file".to_owned(),
        path(tokens).to_owned(),
        "--interval-ms".to_owned(),
        "50".to_owned(),
    ]);
    for w in witnesses {
        args.extend(["--witness".to_owned(), w.clone()]);
    }
    ServerProcess::start(args)
}

fn propose(base: &str, key: &str, count: usize) {
    delego_e2e::propose_over_http(base, key, READ, count);
}

fn prove_when_witnessed(home: &HomeCli, seq: u64, out: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let proved = home.run(["audit", "prove", &seq.to_string(), "--out", path(out)]);
        if proved.code == 0 {
            return;
        }
        assert_eq!(proved.code, 1, "{proved}");
        assert!(
            Instant::now() < deadline,
            "receipt {seq} never witnessed: {proved}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

fn with_trust(home: &HomeCli, args: &[&str], log_key: &str, witnesses: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    all.extend(["--log-key".to_owned(), log_key.to_owned()]);
    for w in witnesses {
        all.extend(["--witness-key".to_owned(), (*w).to_owned()]);
    }
    home.run(all)
}

/// POSTs an add-checkpoint body: the status and the body.
fn add_checkpoint(base: &str, request: &AddCheckpointRequest) -> (u16, String) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{base}/add-checkpoint"))
        .body(request.encode().expect("encode"))
        .send()
        .expect("POST add-checkpoint");
    let status = response.status().as_u16();
    (status, response.text().expect("body"))
}

#[test]
fn firewall_log_server_and_two_witnesses_and_the_attacks_that_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    write_file(&dir.join("append.token"), format!("{TOKEN}\n"));

    // The log's key exists from its first start; the witnesses follow it.
    let first = log_server(dir, &[ORIGIN], &dir.join("append.token"), &[]);
    let log_key = first
        .next_line(Duration::from_secs(10))
        .and_then(|l| l.strip_prefix("log key: ").map(str::to_owned))
        .expect("the log server prints its key");
    first.kill();
    let mut witness_flags = Vec::new();
    let mut witness_keys = Vec::new();
    let mut witnesses = Vec::new();
    for name in ["witness-a.test", "witness-b.test"] {
        let home = dir.join(name);
        let cli = HomeCli::new(dir);
        let init = cli.run(["witness", "--home", path(&home), "init", "--name", name]);
        assert_eq!(init.code, 0, "{init}");
        let vkey = init.stdout.trim().to_owned();
        let add = cli.run([
            "witness",
            "--home",
            path(&home),
            "add-log",
            ORIGIN,
            &log_key,
        ]);
        assert_eq!(add.code, 0, "{add}");
        let server = ServerProcess::start([
            "witness",
            "--home",
            path(&home),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]);
        witness_flags.push(format!("{}={vkey}@{}", &name[..9], server.base));
        witness_keys.push(vkey);
        witnesses.push(server);
    }
    let log = log_server(dir, &[ORIGIN], &dir.join("append.token"), &witness_flags);

    // The firewall appends to it.
    let home = HomeCli::new(dir.join("firewall"));
    home.init();
    write_file(&home.dir.join("append.token"), format!("{TOKEN}\n"));
    write_file(
        &home.dir.join("log.json"),
        format!(
            r#"{{"url": "{}", "append_token_file": "append.token"}}"#,
            log.base
        ),
    );
    let added = home.run(["keys", "add", "bot", "--role", "agent"]);
    assert_eq!(added.code, 0, "{added}");
    let agent = added.stdout.trim().to_owned();
    let firewall = ServerProcess::start([
        "--home",
        path(&home.dir),
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]);
    propose(&firewall.base, &agent, 6);
    let keys: Vec<&str> = witness_keys.iter().map(String::as_str).collect();
    let proof = dir.join("proof.txt");
    prove_when_witnessed(&home, 5, &proof);
    let verified = with_trust(&home, &["audit", "verify", path(&proof)], &log_key, &keys);
    assert_eq!(verified.code, 0, "{verified}");
    assert!(verified.stdout.contains("quorum met"), "{verified}");
    let checkpoint_text = reqwest::blocking::get(format!("{}/checkpoint", log.base))
        .expect("GET /checkpoint")
        .text()
        .expect("text");
    let checkpoint = dir.join("checkpoint.txt");
    write_file(&checkpoint, &checkpoint_text);
    let size: u64 = checkpoint_text
        .lines()
        .nth(1)
        .expect("size line")
        .parse()
        .expect("size");
    assert!(size >= 6, "{checkpoint_text}");

    // A cosignature from a key the auditor does not trust does not count.
    let stranger = HomeCli::new(dir).run([
        "witness",
        "--home",
        path(&dir.join("stranger")),
        "init",
        "--name",
        "stranger.test",
    ]);
    let short = with_trust(
        &home,
        &["audit", "verify", path(&proof)],
        &log_key,
        &[keys[0], stranger.stdout.trim()],
    );
    assert_eq!(short.code, 1, "{short}");

    // A rewritten receipt in the proof fails.
    let text = read_text(&proof);
    let extra = text
        .lines()
        .find_map(|l| l.strip_prefix("extra "))
        .expect("extra");
    let b64 = base64::engine::general_purpose::STANDARD;
    let receipt = String::from_utf8(b64.decode(extra).expect("base64")).expect("utf-8");
    let forged = receipt.replace("read-accounts", "read-everything");
    assert_ne!(forged, receipt);
    let forged_path = dir.join("forged.txt");
    write_file(&forged_path, text.replace(extra, &b64.encode(forged)));
    let rejected = with_trust(
        &home,
        &["audit", "verify", path(&forged_path)],
        &log_key,
        &keys,
    );
    assert_eq!(rejected.code, 1, "{rejected}");

    // A forked log: another tree of the witnessed size, signed with the
    // log's own (stolen) key. Both witnesses refuse to cosign it: no proof
    // can make it consistent with what they cosigned (422, a split view).
    let stolen = SignerKey::parse(read_text(&dir.join("log/log.key")).trim_end()).expect("key");
    let mut fork = TestLog::with_key(stolen, "fork");
    fork.grow_to(size);
    let split = AddCheckpointRequest::new(size, Vec::new(), fork.signed(size).expect("signed"))
        .expect("request");
    for witness in &witnesses {
        let (status, body) = add_checkpoint(&witness.base, &split);
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("split view"), "{body}");
    }
    // A rolled-back request: a smaller tree presented from size 0, as if
    // the witness had never cosigned more. Refused with its real size.
    let mut small = TestLog::with_key(
        SignerKey::parse(read_text(&dir.join("log/log.key")).trim_end()).expect("key"),
        "rollback",
    );
    small.grow_to(2);
    let rollback = AddCheckpointRequest::new(0, Vec::new(), small.signed(2).expect("signed"))
        .expect("request");
    for witness in &witnesses {
        let (status, body) = add_checkpoint(&witness.base, &rollback);
        assert_eq!(status, 409, "{body}");
        assert!(body.trim().parse::<u64>().expect("the witness's size") >= size);
    }

    // The honest log is still cosigned after the attacks.
    propose(&firewall.base, &agent, 2);
    prove_when_witnessed(&home, 7, &proof);
    let verified = with_trust(&home, &["audit", "verify", path(&proof)], &log_key, &keys);
    assert_eq!(verified.code, 0, "{verified}");

    // A truncated ledger does not match the witnessed checkpoint, even
    // though its chain verifies.
    firewall.kill();
    let ledger = dir.join("ledger.jsonl");
    let exported = home.run(["export", "--out", path(&ledger)]);
    assert_eq!(exported.code, 0, "{exported}");
    let pubkey = home.dir.join("signing_key.pub");
    let verify_against_checkpoint = |ledger: &Path| {
        let args = [
            "verify",
            "--ledger",
            path(ledger),
            "--pubkey",
            path(&pubkey),
            "--checkpoint",
            path(&checkpoint),
        ];
        with_trust(&home, &args, &log_key, &keys)
    };
    let matches = verify_against_checkpoint(&ledger);
    assert_eq!(matches.code, 0, "{matches}");
    let truncated = dir.join("truncated.jsonl");
    let full = read_text(&ledger);
    let lines: Vec<&str> = full.lines().take(size as usize - 2).collect();
    write_file(&truncated, format!("{}\n", lines.join("\n")));
    let cut = verify_against_checkpoint(&truncated);
    assert_eq!(cut.code, 1, "{cut}");
    assert!(cut.stdout.contains("CHECKPOINT MISMATCH"), "{cut}");
    drop(witnesses);
}

/// One log server hosting two origins, one per firewall ledger, each with
/// its own append token: every firewall's receipts are provable from its
/// own log, and neither can append to the other's.
#[test]
fn one_log_server_hosts_a_log_per_firewall_ledger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let origins = ["ledgers.test/alpha", "ledgers.test/beta"];
    write_file(
        &dir.join("tokens"),
        format!("{} token-alpha\n{} token-beta\n", origins[0], origins[1]),
    );
    let server = log_server(dir, &origins, &dir.join("tokens"), &[]);
    let keys: Vec<String> = (0..2)
        .map(|_| {
            server
                .next_line(Duration::from_secs(10))
                .and_then(|l| l.strip_prefix("log key: ").map(str::to_owned))
                .expect("a key line per origin")
        })
        .collect();
    for (i, (origin, token)) in origins
        .iter()
        .zip(["token-alpha", "token-beta"])
        .enumerate()
    {
        assert!(keys[i].starts_with(&format!("{origin}+")), "{}", keys[i]);
        let home = HomeCli::new(dir.join(format!("firewall-{i}")));
        home.init();
        write_file(&home.dir.join("append.token"), format!("{token}\n"));
        write_file(
            &home.dir.join("log.json"),
            format!(
                r#"{{"url": "{}/{origin}", "append_token_file": "append.token"}}"#,
                server.base
            ),
        );
        // In-process CLI decisions publish to the log before answering.
        for _ in 0..=i {
            let out = home.run(["propose", "--action", READ]);
            assert_eq!(out.code, 0, "{out}");
        }
        let proof = dir.join(format!("proof-{i}.txt"));
        prove_when_witnessed(&home, i as u64, &proof);
        let verified = with_trust(&home, &["audit", "verify", path(&proof)], &keys[i], &[]);
        assert_eq!(verified.code, 0, "{verified}");
        // The other log's token is refused here.
        let other = ["token-beta", "token-alpha"][i];
        let refused = reqwest::blocking::Client::new()
            .get(format!("{}/{origin}/v1/append", server.base))
            .bearer_auth(other)
            .send()
            .expect("GET /v1/append");
        assert_eq!(refused.status().as_u16(), 401);
    }
    // Each log holds only its own ledger's receipts.
    for (origin, size) in origins.iter().zip(["1", "2"]) {
        let checkpoint = reqwest::blocking::get(format!("{}/{origin}/checkpoint", server.base))
            .expect("GET checkpoint")
            .text()
            .expect("text");
        let mut lines = checkpoint.lines();
        assert_eq!(lines.next(), Some(*origin));
        assert_eq!(lines.next(), Some(size), "{checkpoint}");
    }
}
