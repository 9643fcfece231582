//! What a burst of short-lived threads leaves behind: a JSON render of 10,000 counters
//! before and after 4,096 threads, all alive at once, each counted all 10,000 and exited;
//! and the resident memory before, at the peak and after (in
//! `target/bench-results/burst.json`, for `scripts/bench-report`).
//!
//! `cargo bench -p expvar-bench --bench burst`. The rows run in order in one process:
//! `render_before` first, then the burst, then `render_after_burst`.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use expvar::{Counter, Map};

const COUNTERS: usize = 10_000;
const THREADS: usize = 4_096;

/// Resident set size in KiB (Linux), 0 elsewhere.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

/// Every thread counts every counter, then waits for the others: all alive at once.
fn burst(counters: &[Arc<Counter>]) -> u64 {
    let barrier = Barrier::new(THREADS);
    let mut peak = 0;
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            let barrier = &barrier;
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn_scoped(scope, move || {
                    counters.iter().for_each(|counter| counter.inc());
                    barrier.wait();
                })
                .expect("spawning a thread");
        }
        // The threads are blocked at the barrier or past it: near the peak.
        std::thread::sleep(Duration::from_millis(100));
        peak = rss_kib();
    });
    // Scoped threads are joined when their closures return; their thread-local
    // destructors (which retire their tables) may run a moment later.
    std::thread::sleep(Duration::from_millis(300));
    peak
}

fn render(c: &mut Criterion) {
    let map: Map<Counter> = Map::with_limit(COUNTERS);
    // Counts of four digits before and after the burst (1,000, then 5,096): the two
    // renders write the same number of bytes.
    for index in 0..COUNTERS {
        map.add(&format!("counter_{index:05}"), 1_000);
    }
    let counters: Vec<Arc<Counter>> = (0..COUNTERS)
        .map(|index| map.get_or_create(&format!("counter_{index:05}")))
        .collect();

    let mut group = c.benchmark_group("burst");
    group.throughput(Throughput::Elements(COUNTERS as u64));
    group.bench_function("expvar_render_10k_counters_before", |b| {
        b.iter(|| black_box(expvar::render_json(&map)))
    });
    let before = rss_kib();
    let peak = burst(&counters);
    let after = rss_kib();
    let total: u64 = counters.iter().map(|c| c.get()).sum();
    assert_eq!(
        total,
        (COUNTERS * (THREADS + 1_000)) as u64,
        "counts are exact"
    );
    group.bench_function("expvar_render_10k_counters_after_burst", |b| {
        b.iter(|| black_box(expvar::render_json(&map)))
    });
    group.finish();
    let results = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-results");
    std::fs::create_dir_all(&results).expect("target/bench-results");
    let json = format!(
        "{{\"threads\": {THREADS}, \"counters\": {COUNTERS}, \"rss_before_kib\": {before}, \
         \"rss_peak_kib\": {peak}, \"rss_after_kib\": {after}}}\n"
    );
    std::fs::write(results.join("burst.json"), json).expect("writing burst.json");
}

criterion_group!(benches, render);
criterion_main!(benches);
