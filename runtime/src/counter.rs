//! [`Counter`]: a monotonic count that scales across threads.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use crate::slots;
use crate::var::{Var, Writer};

/// No slot yet: taken on the first increment.
const UNASSIGNED: u32 = 0;
/// No slot could be had: count in `shared` instead.
const EXHAUSTED: u32 = u32::MAX;

/// A monotonically increasing `u64` count, such as requests served.
///
/// Increments are sharded per thread: each thread bumps its own slot with a plain load
/// and store, and [`get`](Counter::get) sums the slots. So `inc` takes no lock, allocates
/// nothing after a thread's first use, and two threads incrementing the same counter do
/// not contend for one cache line.
///
/// # Cost
/// 16 bytes inline. Each thread that increments it adds an 8-byte slot (allocated in
/// chunks of 1,024 slots per thread); an idle counter costs only its 16 bytes.
/// `get` takes no lock: it reads one slot per thread table. A thread's table outlives
/// it and is adopted by the next new thread, so there are at most as many tables as
/// threads that ever counted at once.
///
/// # Example
/// ```
/// use expvar::Counter;
///
/// static REQUESTS: Counter = Counter::new();
///
/// REQUESTS.inc();
/// REQUESTS.add(2);
/// assert_eq!(REQUESTS.get(), 3);
/// ```
pub struct Counter {
    /// Slot id plus one, or [`UNASSIGNED`] / [`EXHAUSTED`].
    slot: AtomicU32,
    /// Counts made where no per-thread slot is available.
    shared: AtomicU64,
}

impl Counter {
    /// A counter at zero. `const`, so it can initialize a `static`.
    pub const fn new() -> Self {
        Counter {
            slot: AtomicU32::new(UNASSIGNED),
            shared: AtomicU64::new(0),
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        let slot = self.slot.load(Relaxed);
        if slot != UNASSIGNED && slot != EXHAUSTED && slots::add(slot - 1, n) {
            return;
        }
        self.add_slow(slot, n);
    }

    #[cold]
    fn add_slow(&self, slot: u32, n: u64) {
        if slot == UNASSIGNED {
            let id = self.assign_slot();
            if id != EXHAUSTED && slots::add(id - 1, n) {
                return;
            }
        }
        self.shared.fetch_add(n, Relaxed);
    }

    /// Takes a slot id for this counter (racing threads agree on one winner).
    fn assign_slot(&self) -> u32 {
        let candidate = slots::acquire_id().map_or(EXHAUSTED, |id| id + 1);
        match self
            .slot
            .compare_exchange(UNASSIGNED, candidate, Relaxed, Relaxed)
        {
            Ok(_) => candidate,
            Err(winner) => {
                if candidate != EXHAUSTED {
                    slots::release_id(candidate - 1);
                }
                winner
            }
        }
    }

    /// The current total.
    pub fn get(&self) -> u64 {
        let shared = self.shared.load(Relaxed);
        match self.slot.load(Relaxed) {
            UNASSIGNED | EXHAUSTED => shared,
            slot => shared.wrapping_add(slots::sum(slot - 1)),
        }
    }
}

impl Default for Counter {
    fn default() -> Self {
        Counter::new()
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        match *self.slot.get_mut() {
            UNASSIGNED | EXHAUSTED => {}
            slot => slots::release_id(slot - 1),
        }
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Counter").field(&self.get()).finish()
    }
}

impl Var for Counter {
    fn write(&self, out: Writer<'_>) {
        out.counter(self.get());
    }

    fn __writes_without_locks() -> bool {
        true
    }
}
