//! `delego serve` with its embedded transparency log and two real
//! `delego witness` processes, all on 127.0.0.1: receipts are cosigned by
//! both witnesses, `delego audit prove` writes a proof that `delego audit
//! verify` accepts offline with public keys only; a rewritten receipt, an
//! unknown witness key and a rolled-back checkpoint fail; the log stays
//! consistent across a SIGKILL of the server (`delego audit consistency`).

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use delego_e2e::{HomeCli, Output, ServerProcess};

const READ: &str = r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#;

struct Witness {
    vkey: String,
    server: Option<ServerProcess>,
}

fn witness(dir: &Path, name: &str, origin: &str, log_key: &str) -> Witness {
    let home = dir.join(name);
    let home = home.to_str().expect("utf-8 path");
    let init = HomeCli::new(dir).run(["witness", "--home", home, "init", "--name", name]);
    assert_eq!(init.code, 0, "{init}");
    let vkey = init.stdout.trim().to_owned();
    let add = HomeCli::new(dir).run(["witness", "--home", home, "add-log", origin, log_key]);
    assert_eq!(add.code, 0, "{add}");
    Witness {
        vkey,
        server: Some(ServerProcess::start([
            "witness",
            "--home",
            home,
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])),
    }
}

fn serve(home: &HomeCli) -> ServerProcess {
    ServerProcess::start([
        "--home",
        home.dir.to_str().expect("utf-8 path"),
        "serve",
        "--listen",
        "127.0.0.1:0",
    ])
}

fn propose(base: &str, key: &str, count: usize) {
    delego_e2e::propose_over_http(base, key, READ, count);
}

fn checkpoint(base: &str) -> String {
    reqwest::blocking::get(format!("{base}/log/checkpoint"))
        .expect("GET /log/checkpoint")
        .text()
        .expect("checkpoint text")
}

