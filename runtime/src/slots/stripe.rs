//! Stripes: a small number of copies of a variable's shared counters, one for each
//! group of threads, for variables with too many counters to give every thread a slot
//! of each (a histogram's buckets).
//!
//! Each thread is given a stripe number once, round robin, so threads started one
//! after the other (a pool's workers) use different stripes. There are as many stripes
//! as CPUs (rounded up to a power of two, at most [`MAX_STRIPES`]), so threads that
//! run at the same time rarely share one; a stripe's counters are atomics, so sharing
//! costs speed, never a count.

use std::cell::Cell;
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

thread_local! {
    /// This thread's number, or `usize::MAX` before its first use.
    static NUMBER: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's stripe: a number below [`stripes`] (reduce it with `& (stripes - 1)`;
/// it is this thread's round-robin number, so any power of two works).
#[inline]
pub(crate) fn this_stripe() -> usize {
    // A thread tearing down its thread-locals keeps a stripe too: 0.
    let number = NUMBER.try_with(Cell::get).unwrap_or(0);
    if number != usize::MAX {
        return number;
    }
    assign()
}

#[cold]
fn assign() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let number = NEXT.fetch_add(1, Relaxed) & (usize::MAX >> 1);
    let _ = NUMBER.try_with(|cell| cell.set(number));
    number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_get_numbers_in_turn() {
        assert!(stripes().is_power_of_two() && stripes() <= MAX_STRIPES);
        assert_eq!(this_stripe(), this_stripe());
        let a = std::thread::spawn(this_stripe).join().unwrap();
        let b = std::thread::spawn(this_stripe).join().unwrap();
        // Other tests start threads meanwhile, so only the order is certain.
        assert!(b > a, "{a} then {b}");
    }
}
