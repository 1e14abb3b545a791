//! The witness's `add-checkpoint` handling without the network: parse the
//! body, verify the log's signature, verify a ~20-hash consistency proof,
//! cosign, and write the new state to RocksDB with a synced write — per
//! request, each advancing the log by 17 leaves. Request bodies are built
//! outside the timed loop. (p50/p99 come from the `witness_latency` binary.)

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use delego_benches::witness::WitnessFixture;

fn add_checkpoint(c: &mut Criterion) {
    let mut fixture = WitnessFixture::new();
    let mut group = c.benchmark_group("witness");
    group.bench_function("add_checkpoint", |b| {
        b.iter_custom(|iters| {
            let count = usize::try_from(iters).expect("iteration count fits usize");
            let bodies = fixture.next_requests(count);
            let start = Instant::now();
            for body in &bodies {
                fixture.submit(body);
            }
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = add_checkpoint
}
criterion_main!(benches);