/// `audit prove SEQ` against the server's log until it succeeds (the
/// receipt is covered by a checkpoint both witnesses cosigned), at most 30 s.
fn prove_when_witnessed(home: &HomeCli, base: &str, seq: u64, out: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let proved = home.run([
            "audit",
            "prove",
            &seq.to_string(),
            "--log",
            &format!("{base}/log"),
            "--out",
            out.to_str().expect("utf-8 path"),
        ]);
        if proved.code == 0 {
            return;
        }
        assert_eq!(proved.code, 1, "{proved}");
        assert!(proved.stdout.starts_with("not yet provable"), "{proved}");
        assert!(
            Instant::now() < deadline,
            "receipt {seq} never witnessed: {proved}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

fn audit(home: &HomeCli, args: &[&str], trust: &[String]) -> Output {
    let mut all: Vec<String> = vec!["audit".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    all.extend(trust.iter().cloned());
    home.run(all)
}

fn trust_args(log_key: &str, witnesses: &[&str]) -> Vec<String> {
    let mut args = vec!["--log-key".to_owned(), log_key.to_owned()];
    for w in witnesses {
        args.push("--witness-key".into());
        args.push((*w).to_owned());
    }
    args
}

#[test]
fn receipts_are_cosigned_by_two_witnesses_and_proved_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = HomeCli::new(dir.path().join("home"));
    home.init();
    let log_key = home.ok(["audit", "log-key"]).stdout.trim().to_owned();
    let origin = log_key.split('+').next().expect("origin").to_owned();
    let wa = witness(dir.path(), "witness-a.test", &origin, &log_key);
    let wb = witness(dir.path(), "witness-b.test", &origin, &log_key);
    let base = |w: &Witness| w.server.as_ref().expect("running").base.clone();
    let config = format!(
        r#"{{"witnesses": ["a={}@{}", "b={}@{}"], "interval_ms": 100}}"#,
        wa.vkey,
        base(&wa),
        wb.vkey,
        base(&wb)
    );
    std::fs::write(home.dir.join("log.json"), config).expect("write log.json");
    let added = home.run(["keys", "add", "bot", "--role", "agent"]);
    assert_eq!(added.code, 0, "{added}");
    let agent = added.stdout.trim().to_owned();

    let server = serve(&home);
    propose(&server.base, &agent, 5);
    let proof = dir.path().join("proof-4.txt");
    prove_when_witnessed(&home, &server.base, 4, &proof);
    let proof_arg = proof.to_str().expect("utf-8 path");
    let both = trust_args(&log_key, &[&wa.vkey, &wb.vkey]);

    // Offline, public keys only: verified, both cosignatures counted.
    let verified = audit(&home, &["verify", proof_arg], &both);
    assert_eq!(verified.code, 0, "{verified}");
    assert!(
        verified.stdout.contains("VERIFIED: receipt 4"),
        "{verified}"
    );

    // A cosignature from a key the auditor does not trust does not count.
    let stranger = HomeCli::new(dir.path()).run([
        "witness",
        "--home",
        dir.path().join("stranger").to_str().expect("utf-8 path"),
        "init",
        "--name",
        "stranger.test",
    ]);
    let unknown = trust_args(&log_key, &[&wa.vkey, stranger.stdout.trim()]);
    let short = audit(&home, &["verify", proof_arg], &unknown);
    assert_eq!(short.code, 1, "{short}");
    assert!(short.stdout.contains("NOT VERIFIED"), "{short}");

    // A rewritten receipt inside the proof fails.
    let text = std::fs::read_to_string(&proof).expect("proof");
    let extra = text
        .lines()
        .find_map(|l| l.strip_prefix("extra "))
        .expect("extra line");
    let b64 = base64::engine::general_purpose::STANDARD;
    let receipt = String::from_utf8(b64.decode(extra).expect("base64")).expect("utf-8");
    assert!(receipt.contains(r#""seq":4"#), "{receipt}");
    let forged = receipt.replace(r#""outcome":"allow""#, r#""outcome":"deny""#);
    assert_ne!(forged, receipt);
    let forged_path = dir.path().join("forged.txt");
    std::fs::write(&forged_path, text.replace(extra, &b64.encode(forged))).expect("write");
    let rejected = audit(
        &home,
        &["verify", forged_path.to_str().expect("utf-8 path")],
        &both,
    );
    assert_eq!(rejected.code, 1, "{rejected}");

    // The log only grows: a later checkpoint extends an earlier one, and the
    // reverse is refused as a rollback.
    let old = dir.path().join("c-old.txt");
    std::fs::write(&old, checkpoint(&server.base)).expect("write");
    propose(&server.base, &agent, 3);
    prove_when_witnessed(&home, &server.base, 7, &proof);
    let new = dir.path().join("c-new.txt");
    std::fs::write(&new, checkpoint(&server.base)).expect("write");
    let (old_arg, new_arg) = (
        old.to_str().expect("utf-8 path"),
        new.to_str().expect("utf-8 path"),
    );
    let log_url = format!("{}/log", server.base);
    let consistent = audit(
        &home,
        &["consistency", old_arg, new_arg, "--log", &log_url],
        &both,
    );
    assert_eq!(consistent.code, 0, "{consistent}");
    assert!(
        consistent
            .stdout
            .contains("CONSISTENT: size 8 extends size"),
        "{consistent}"
    );
    let rollback = audit(
        &home,
        &["consistency", new_arg, old_arg, "--log", &log_url],
        &both,
    );
    assert_eq!(rollback.code, 1, "{rollback}");
    assert!(rollback.stdout.contains("NOT CONSISTENT"), "{rollback}");

    // SIGKILL the firewall; the next process continues the same log, and
    // its checkpoints extend the ones the witnesses cosigned before.
    server.kill();
    let server = serve(&home);
    propose(&server.base, &agent, 2);
    prove_when_witnessed(&home, &server.base, 9, &proof);
    let after = dir.path().join("c-after.txt");
    std::fs::write(&after, checkpoint(&server.base)).expect("write");
    let log_url = format!("{}/log", server.base);
    let resumed = audit(
        &home,
        &[
            "consistency",
            new_arg,
            after.to_str().expect("utf-8 path"),
            "--log",
            &log_url,
        ],
        &both,
    );
    assert_eq!(resumed.code, 0, "{resumed}");
    let verified = audit(&home, &["verify", proof_arg], &both);
    assert_eq!(verified.code, 0, "{verified}");

    // /metrics shows the embedded log's sizes.
    let metrics = reqwest::blocking::get(format!("{}/metrics", server.base))
        .expect("GET /metrics")
        .text()
        .expect("text");
    assert!(metrics.contains("\ndelego_log_size 10\n"), "{metrics}");
    assert!(
        metrics.contains("\ndelego_log_witnessed_size 10\n"),
        "{metrics}"
    );
    // Every answered receipt so far has been seen covered by a witnessed
    // checkpoint, its latency observed.
    assert!(
        metrics.contains("\ndelego_checkpoint_seconds_count "),
        "{metrics}"
    );
    assert!(
        !metrics.contains("\ndelego_checkpoint_seconds_count 0\n"),
        "{metrics}"
    );

    // The witnessed checkpoint auditors pin carries both cosignatures.
    let witnessed = reqwest::blocking::get(format!("{}/log/v1/checkpoint/witnessed", server.base))
        .expect("GET witnessed")
        .text()
        .expect("text");
    assert_eq!(
        witnessed
            .lines()
            .filter(|l| l.starts_with("— witness-"))
            .count(),
        2,
        "{witnessed}"
    );

    // With the server stopped, the home's own store answers the same.
    server.kill();
    let offline = audit(
        &home,
        &["consistency", old_arg, after.to_str().expect("utf-8 path")],
        &both,
    );
    assert_eq!(offline.code, 0, "{offline}");
    let unknown_seq = home.run(["audit", "prove", "99"]);
    assert_eq!(unknown_seq.code, 2, "{unknown_seq}");
    drop((wa, wb));
}

/// Anchored durability (spec §8.3): with `anchored_timeout_ms`, an executed
/// action is reported only once a checkpoint the witness cosigned covers its
/// receipt, so its proof exists the moment the agent has the answer.
#[test]
fn anchored_executions_are_reported_only_once_witnessed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = HomeCli::new(dir.path().join("home"));
    home.init();
    let log_key = home.ok(["audit", "log-key"]).stdout.trim().to_owned();
    let origin = log_key.split('+').next().expect("origin").to_owned();
    let w = witness(dir.path(), "witness-a.test", &origin, &log_key);
    let config = format!(
        r#"{{"witnesses": ["a={}@{}"], "interval_ms": 2000, "anchored_timeout_ms": 20000}}"#,
        w.vkey,
        w.server.as_ref().expect("running").base
    );
    std::fs::write(home.dir.join("log.json"), config).expect("write log.json");
    let added = home.run(["keys", "add", "bot", "--role", "agent"]);
    assert_eq!(added.code, 0, "{added}");
    let agent = added.stdout.trim().to_owned();
    let server = serve(&home);
    let proof = dir.path().join("proof.txt");
    let trust = trust_args(&log_key, &[&w.vkey]);
    for seq in 0..3u64 {
        // Executed (allowed, through the null broker): held until witnessed,
        // even though the sequencer's own interval is 2 s.
        propose(&server.base, &agent, 1);
        let proved = home.run([
            "audit",
            "prove",
            &seq.to_string(),
            "--log",
            &format!("{}/log", server.base),
            "--out",
            proof.to_str().expect("utf-8 path"),
        ]);
        assert_eq!(proved.code, 0, "{proved}");
        let verified = audit(
            &home,
            &["verify", proof.to_str().expect("utf-8 path")],
            &trust,
        );
        assert_eq!(verified.code, 0, "{verified}");
    }
}
