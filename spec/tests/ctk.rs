//! Every CTK vector this crate can answer, against the committed copy of the
//! upstream vectors. Counts are pinned so a vector can never be skipped
//! silently.

use delego_spec::conformance::{embedded, run, Status};

#[test]
fn every_ctk_vector_passes_or_awaits_the_authorizer() {
    let results = run(&embedded());
    let count = |file: &str| results.iter().filter(|r| r.file == file).count();
    assert_eq!(count("hashing.json"), 9);
    assert_eq!(count("hashing-v0.2.json"), 3);
    assert_eq!(count("chain.jsonl"), 1);
    assert_eq!(count("chain.tampered.jsonl"), 1);
    assert_eq!(count("token.json"), 5);
    assert_eq!(count("policy_invalid.json"), 4);
    assert_eq!(count("decisions.json"), 4);
    assert_eq!(count("resolve.json"), 9);
    let failures: Vec<_> = results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail(_)))
        .collect();
    assert!(failures.is_empty(), "failing vectors: {failures:#?}");
    for r in &results {
        let needs_authorizer = matches!(r.status, Status::NeedsAuthorizer(_));
        let authorizer_file = r.file == "decisions.json" || r.file == "resolve.json";
        assert_eq!(needs_authorizer, authorizer_file, "{}: {}", r.file, r.name);
    }
}
