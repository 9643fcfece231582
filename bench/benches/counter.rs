//! Hot path of the variable types against a bare `AtomicU64::fetch_add(1, Relaxed)`,
//! single-threaded and with two threads on the same variable, in one run.
//!
//! `cargo bench --bench counter`. Each thread-scaling group reports throughput in
//! increments per second: the 2-thread row counts both threads' increments, so the
//! ratio of the two rows is the scaling factor.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

mod common;

use common::thread_scaling_groups;
use criterion::{criterion_group, criterion_main, Criterion};
use expvar::{Counter, Gauge, Histogram};

static BARE: AtomicU64 = AtomicU64::new(0);
static COUNTER: Counter = Counter::new();
static GAUGE: Gauge = Gauge::new();
static HISTOGRAM: Histogram = Histogram::new();

thread_local! {
    /// What a per-thread counter cannot beat: a plain add to this thread's own cell.
    static LOCAL: Cell<u64> = const { Cell::new(0) };
}

#[expvar::counted(name = "bench_threads_counted_fn")]
#[inline(never)]
fn expvar_counted_fn() {
    black_box(());
}

fn single_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("single_thread");
    group.bench_function("bare_atomic_fetch_add", |b| {
        b.iter(|| black_box(&BARE).fetch_add(1, Relaxed))
    });
    group.bench_function("expvar_counter_inc", |b| {
        b.iter(|| black_box(&COUNTER).inc())
    });
    group.bench_function("expvar_gauge_add", |b| b.iter(|| black_box(&GAUGE).add(1)));
    group.bench_function("expvar_histogram_record", |b| {
        b.iter(|| black_box(&HISTOGRAM).record(black_box(0.000_250)))
    });
    group.finish();
}

fn thread_scaling(c: &mut Criterion) {
    // `plain_thread_local_add` shares nothing between the threads: how far two threads
    // scale on this machine at all (a VM's two vCPUs may be one core's two hardware
    // threads, or share it with other guests), the bound for the counter rows.
    let ops: [(&str, fn()); 4] = [
        ("plain_thread_local_add", || {
            LOCAL.with(|local| local.set(black_box(local.get()) + 1))
        }),
        ("bare_atomic_fetch_add", || {
            BARE.fetch_add(1, Relaxed);
        }),
        ("expvar_counter_inc", || COUNTER.inc()),
        ("expvar_counted_fn", expvar_counted_fn),
    ];
    thread_scaling_groups(c, "threads", &ops);
}

criterion_group!(benches, single_thread, thread_scaling);
criterion_main!(benches);
