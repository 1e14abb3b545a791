//! Hashing a typical proposed action: the intent hash and action
//! fingerprint (target: `identity()` under 2 µs), canonical JSON writing and
//! parsing.

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use delego_benches::{typical_action, TYPICAL_ACTION_JSON};
use delego_spec::json::{parse, to_canonical_string, Value};
use delego_spec::ProposedAction;

fn hashing(c: &mut Criterion) {
    let action = typical_action();
    let params = Value::Object(action.params.clone());
    let mut group = c.benchmark_group("hashing");

    // URL split + intent hash + fingerprint + summary.
    group.bench_function("identity", |b| {
        b.iter(|| black_box(&action).identity().expect("valid URL"))
    });

    group.bench_function("canonical_params", |b| {
        b.iter(|| to_canonical_string(black_box(&params)))
    });

    group.throughput(Throughput::Bytes(TYPICAL_ACTION_JSON.len() as u64));
    group.bench_function("parse_action_json", |b| {
        b.iter(|| parse(black_box(TYPICAL_ACTION_JSON)).expect("valid JSON"))
    });

    // Text in, identity out: parse, read the action, derive every hash.
    group.bench_function("parse_and_identity", |b| {
        b.iter(|| {
            let value = parse(black_box(TYPICAL_ACTION_JSON)).expect("valid JSON");
            let action = ProposedAction::from_value(&value).expect("valid action");
            action.identity().expect("valid URL")
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = hashing
}
criterion_main!(benches);
