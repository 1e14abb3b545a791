//! Receipt signing, single-receipt verification, and walking a 1,000-receipt
//! chain, plus a per-receipt breakdown of what chain verification spends its
//! time on.

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use delego_benches::{build_ledger, sample_payload, signing_key, verifying_key};
use delego_spec::json::{parse, to_canonical_string, Value};
use delego_spec::receipt::{verify_entry_signature, PAYLOAD_FIELDS};
use delego_spec::{sha256_hex, verify_chain};

const CHAIN_LEN: u64 = 1_000;

fn single_receipt(c: &mut Criterion) {
    let key = signing_key();
    let public = verifying_key();
    let payload = sample_payload(4);
    let receipt = payload.clone().sign(&key);
    let line = receipt.to_reference_line();
    let mut group = c.benchmark_group("receipt");

    // Canonical JSON + SHA-256 + Ed25519 sign + hex.
    group.bench_function("sign", |b| {
        b.iter_batched(
            || payload.clone(),
            |payload| payload.sign(black_box(&key)),
            BatchSize::SmallInput,
        )
    });
    // Recomputed content hash + Ed25519 verify_strict.
    group.bench_function("verify", |b| {
        b.iter(|| black_box(&receipt).verify(black_box(&public)))
    });

    // The steps `verify_chain` performs for each line, one by one.
    group.bench_function("step/parse_line", |b| {
        b.iter(|| parse(black_box(&line)).expect("valid line"))
    });
    let value = parse(&line).expect("valid line");
    let object = value.as_object().expect("an object");
    group.bench_function("step/entry_hash_from_value", |b| {
        b.iter(|| {
            let payload = PAYLOAD_FIELDS
                .iter()
                .filter_map(|k| object.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect();
            sha256_hex(&to_canonical_string(&Value::Object(payload)))
        })
    });
    group.bench_function("step/verify_signature", |b| {
        b.iter(|| {
            verify_entry_signature(
                black_box(&public),
                black_box(&receipt.entry_hash),
                black_box(&receipt.signature),
            )
        })
    });
    group.finish();
}

fn chain(c: &mut Criterion) {
    let key = signing_key();
    let public = verifying_key();
    let ledger = build_ledger(CHAIN_LEN, &key);
    assert!(verify_chain(&ledger, &public, None).is_valid());

    let mut group = c.benchmark_group("chain");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(CHAIN_LEN));
    group.bench_function("verify_chain/1000", |b| {
        b.iter(|| verify_chain(black_box(&ledger), black_box(&public), None))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = single_receipt, chain
}
criterion_main!(benches);
