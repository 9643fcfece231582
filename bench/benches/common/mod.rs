//! Shared by the benches: running one operation on several threads at once.
#![allow(dead_code)] // each bench uses its own subset

use std::sync::Barrier;
use std::time::{Duration, Instant};

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
