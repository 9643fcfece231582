//! What `#[counted]` and `#[timed]` add to a call, in one run: a plain function, the
//! same function annotated, and the hand-written equivalent of the instrumentation (a
//! bare atomic add, and an atomic add with two `Instant::now()` reads).
//!
//! `cargo bench --bench macros`. All functions are `#[inline(never)]` so every row
//! pays for one real call; compare the rows as ratios.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use expvar::{counted, timed};

static BARE: AtomicU64 = AtomicU64::new(0);
static BARE_NANOS: AtomicU64 = AtomicU64::new(0);

#[inline(never)]
fn plain(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[inline(never)]
#[counted]
fn annotated_counted(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[inline(never)]
#[timed]
fn annotated_timed(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[inline(never)]
#[counted]
fn annotated_counted_result(x: u64) -> Result<u64, ()> {
    if x == u64::MAX {
        return Err(());
    }
    Ok(x.wrapping_mul(31).rotate_left(7))
}

#[inline(never)]
fn baseline_atomic(x: u64) -> u64 {
    BARE.fetch_add(1, Relaxed);
    x.wrapping_mul(31).rotate_left(7)
}

#[inline(never)]
fn baseline_atomic_clock(x: u64) -> u64 {
    let start = Instant::now();
    BARE.fetch_add(1, Relaxed);
    let result = x.wrapping_mul(31).rotate_left(7);
    #[allow(clippy::cast_possible_truncation)] // Nanoseconds of one call fit.
    BARE_NANOS.fetch_add(start.elapsed().as_nanos() as u64, Relaxed);
    result
}

fn calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("call");
    group.bench_function("plain", |b| b.iter(|| plain(black_box(3))));
    group.bench_function("bare atomic add", |b| {
        b.iter(|| baseline_atomic(black_box(3)));
    });
    group.bench_function("#[counted]", |b| {
        b.iter(|| annotated_counted(black_box(3)));
    });
    group.bench_function("#[counted] -> Result", |b| {
        b.iter(|| annotated_counted_result(black_box(3)));
    });
    group.bench_function("atomic add + 2 Instant::now", |b| {
        b.iter(|| baseline_atomic_clock(black_box(3)));
    });
    group.bench_function("#[timed]", |b| b.iter(|| annotated_timed(black_box(3))));
    group.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);
