//! `Histogram::record`: classic and native, against the peers' histograms, single-threaded
//! and with two threads recording into the same histogram, in one run.
//!
//! `cargo bench --bench histogram`. Values cycle through 256 log-uniform durations from
//! 100 µs to 100 ms, so records spread over buckets as latencies do. The thread-scaling
//! groups report records per second: the 2-thread row counts both threads' records, so
//! the ratio of the rows is the scaling factor (`threads/NAME`, as in `benches/counter.rs`).
//!
//! Peers: prometheus-client's native histogram (`Histogram::new_native`, a mutex around
//! sparse buckets) and fastmetrics' classic histogram (atomics per `le` bucket, Go's
//! eleven default bounds), which has no native form.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::LazyLock;

mod common;

use common::thread_scaling_groups;
use criterion::{criterion_group, criterion_main, Criterion};
use expvar::Histogram;
use prometheus_client::metrics::histogram::{Histogram as ClientHistogram, NativeHistogramConfig};

static CLASSIC: Histogram = Histogram::new();
static NATIVE: Histogram = Histogram::native();
static CLIENT_RUST_NATIVE: LazyLock<ClientHistogram> =
    LazyLock::new(|| ClientHistogram::new_native(NativeHistogramConfig::new(1.1).max_buckets(160)));
static FASTMETRICS: LazyLock<fastmetrics::metrics::histogram::Histogram> = LazyLock::new(|| {
    fastmetrics::metrics::histogram::Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
});

/// 256 durations in seconds, log-uniform from 100 µs to 100 ms.
static VALUES: LazyLock<[f64; 256]> =
    LazyLock::new(|| std::array::from_fn(|i| 1e-4 * 1000f64.powf(i as f64 / 255.0)));

thread_local! {
    static NEXT: Cell<usize> = const { Cell::new(0) };
}

/// The next value of this thread's cycle through [`VALUES`].
#[inline]
fn next_value() -> f64 {
    let i = NEXT.with(|next| {
        let i = next.get();
        next.set(i.wrapping_add(97));
        i
    });
    VALUES[i % 256]
}

const OPS: [(&str, fn()); 4] = [
    ("expvar_classic_record", || CLASSIC.record(next_value())),
    ("expvar_native_record", || NATIVE.record(next_value())),
    ("prometheus_client_native_observe", || {
        CLIENT_RUST_NATIVE.observe(next_value())
    }),
    ("fastmetrics_observe", || FASTMETRICS.observe(next_value())),
];

fn single_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("histogram_single_thread");
    for (name, op) in OPS {
        group.bench_function(name, |b| b.iter(|| black_box(op)()));
    }
    group.finish();
}

fn thread_scaling(c: &mut Criterion) {
    thread_scaling_groups(c, "threads", &OPS);
}

criterion_group!(benches, single_thread, thread_scaling);
criterion_main!(benches);
