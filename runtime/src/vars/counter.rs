//! [`Counter`]: a monotonic count that scales across threads.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use once_cell::race::OnceBox;

use crate::slots::{self, SlotId, SlotKind};
use crate::vars::exemplar::{ExemplarError, ExemplarSlot, OwnedExemplar};
use crate::vars::{Var, Writer};

/// A monotonically increasing `u64` count, such as requests served.
///
/// Increments are sharded per thread: each thread bumps its own slot with a plain load
/// and store, and [`get`](Counter::get) sums the slots. So `inc` takes no lock, allocates
/// nothing after a thread's first use, and two threads incrementing the same counter do
/// not contend for one cache line.
///
/// # Cost
/// 24 bytes inline (a count's slot id and the latest exemplar's). Each thread that
/// increments it adds an 8-byte slot (allocated in chunks of 64 slots per thread, on Unix
/// in pages mapped for the thread and unmapped when it exits); an idle counter costs only
/// its 24 bytes.
/// `get` takes a read lock and reads the count left by exited threads plus one slot
/// per live thread that has counted.
///
/// # Threads that exit
/// When a thread exits, its counts are added to a shared per-counter total and its
/// table is freed. So after a burst of thousands of short-lived threads, `get` and a
/// scrape cost what they cost before it, memory comes back, and the count stays exact:
///
/// ```
/// use expvar::Counter;
///
/// static JOBS: Counter = Counter::new();
///
/// let workers: Vec<_> = (0..64).map(|_| std::thread::spawn(|| JOBS.add(2))).collect();
/// for worker in workers {
///     worker.join().unwrap();
/// }
/// assert_eq!(JOBS.get(), 128);
/// ```
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
    slot: SlotId,
    /// Counts made where no per-thread slot is available.
    shared: AtomicU64,
    /// The latest exemplar, made on the first one.
    exemplar: OnceBox<ExemplarSlot>,
}

impl Counter {
    /// A counter at zero. `const`, so it can initialize a `static`.
    pub const fn new() -> Self {
        Counter {
            slot: SlotId::new(),
            shared: AtomicU64::new(0),
            exemplar: OnceBox::new(),
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
        match self.slot.get() {
            Some(id) if slots::add(id, n) => {}
            _ => self.add_slow(n),
        }
    }

    /// Adds one and keeps an exemplar of it with `labels` (such as a `trace_id`) and
    /// the current time: the latest is shown after the count in OpenMetrics and the
    /// protobuf exposition (`requests_total 12 # {trace_id="..."} 1 1700000000.5`).
    ///
    /// Labels must be valid label names with at most
    /// [`MAX_EXEMPLAR_LABEL_CHARS`](crate::vars::MAX_EXEMPLAR_LABEL_CHARS) characters of
    /// names and values together; others are refused (the count still goes up) and
    /// counted in [`refused_exemplars`](crate::vars::refused_exemplars).
    ///
    /// ```
    /// use expvar::Counter;
    ///
    /// static ERRORS: Counter = Counter::new();
    /// ERRORS.inc_with_exemplar(&[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")]).unwrap();
    /// assert!(ERRORS.inc_with_exemplar(&[("trace-id", "x")]).is_err());
    /// assert_eq!(ERRORS.get(), 2);
    /// ```
    pub fn inc_with_exemplar(&self, labels: &[(&str, &str)]) -> Result<(), ExemplarError> {
        self.add_with_exemplar(1, labels)
    }

    /// Adds `n`, keeping an exemplar of `n` as [`inc_with_exemplar`](Self::inc_with_exemplar)
    /// does.
    pub fn add_with_exemplar(&self, n: u64, labels: &[(&str, &str)]) -> Result<(), ExemplarError> {
        self.add(n);
        self.exemplar
            .get_or_init(Box::default)
            .keep(labels, n as f64)
    }

    /// Keeps an exemplar of `value` with `labels`, counting nothing (the count was
    /// added apart).
    pub(crate) fn keep_exemplar(&self, labels: &[(&str, &str)], value: f64) {
        let _ = self.exemplar.get_or_init(Box::default).keep(labels, value);
    }

    /// The exemplar kept, if any.
    pub(crate) fn exemplar(&self) -> Option<OwnedExemplar> {
        self.exemplar.get().and_then(ExemplarSlot::read)
    }

    /// Adds `n` through `table`, this thread's slot table read once for several adds.
    #[inline]
    pub(crate) fn add_on(&self, table: slots::ThreadTable, n: u64) {
        match self.slot.get() {
            Some(id) if slots::add_on(table, id, n) => {}
            _ => self.add_slow(n),
        }
    }

    /// This thread's slot of the counter, to add to directly (see `slots::own_slot`).
    pub(crate) fn own_slot(&self) -> Option<(slots::ThreadTable, std::ptr::NonNull<slots::Slot>)> {
        slots::own_slot(self.slot.get_or_assign(SlotKind::Count)?)
    }

    /// The slot id, if the counter has one yet.
    #[inline]
    pub(crate) fn slot_id(&self) -> Option<u32> {
        self.slot.get()
    }

    /// This thread's slot of the counter, pinned, and this thread's table (see
    /// `slots::pin`). For a counter that is never dropped (`'static`).
    #[inline]
    pub(crate) fn pin(&'static self) -> Option<(slots::ThreadTable, slots::PinnedSlot)> {
        let id = match self.slot.get() {
            Some(id) => id,
            None => self.slot.get_or_assign(SlotKind::Count)?,
        };
        slots::pin(id)
    }

    #[cold]
    fn add_slow(&self, n: u64) {
        match self.slot.get_or_assign(SlotKind::Count) {
            Some(id) if slots::add(id, n) => {}
            _ => {
                self.shared.fetch_add(n, Relaxed);
            }
        }
    }

    /// The current total.
    pub fn get(&self) -> u64 {
        let shared = self.shared.load(Relaxed);
        self.slot
            .get()
            .map_or(shared, |id| shared.wrapping_add(slots::sum(id)))
    }
}

impl Default for Counter {
    fn default() -> Self {
        Counter::new()
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Counter").field(&self.get()).finish()
    }
}

impl Var for Counter {
    fn write(&self, out: Writer<'_>) {
        match self.exemplar() {
            Some(kept) => {
                let pairs = kept.pairs();
                out.counter_with_exemplar(self.get(), &kept.as_exemplar(&pairs));
            }
            None => out.counter(self.get()),
        }
    }

    fn __writes_without_locks() -> bool {
        true
    }

    /// Every counter's total under one read of the slot tables: a map of counters is
    /// written with one lock, not one per entry.
    fn __read_counters<'v>(
        counters: impl Iterator<Item = &'v Self> + Clone,
        totals: &mut Vec<u64>,
    ) -> bool {
        let ids = counters.map(|counter| (counter.slot.get(), counter.shared.load(Relaxed)));
        slots::sum_each(ids, totals);
        true
    }

    fn __may_block(&self) -> bool {
        false
    }
}
