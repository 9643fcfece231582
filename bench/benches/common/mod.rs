//! Shared by the benches: running one operation on several threads at once.
#![allow(dead_code)] // each bench uses its own subset

use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};

/// Runs `op` `iters` times on each of `threads` threads started together, and returns
/// the wall time of the slowest: criterion's "time per iteration" is then the time for
/// one operation on every thread at once.
pub fn run_on_threads(threads: usize, iters: u64, op: &(dyn Fn() + Sync)) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    op(); // first use outside the timed loop (per-thread set-up)
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        op();
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    })
}

/// One group per operation, `{prefix}/{name}`, with a row for 1 and for 2 threads
/// running it at once; throughput counts every thread's operations, so the ratio of
/// the rows is the scaling factor.
pub fn thread_scaling_groups(c: &mut Criterion, prefix: &str, ops: &[(&str, fn())]) {
    for &(name, op) in ops {
        let mut group = c.benchmark_group(format!("{prefix}/{name}"));
        for threads in [1_usize, 2] {
            group.throughput(Throughput::Elements(threads as u64));
            group.bench_with_input(
                BenchmarkId::from_parameter(threads),
                &threads,
                |b, &threads| b.iter_custom(|iters| run_on_threads(threads, iters, &op)),
            );
        }
        group.finish();
    }
}
