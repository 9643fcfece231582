//! Stripes: a small number of copies of a variable's shared counters, one for each
//! group of threads, for variables with too many counters to give every thread a slot
//! of each (a histogram's buckets).
//!
//! Each thread's table is given a stripe number when the thread claims it, round robin,
//! so threads started one after the other (a pool's workers) use different stripes
//! (read with [`ThreadTable::stripe`](super::ThreadTable::stripe), beside the slots: one
//! thread-local read for both). There are as many stripes as CPUs (rounded up to a power
//! of two, at most [`MAX_STRIPES`]), so threads that run at the same time rarely share
//! one; a stripe's counters are atomics, so sharing costs speed, never a count.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

/// The most stripes: beyond this, memory per variable grows faster than contention
/// falls.
pub(crate) const MAX_STRIPES: usize = 16;

/// The number of stripes in this process: a power of two, fixed at first use.
pub(crate) fn stripes() -> usize {
    static STRIPES: OnceLock<usize> = OnceLock::new();
    *STRIPES.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(4, usize::from)
            .next_power_of_two()
            .clamp(2, MAX_STRIPES)
    })
}

/// The next stripe in turn: a number below [`stripes`].
pub(super) fn next_stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Relaxed) & (stripes() - 1)
}

#[cfg(all(test, not(expvar_loom)))]
mod tests {
    use super::super::this_thread;
    use super::*;

    #[test]
    fn threads_get_stripes_in_turn() {
        assert!(stripes().is_power_of_two() && stripes() <= MAX_STRIPES);
        let taken: Vec<usize> = (0..4 * stripes())
            .map(|_| {
                std::thread::spawn(|| {
                    let before = this_thread().stripe();
                    // The first slot a thread counts into claims its table.
                    super::super::add(0, 0);
                    (before, this_thread().stripe())
                })
                .join()
                .unwrap()
            })
            .map(|(before, after)| {
                assert_eq!(before, 0, "a thread with no table counts in stripe 0");
                after
            })
            .collect();
        assert!(taken.iter().all(|&stripe| stripe < stripes()), "{taken:?}");
        // Other tests start threads meanwhile, so only that every stripe is used is
        // certain, not the order.
        for stripe in 0..stripes() {
            assert!(
                taken.contains(&stripe),
                "stripe {stripe} unused in {taken:?}"
            );
        }
    }
}
