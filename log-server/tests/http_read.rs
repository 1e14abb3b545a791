//! The read API over real HTTP: the checkpoint verifies with the log key,
//! tiles and bundles carry the tree's hashes and leaves with tlog-tiles
//! headers, JSON proofs verify against the checkpoint, and every bad request
//! is a JSON error with the right status.

mod support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use delego_log::LogConfig;
use delego_spec::json::{Map, Value};
use delego_spec::merkle::{
    leaf_hash, verify_consistency, verify_inclusion, Hash, MemoryTree, NodeSource,
};
use delego_spec::note::open_checkpoint;
use support::{embedded_log, get, log_key, receipts, serve, ORIGIN};

const LEAVES: u64 = 600;

fn hashes(body: &Map, name: &str) -> Vec<Hash> {
    body.get(name)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("no {name} in {body:?}"))
        .iter()
        .map(|h| {
            let bytes = STANDARD
                .decode(h.as_str().expect("base64 string"))
                .expect("base64");
            Hash::try_from(bytes).expect("32 bytes")
        })
        .collect()
}

fn number(body: &Map, name: &str) -> u64 {
    match body.get(name) {
        Some(Value::Number(delego_spec::json::Number::Int(n))) => n.as_u64().expect("u64"),
        other => panic!("{name} is {other:?}"),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    url: String,
    leaves: Vec<Vec<u8>>,
    tree: MemoryTree,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let leaves = receipts(LEAVES);
    let mut config = LogConfig::new(ORIGIN, log_key());
    config.max_leaves_per_step = 250;
    let log = embedded_log(dir.path(), &leaves, config);
    let tree = MemoryTree::from_leaf_hashes(leaves.iter().map(|l| leaf_hash(l)));
    let url = serve(log.router()).await;
    Fixture {
        _dir: dir,
        url,
        leaves,
        tree,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoint_is_signed_and_uncached() {
    let f = fixture().await;
    let got = get(&format!("{}/checkpoint", f.url)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.content_type, "text/plain; charset=utf-8");
    assert_eq!(got.cache_control, "no-cache");
    let opened = open_checkpoint(&got.body, &[log_key().verifier_key()]).expect("verifies");
    assert_eq!(opened.checkpoint.origin, ORIGIN);
    assert_eq!(opened.checkpoint.size, LEAVES);
    assert_eq!(
        opened.checkpoint.root,
        delego_spec::merkle::root(LEAVES, &f.tree).expect("root")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tiles_and_bundles_are_the_tree_with_immutable_caching() {
    let f = fixture().await;
    // 600 leaves: level-0 tiles 000, 001 and 002.p/88; level 1 000.p/2.
    for (path, level, index, width) in [
        ("tile/0/000", 0u8, 0u64, 256u64),
        ("tile/0/001", 0, 1, 256),
        ("tile/0/002.p/88", 0, 2, 88),
        ("tile/0/002.p/5", 0, 2, 5),
        ("tile/1/000.p/2", 1, 0, 2),
    ] {
        let got = get(&format!("{}/{path}", f.url)).await;
        assert_eq!(got.status, 200, "{path}");
        assert_eq!(got.content_type, "application/octet-stream");
        assert!(got.cache_control.contains("immutable"), "{path}");
        let want: Vec<u8> = (0..width)
            .flat_map(|i| f.tree.node(level * 8, index * 256 + i).expect("node"))
            .collect();
        assert_eq!(got.body, want, "{path}");
    }
    let got = get(&format!("{}/tile/entries/002.p/88", f.url)).await;
    assert_eq!(got.status, 200);
    assert!(got.cache_control.contains("immutable"));
    let mut rest = got.body.as_slice();
    for leaf in &f.leaves[512..] {
        let (len, tail) = rest.split_first_chunk::<2>().expect("length prefix");
        let len = usize::from(u16::from_be_bytes(*len));
        assert_eq!(&tail[..len], leaf.as_slice());
        rest = &tail[len..];
    }
    assert!(rest.is_empty());
    for absent in [
        "tile/0/002",
        "tile/0/002.p/89",
        "tile/0/003.p/1",
        "tile/1/000",
        "tile/2/000.p/1",
        "tile/entries/003.p/1",
        "tile/0/2",
        "tile/0/x000/002",
        "tile/0/002.p/0",
        "tile/64/000",
        "tile/0/%FF",
    ] {
        let got = get(&format!("{}/{absent}", f.url)).await;
        got.error(404);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn inclusion_proofs_verify_against_the_checkpoint() {
    let f = fixture().await;
    let checkpoint = get(&format!("{}/checkpoint", f.url)).await;
    let checkpoint = open_checkpoint(&checkpoint.body, &[log_key().verifier_key()])
        .expect("verifies")
        .checkpoint;
    for index in [0u64, 1, 255, 256, 511, 512, 599] {
        let hash = leaf_hash(&f.leaves[index as usize]);
        for query in [
            format!("index={index}&size={LEAVES}"),
            format!("leaf_hash={}&size={LEAVES}", hex::encode(hash)),
        ] {
            let got = get(&format!("{}/v1/proof/inclusion?{query}", f.url)).await;
            assert_eq!(got.status, 200, "{query}");
            let body = got.json();
            assert_eq!(number(&body, "index"), index);
            assert_eq!(number(&body, "size"), LEAVES);
            assert_eq!(
                body.get("leaf_hash").and_then(Value::as_str),
                Some(hex::encode(hash).as_str())
            );
            assert_eq!(
                body.get("root").and_then(Value::as_str),
                Some(STANDARD.encode(checkpoint.root).as_str())
            );
            let proof = hashes(&body, "proof");
            verify_inclusion(&hash, index, checkpoint.size, &proof, &checkpoint.root)
                .expect("verifies");
        }
    }
    // A smaller tree than the checkpoint's.
    let got = get(&format!("{}/v1/proof/inclusion?index=3&size=10", f.url)).await;
    let body = got.json();
    let root = delego_spec::merkle::root(10, &f.tree).expect("root");
    verify_inclusion(
        &leaf_hash(&f.leaves[3]),
        3,
        10,
        &hashes(&body, "proof"),
        &root,
    )
    .expect("verifies");
}

#[tokio::test(flavor = "multi_thread")]
async fn consistency_proofs_verify() {
    let f = fixture().await;
    for (old, new) in [
        (1u64, 600u64),
        (250, 500),
        (256, 600),
        (599, 600),
        (600, 600),
    ] {
        let got = get(&format!(
            "{}/v1/proof/consistency?old={old}&new={new}",
            f.url
        ))
        .await;
        assert_eq!(got.status, 200);
        let body = got.json();
        let old_root = delego_spec::merkle::root(old, &f.tree).expect("root");
        let new_root = delego_spec::merkle::root(new, &f.tree).expect("root");
        verify_consistency(old, new, &hashes(&body, "proof"), &old_root, &new_root)
            .expect("verifies");
        assert_eq!(number(&body, "old"), old);
        assert_eq!(number(&body, "new"), new);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_json_errors() {
    let f = fixture().await;
    let unknown = hex::encode([7u8; 32]);
    let cases = [
        ("v1/proof/inclusion?index=1", 400),
        ("v1/proof/inclusion?size=600", 400),
        ("v1/proof/inclusion?index=600&size=600", 400),
        ("v1/proof/inclusion?index=01&size=600", 400),
        ("v1/proof/inclusion?index=-1&size=600", 400),
        ("v1/proof/inclusion?index=1&index=2&size=600", 400),
        ("v1/proof/inclusion?index=1&size=600&extra=1", 400),
        ("v1/proof/inclusion?leaf_hash=zz&size=600", 400),
        ("v1/proof/inclusion?index=0&size=601", 404),
        ("v1/proof/consistency?old=0&new=5", 400),
        ("v1/proof/consistency?old=6&new=5", 400),
        ("v1/proof/consistency?old=1", 400),
        ("v1/proof/consistency?old=1&new=601", 404),
        ("v1/nothing", 404),
        ("v1/append", 404),
    ];
    for (path, status) in cases {
        let got = get(&format!("{}/{path}", f.url)).await;
        let message = got.error(status);
        assert!(!message.is_empty(), "{path}");
    }
    let got = get(&format!(
        "{}/v1/proof/inclusion?leaf_hash={unknown}&size=600",
        f.url
    ))
    .await;
    assert_eq!(got.error(404), "no leaf with this hash is in the log");
    let both = format!(
        "{}/v1/proof/inclusion?index=0&leaf_hash={unknown}&size=600",
        f.url
    );
    get(&both).await.error(400);
}
