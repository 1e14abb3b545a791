//! The tlog-witness protocol over HTTP, against a witness served in-process
//! on 127.0.0.1: every status of `add-checkpoint`, its bodies and content
//! types, the monitoring path, limits and routing.

mod common;

use std::sync::Arc;

use common::{harness, serve, verify_body, NOW, ORIGIN};
use delego_spec::json::parse;
use delego_spec::note::{
    open_checkpoint, origin_hash, parse_cosignature_lines, verify_cosignature,
    AddCheckpointRequest, Checkpoint, KeyType, Note, SignerKey, EMPTY_TREE_ROOT,
};
use delego_witness::TestLog;
use rand_core::OsRng;

fn error_message(reply: &common::Reply) -> String {
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/json"),
        "{reply:?}"
    );
    let value = parse(&reply.body).expect("JSON error body");
    value
        .as_object()
        .and_then(|o| o.get("error"))
        .and_then(|e| e.as_str())
        .expect("an \"error\" string")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosigns_consistent_checkpoints_and_serves_the_latest() {
    let mut h = harness();
    let server = serve(h.witness.clone(), "").await;
    let vkey = h.witness.verifier_key();
    assert_eq!(vkey.key_type(), KeyType::CosignatureV1);

    // Nothing cosigned yet: the monitoring path has nothing to show.
    let hash = origin_hash(ORIGIN);
    assert_eq!(server.get(&format!("/{hash}/checkpoint")).await.status, 404);

    let mut old = 0;
    for (size, time) in [
        (5, NOW),
        (9, NOW + 1),
        (9, NOW + 2),
        (16, NOW + 3),
        (1000, NOW + 4),
    ] {
        h.clock.set(time);
        h.log.grow_to(size);
        let reply = server
            .add_checkpoint(h.log.request(old, size).unwrap())
            .await;
        assert_eq!(reply.status, 200, "{old} -> {size}: {reply:?}");
        assert_eq!(
            reply.content_type.as_deref(),
            Some("text/plain; charset=utf-8")
        );
        let checkpoint = h.log.checkpoint(size).unwrap();
        assert_eq!(verify_body(&reply.body, &checkpoint, &vkey), time);
        old = size;
    }

    // The monitor sees the last checkpoint with the log's signature and the
    // witness's cosignature, both verifiable.
    let served = server.get(&format!("/{hash}/checkpoint")).await;
    assert_eq!(served.status, 200);
    let opened = open_checkpoint(served.body.as_bytes(), &[h.log.verifier_key()]).unwrap();
    assert_eq!(opened.checkpoint, h.log.checkpoint(1000).unwrap());
    assert_eq!(opened.note.unverified.len(), 1, "{}", served.body);
    let timestamp =
        verify_cosignature(&opened.checkpoint, &opened.note.unverified[0], &vkey).unwrap();
    assert_eq!(timestamp, NOW + 4);
    assert_eq!(server.get("/0000/checkpoint").await.status, 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_400() {
    let mut h = harness();
    let server = serve(h.witness.clone(), "").await;
    h.log.grow_to(8);
    let good = h.log.request(0, 8).unwrap();
    let note = h.log.signed(8).unwrap().encode().unwrap();
    let cases = [
        String::new(),
        "garbage".to_owned(),
        good.replacen("old 0", "old 00", 1),
        good.replacen("old 0", "old -1", 1),
        good.replacen("old 0\n\n", "old 0\n", 1),
        format!("old 0\nnot-base64!\n\n{note}"),
        format!("old 0\n\n{}", note.replace("\n\n", "\n")),
        // The old size may not exceed the checkpoint's.
        format!("old 9\n\n{note}"),
        // 64 proof lines.
        format!(
            "old 1\n{}\n{note}",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64)
        ),
    ];
    for body in cases {
        let reply = server.add_checkpoint(body.clone()).await;
        assert_eq!(reply.status, 400, "{body:?}: {reply:?}");
        assert!(!error_message(&reply).is_empty());
    }
    let reply = server.add_checkpoint(vec![0xff, 0xfe, b'\n']).await;
    assert_eq!(reply.status, 400);
    assert_eq!(h.latest_size(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_origins_are_404() {
    let h = harness();
    let server = serve(h.witness.clone(), "").await;
    let mut stranger = TestLog::new("example.org/other", &mut OsRng).unwrap();
    stranger.grow_to(3);
    let reply = server.add_checkpoint(stranger.request(0, 3).unwrap()).await;
    assert_eq!(reply.status, 404, "{reply:?}");
    error_message(&reply);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_missing_log_signatures_are_403() {
    let mut h = harness();
    let server = serve(h.witness.clone(), "").await;
    h.log.grow_to(4);

    // Signed under the right origin by a key the witness does not trust.
    let impostor = SignerKey::generate(ORIGIN, KeyType::Ed25519, &mut OsRng).unwrap();
    let mut forged = TestLog::with_key(impostor, "leaf");
    forged.grow_to(4);
    let reply = server.add_checkpoint(forged.request(0, 4).unwrap()).await;
    assert_eq!(reply.status, 403, "{reply:?}");

    // The trusted key's line with a broken signature: the note is invalid
    // even though it is otherwise fine.
    let body = h.log.request(0, 4).unwrap();
    let line_start = body.rfind("— ").unwrap();
    let mut bytes = body.into_bytes();
    let flip = line_start + "— ".len() + ORIGIN.len() + 10;
    bytes[flip] = if bytes[flip] == b'A' { b'B' } else { b'A' };
    let reply = server.add_checkpoint(bytes).await;
    assert_eq!(reply.status, 403, "{reply:?}");

    // A trusted signature made over another text does not count either.
    let other = Checkpoint {
        size: 3,
        ..h.log.checkpoint(4).unwrap()
    };
    let mut note = Note::new(h.log.checkpoint(4).unwrap().to_text().unwrap()).unwrap();
    let foreign = other.sign(h.log.key()).unwrap();
    note.add_signature(foreign.signatures()[0].clone());
    let body = AddCheckpointRequest::new(0, vec![], note)
        .unwrap()
        .encode()
        .unwrap();
    assert_eq!(server.add_checkpoint(body).await.status, 403);

    // Nothing of this was kept as evidence: no valid log signature.
    assert!(h.witness.evidence(ORIGIN).unwrap().is_empty());
    assert_eq!(h.latest_size(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_old_size_is_409_with_the_latest_size() {
    let mut h = harness();
    let server = serve(h.witness.clone(), "").await;
    h.log.grow_to(12);

    // A first request that assumes state the witness does not have.
    let reply = server.add_checkpoint(h.log.request(5, 12).unwrap()).await;
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(reply.content_type.as_deref(), Some("text/x.tlog.size"));
    assert_eq!(reply.body, "0\n");

    assert_eq!(
        server
            .add_checkpoint(h.log.request(0, 7).unwrap())
            .await
            .status,
        200
    );
    for old in [0, 5, 8] {
        let reply = server.add_checkpoint(h.log.request(old, 12).unwrap()).await;
        assert_eq!(reply.status, 409, "old {old}: {reply:?}");
        assert_eq!(reply.content_type.as_deref(), Some("text/x.tlog.size"));
        assert_eq!(reply.body, "7\n");
    }
    // The client learns the size and succeeds.
    assert_eq!(
        server
            .add_checkpoint(h.log.request(7, 12).unwrap())
            .await
            .status,
        200
    );
    assert_eq!(h.latest_size(), 12);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inconsistent_checkpoints_are_422() {
    let mut h = harness();
    let server = serve(h.witness.clone(), "").await;
    h.log.grow_to(20);
    assert_eq!(
        server
            .add_checkpoint(h.log.request(0, 6).unwrap())
            .await
            .status,
        200
    );

    // A proof with a wrong hash.
    let note = h.log.signed(20).unwrap();
    let mut proof = h.log.proof(6, 20).unwrap();
    proof[0][0] ^= 1;
    let tampered = AddCheckpointRequest::new(6, proof, note.clone()).unwrap();
    let reply = server.add_checkpoint(tampered.encode().unwrap()).await;
    assert_eq!(reply.status, 422, "{reply:?}");
    assert!(error_message(&reply).contains("does not verify"));

    // A truncated proof, and a proof for other sizes.
    let mut short = h.log.proof(6, 20).unwrap();
    short.pop();
    for proof in [short, h.log.proof(5, 20).unwrap(), vec![]] {
        let request = AddCheckpointRequest::new(6, proof, note.clone()).unwrap();
        assert_eq!(
            server
                .add_checkpoint(request.encode().unwrap())
                .await
                .status,
            422
        );
    }
    assert_eq!(h.latest_size(), 6);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_tree_rules_are_422() {
    let h = harness();
    let server = serve(h.witness.clone(), "").await;

    // A proof from size zero must be empty.
    let mut log = h.log.clone();
    log.grow_to(4);
    let request = AddCheckpointRequest::new(0, vec![[7; 32]], log.signed(4).unwrap()).unwrap();
    assert_eq!(
        server
            .add_checkpoint(request.encode().unwrap())
            .await
            .status,
        422
    );

    // A size-zero checkpoint must carry the empty tree's root.
    let empty = |root| Checkpoint {
        origin: ORIGIN.to_owned(),
        size: 0,
        root,
        extensions: vec![],
    };
    let bad = empty([1; 32]).sign(log.key()).unwrap();
    let request = AddCheckpointRequest::new(0, vec![], bad).unwrap();
    assert_eq!(
        server
            .add_checkpoint(request.encode().unwrap())
            .await
            .status,
        422
    );

    // The true empty tree is cosigned.
    let good = empty(EMPTY_TREE_ROOT).sign(log.key()).unwrap();
    let request = AddCheckpointRequest::new(0, vec![], good).unwrap();
    let reply = server.add_checkpoint(request.encode().unwrap()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    verify_body(
        &reply.body,
        &empty(EMPTY_TREE_ROOT),
        &h.witness.verifier_key(),
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_is_refused_and_kept_as_evidence() {
    let mut h = harness();
    let server = serve(h.witness.clone(), "").await;
    h.log.grow_to(10);
    assert_eq!(
        server
            .add_checkpoint(h.log.request(0, 10).unwrap())
            .await
            .status,
        200
    );

    // The log signs a second tree of size 10 that shares only 7 leaves.
    let mut fork = h.log.fork(7, "fork");
    fork.grow_to(10);
    assert_ne!(
        fork.checkpoint(10).unwrap().root,
        h.log.checkpoint(10).unwrap().root
    );
    let same_size = fork.request(10, 10).unwrap();
    let reply = server.add_checkpoint(same_size.clone()).await;
    assert_eq!(reply.status, 422, "{reply:?}");
    assert!(error_message(&reply).contains("split view"));

    // Growing the fork does not help: no proof links it to the cosigned tree.
    fork.grow_to(16);
    let grown = fork.request(7, 16).unwrap().replacen("old 7", "old 10", 1);
    assert_eq!(server.add_checkpoint(grown.clone()).await.status, 422);
    // Nor does claiming the old size it really extends.
    let reply = server.add_checkpoint(fork.request(7, 16).unwrap()).await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body, "10\n");

    let evidence = h.witness.evidence(ORIGIN).unwrap();
    assert_eq!(evidence.len(), 3, "{evidence:#?}");
    let split = evidence
        .iter()
        .find(|e| e.request == same_size)
        .expect("the same-size fork is kept verbatim");
    assert_eq!(split.status, 422);
    assert!(split.reason.starts_with("split view"), "{}", split.reason);
    assert_eq!(split.received_at, NOW);
    // The record holds both signed checkpoints: the proof of the split.
    let ours = split.witness_latest.as_deref().expect("the cosigned note");
    let cosigned = open_checkpoint(ours.as_bytes(), &[h.log.verifier_key()]).unwrap();
    assert_eq!(cosigned.checkpoint, h.log.checkpoint(10).unwrap());
    assert!(evidence
        .iter()
        .any(|e| e.request == grown && e.status == 422));
    assert!(evidence.iter().any(|e| e.status == 409));

    // Replaying a refused checkpoint adds no record.
    assert_eq!(server.add_checkpoint(same_size).await.status, 422);
    assert_eq!(h.witness.evidence(ORIGIN).unwrap().len(), 3);

    // The witness still follows the true log.
    h.log.grow_to(11);
    assert_eq!(
        server
            .add_checkpoint(h.log.request(10, 11).unwrap())
            .await
            .status,
        200
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollbacks_are_refused() {
    let mut h = harness();
    let server = serve(h.witness.clone(), "").await;
    h.log.grow_to(10);
    assert_eq!(
        server
            .add_checkpoint(h.log.request(0, 10).unwrap())
            .await
            .status,
        200
    );

    // A smaller checkpoint, claiming its own size or zero as the old size.
    for old in [0, 6] {
        let reply = server.add_checkpoint(h.log.request(old, 6).unwrap()).await;
        assert_eq!(reply.status, 409, "{reply:?}");
        assert_eq!(reply.body, "10\n");
    }
    // Claiming the witness's size: that is more than the checkpoint's.
    let note = h.log.signed(6).unwrap().encode().unwrap();
    let reply = server.add_checkpoint(format!("old 10\n\n{note}")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(h.latest_size(), 10);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_at_zero_never_cosigns() {
    let mut h = harness();
    let server = serve(h.witness.clone(), "").await;
    h.clock.set(0);
    h.log.grow_to(3);
    let reply = server.add_checkpoint(h.log.request(0, 3).unwrap()).await;
    assert_eq!(reply.status, 500, "{reply:?}");
    error_message(&reply);
    assert_eq!(h.latest_size(), 0);
    h.clock.set(NOW);
    assert_eq!(
        server
            .add_checkpoint(h.log.request(0, 3).unwrap())
            .await
            .status,
        200
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_methods_prefix_and_health() {
    let mut h = harness();
    let server = serve(h.witness.clone(), "/w/v1").await;
    h.log.grow_to(2);

    let reply = server.add_checkpoint(vec![b'a'; 64 * 1024 + 1]).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    error_message(&reply);
    assert_eq!(server.get("/w/v1/add-checkpoint").await.status, 405);
    assert_eq!(server.get("/add-checkpoint").await.status, 404);

    let reply = server.add_checkpoint(h.log.request(0, 2).unwrap()).await;
    assert_eq!(reply.status, 200);
    let hash = origin_hash(ORIGIN);
    assert_eq!(
        server.get(&format!("/w/v1/{hash}/checkpoint")).await.status,
        200
    );
    assert_eq!(server.get(&format!("/{hash}/checkpoint")).await.status, 404);

    let health = server.get("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_from_one_size_advance_it_once() {
    let mut h = harness();
    let server = Arc::new(serve(h.witness.clone(), "").await);
    h.log.grow_to(100);
    assert_eq!(
        server
            .add_checkpoint(h.log.request(0, 10).unwrap())
            .await
            .status,
        200
    );

    // 32 requests, all consistent with size 10, to 32 different sizes.
    let bodies: Vec<(u64, String)> = (0..32)
        .map(|i| (11 + 2 * i, h.log.request(10, 11 + 2 * i).unwrap()))
        .collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(bodies.len()));
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|(size, body)| {
            let server = Arc::clone(&server);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                (size, server.add_checkpoint(body).await)
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    let winners: Vec<u64> = replies
        .iter()
        .filter(|(_, r)| r.status == 200)
        .map(|(size, _)| *size)
        .collect();
    assert_eq!(winners.len(), 1, "{replies:#?}");
    let winner = winners[0];
    for (size, reply) in &replies {
        if *size != winner {
            assert_eq!(reply.status, 409, "{reply:?}");
            assert_eq!(reply.body, format!("{winner}\n"));
        } else {
            let lines = parse_cosignature_lines(reply.body.as_bytes()).unwrap();
            verify_cosignature(
                &h.log.checkpoint(*size).unwrap(),
                &lines[0],
                &h.witness.verifier_key(),
            )
            .unwrap();
        }
    }
    assert_eq!(h.latest_size(), winner);
    // What is served is what was cosigned last.
    let served = server
        .get(&format!("/{}/checkpoint", origin_hash(ORIGIN)))
        .await;
    let opened = open_checkpoint(served.body.as_bytes(), &[h.log.verifier_key()]).unwrap();
    assert_eq!(opened.checkpoint.size, winner);
}
