//! Cost of counting allocations: `CountingAlloc<System>` against the bare `System`
//! allocator and against `stats_alloc::StatsAlloc<System>`, in one run.
//!
//! `cargo bench --bench alloc`. The workload allocates 64 blocks of mixed sizes
//! (8 to 1,000 bytes), touches each, and frees them: 128 allocator calls per iteration,
//! reported as allocations per second. This is the worst case for counting: nothing but
//! allocator calls. The "filled" group also writes every byte of each block, as a program
//! does with memory it allocates. The 2-thread group runs the bare workload on two
//! threads at once, where shared counters would fight over cache lines. The "small
//! blocks" group is the goal's workload: 16 to 256 bytes, each block filled.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::time::Duration;

mod common;

use common::run_on_threads;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use expvar::CountingAlloc;
use stats_alloc::StatsAlloc;

static SYSTEM: System = System;
static COUNTING: CountingAlloc = CountingAlloc::new();
static STATS_ALLOC: StatsAlloc<System> = StatsAlloc::system();

const BLOCKS: usize = 64;

/// Block sizes: a fixed pseudo-random mix, so every allocator sees the same requests.
fn sizes() -> [usize; BLOCKS] {
    let mut state = 0x9E37_79B9u32;
    std::array::from_fn(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        8 + (state % 125) as usize * 8
    })
}

/// Small blocks, 16 to 256 bytes: what most programs allocate most often.
fn small_sizes() -> [usize; BLOCKS] {
    let mut state = 0x2545_F491u32;
    std::array::from_fn(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        16 + (state % 31) as usize * 8
    })
}

#[inline(never)]
fn churn<A: GlobalAlloc>(alloc: &A, sizes: &[usize; BLOCKS]) {
    churn_with(alloc, sizes, false);
}

#[inline(never)]
fn churn_filled<A: GlobalAlloc>(alloc: &A, sizes: &[usize; BLOCKS]) {
    churn_with(alloc, sizes, true);
}

#[inline(always)]
fn churn_with<A: GlobalAlloc>(alloc: &A, sizes: &[usize; BLOCKS], fill: bool) {
    let mut blocks = [std::ptr::null_mut::<u8>(); BLOCKS];
    for (block, &size) in blocks.iter_mut().zip(sizes) {
        let layout = Layout::from_size_align(size, 8).unwrap();
        // SAFETY: the layout has a non-zero size; the block is written within it.
        unsafe {
            *block = alloc.alloc(layout);
            assert!(!block.is_null());
            if fill {
                block.write_bytes(size as u8, size);
            } else {
                block.write(size as u8);
            }
        }
    }
    black_box(&mut blocks);
    for (&block, &size) in blocks.iter().zip(sizes) {
        // SAFETY: allocated above with this layout and freed once.
        unsafe { alloc.dealloc(block, Layout::from_size_align(size, 8).unwrap()) };
    }
}

fn on_two_threads<A: GlobalAlloc + Sync>(alloc: &A, iters: u64) -> Duration {
    let sizes = sizes();
    run_on_threads(2, iters, &|| churn(alloc, &sizes))
}

fn single_thread(c: &mut Criterion) {
    let sizes = sizes();
    let mut group = c.benchmark_group("alloc/1 thread");
    group.throughput(Throughput::Elements(BLOCKS as u64));
    group.bench_function("System (baseline)", |b| b.iter(|| churn(&SYSTEM, &sizes)));
    group.bench_function("expvar::CountingAlloc", |b| {
        b.iter(|| churn(&COUNTING, &sizes))
    });
    group.bench_function("stats_alloc::StatsAlloc", |b| {
        b.iter(|| churn(&STATS_ALLOC, &sizes))
    });
    group.finish();
}

fn filled(c: &mut Criterion) {
    let sizes = sizes();
    let mut group = c.benchmark_group("alloc/1 thread, blocks filled");
    group.throughput(Throughput::Elements(BLOCKS as u64));
    group.bench_function("System (baseline)", |b| {
        b.iter(|| churn_filled(&SYSTEM, &sizes))
    });
    group.bench_function("expvar::CountingAlloc", |b| {
        b.iter(|| churn_filled(&COUNTING, &sizes))
    });
    group.bench_function("stats_alloc::StatsAlloc", |b| {
        b.iter(|| churn_filled(&STATS_ALLOC, &sizes))
    });
    group.finish();
}

fn small_filled(c: &mut Criterion) {
    let sizes = small_sizes();
    let mut group = c.benchmark_group("alloc/1 thread, small blocks filled");
    group.throughput(Throughput::Elements(BLOCKS as u64));
    group.bench_function("System (baseline)", |b| {
        b.iter(|| churn_filled(&SYSTEM, &sizes))
    });
    group.bench_function("expvar::CountingAlloc", |b| {
        b.iter(|| churn_filled(&COUNTING, &sizes))
    });
    group.finish();
}

fn two_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("alloc/2 threads");
    group.throughput(Throughput::Elements(2 * BLOCKS as u64));
    group.bench_function(BenchmarkId::from_parameter("System (baseline)"), |b| {
        b.iter_custom(|iters| on_two_threads(&SYSTEM, iters))
    });
    group.bench_function(BenchmarkId::from_parameter("expvar::CountingAlloc"), |b| {
        b.iter_custom(|iters| on_two_threads(&COUNTING, iters))
    });
    group.bench_function(
        BenchmarkId::from_parameter("stats_alloc::StatsAlloc"),
        |b| b.iter_custom(|iters| on_two_threads(&STATS_ALLOC, iters)),
    );
    group.finish();
}

criterion_group!(benches, single_thread, filled, small_filled, two_threads);
criterion_main!(benches);
