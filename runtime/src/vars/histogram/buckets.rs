//! Where a histogram's bucket counts live: per-thread counter slots, a block of them
//! per page of [`PAGE`] consecutive buckets.
//!
//! A bucket is counted as a [`Counter`](crate::Counter) counts: the calling thread adds
//! one to its own slot with a plain load and store, and a read sums the slots of every
//! live thread and of those that exited. The buckets of one page share a block, so a
//! thread that records values of similar size touches one chunk of its own. Pages get
//! their block on first use, so memory follows the values recorded: a page nobody
//! recorded into costs its 16 bytes here and nothing per thread.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use once_cell::race::OnceBox;

use super::schema;
use crate::slots::{self, SlotBlock, SlotId, SlotKind, ThreadTable, BLOCK_LEN};

/// Buckets per page.
pub(super) const PAGE: usize = BLOCK_LEN;

/// The counts of one page, where no per-thread slot is available (a thread whose
/// thread-locals are being torn down, or every slot in use).
type Shared = [AtomicU64; PAGE];

struct Page {
    block: SlotBlock,
    /// Made when a count cannot go to a slot.
    shared: OnceBox<Shared>,
}

impl Page {
    fn new() -> Self {
        Page {
            block: SlotBlock::new(),
            shared: OnceBox::new(),
        }
    }

    #[cold]
    fn add_cold(&self, table: ThreadTable, offset: usize) {
        if let Some(first) = self.block.get_or_assign() {
            if slots::add_on(table, first + offset as u32, 1) {
                return;
            }
        }
        let shared = self
            .shared
            .get_or_init(|| Box::new([const { AtomicU64::new(0) }; PAGE]));
        shared[offset].fetch_add(1, Relaxed);
    }

    /// The page's totals, or `None` if nothing was ever counted in it.
    fn totals(&self) -> Option<[u64; PAGE]> {
        let shared = self.shared.get();
        if self.block.get().is_none() && shared.is_none() {
            return None;
        }
        let mut totals = [0; PAGE];
        self.block.sum_into(&mut totals);
        for (total, count) in totals.iter_mut().zip(shared.into_iter().flatten()) {
            *total = total.wrapping_add(count.load(Relaxed));
        }
        Some(totals)
    }

    #[cfg(test)]
    fn in_use(&self) -> bool {
        self.block.get().is_some() || self.shared.get().is_some()
    }
}

/// The buckets of one sign: keys `first_key..first_key + pages.len() * PAGE`, every
/// key a value of that sign can have.
pub(super) struct Pages {
    first_key: i32,
    last_key: i32,
    pages: Box<[Page]>,
}

impl Pages {
    /// Pages for the keys `first_key..=last_key`.
    pub(super) fn new(first_key: i32, last_key: i32) -> Self {
        let keys = (last_key - first_key) as usize + 1;
        Pages {
            first_key,
            last_key,
            pages: (0..keys.div_ceil(PAGE)).map(|_| Page::new()).collect(),
        }
    }

    /// Counts one value in bucket `key`, on `table` (this thread's).
    #[inline]
    pub(super) fn add(&self, table: ThreadTable, key: i32) {
        // Keys come from values inside the range the pages were made for; the clamp
        // only keeps an index in bounds.
        let index = (key.clamp(self.first_key, self.last_key) - self.first_key) as usize;
        let page = &self.pages[index / PAGE];
        let offset = index % PAGE;
        match page.block.get() {
            Some(first) if slots::add_on(table, first + offset as u32, 1) => {}
            _ => page.add_cold(table, offset),
        }
    }

    /// Calls `visit` with each bucket that has counts, keys increasing.
    pub(super) fn for_each(&self, mut visit: impl FnMut(i32, u64)) {
        for (number, page) in self.pages.iter().enumerate() {
            let Some(totals) = page.totals() else {
                continue;
            };
            let first = self.first_key + (number * PAGE) as i32;
            for (offset, &count) in totals.iter().enumerate() {
                if count != 0 {
                    visit(first + offset as i32, count);
                }
            }
        }
    }

    /// How many pages have a block or shared counts: what the pages cost per thread
    /// (one chunk each for a thread that records into them).
    #[cfg(test)]
    pub(super) fn pages_in_use(&self) -> usize {
        self.pages.iter().filter(|page| page.in_use()).count()
    }
}

/// The zero bucket: a counter of its own.
pub(super) struct ZeroBucket {
    slot: SlotId,
    shared: AtomicU64,
}

impl ZeroBucket {
    pub(super) fn new() -> Self {
        ZeroBucket {
            slot: SlotId::new(),
            shared: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(super) fn add(&self, table: ThreadTable) {
        match self.slot.get() {
            Some(id) if slots::add_on(table, id, 1) => {}
            _ => self.add_cold(table),
        }
    }

    #[cold]
    fn add_cold(&self, table: ThreadTable) {
        match self.slot.get_or_assign(SlotKind::Count) {
            Some(id) if slots::add_on(table, id, 1) => {}
            _ => {
                self.shared.fetch_add(1, Relaxed);
            }
        }
    }

    pub(super) fn get(&self) -> u64 {
        let shared = self.shared.load(Relaxed);
        self.slot
            .get()
            .map_or(shared, |id| shared.wrapping_add(slots::sum(id)))
    }
}

/// Every bucket of a histogram, made on its first record.
pub(super) struct Storage {
    pub(super) schema: i32,
    pub(super) zero_threshold: f64,
    pub(super) zero: ZeroBucket,
    pub(super) positive: Pages,
    /// Made on the first negative value (only native histograms keep them).
    negative: OnceBox<Pages>,
}

impl Storage {
    /// Buckets at `schema` for magnitudes above `zero_threshold` up to `max_value`.
    pub(super) fn new(schema: i32, zero_threshold: f64, max_value: f64) -> Self {
        Storage {
            schema,
            zero_threshold,
            zero: ZeroBucket::new(),
            positive: Self::pages(schema, zero_threshold, max_value),
            negative: OnceBox::new(),
        }
    }

    fn pages(schema: i32, zero_threshold: f64, max_value: f64) -> Pages {
        // The smallest magnitude recorded in a bucket is just above the threshold
        // (or the smallest subnormal, for a threshold of 0).
        let lowest = zero_threshold.max(f64::from_bits(1));
        Pages::new(schema::key(lowest, schema), schema::key(max_value, schema))
    }

    /// The negative buckets, made if needed.
    #[inline]
    pub(super) fn negative_or_make(&self, max_value: f64) -> &Pages {
        self.negative
            .get_or_init(|| Box::new(Self::pages(self.schema, self.zero_threshold, max_value)))
    }

    /// The negative buckets, if any value was negative.
    pub(super) fn negative(&self) -> Option<&Pages> {
        self.negative.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_bucket_and_pages_are_made_on_use() {
        let storage = Storage::new(3, 2f64.powi(-128), 2f64.powi(64));
        assert_eq!(storage.positive.pages_in_use(), 0);
        let table = slots::this_thread();
        for value in [1.0, 1.0, 1.05, 3.0, 1e-30, 2f64.powi(64)] {
            storage.positive.add(table, schema::key(value, 3));
        }
        storage.zero.add(table);
        std::thread::scope(|scope| {
            scope.spawn(|| storage.positive.add(slots::this_thread(), 0));
        });
        let mut seen = Vec::new();
        storage
            .positive
            .for_each(|key, count| seen.push((key, count)));
        let expected = [
            (schema::key(1e-30, 3), 1),
            (0, 3),
            (1, 1),
            (schema::key(3.0, 3), 1),
            (64 * 8, 1),
        ];
        assert_eq!(seen, expected);
        assert_eq!(storage.zero.get(), 1);
        assert!(storage.positive.pages_in_use() <= 4);
        assert!(storage.negative().is_none());
        storage.negative_or_make(2f64.powi(64)).add(table, 0);
        let mut negative = Vec::new();
        storage
            .negative()
            .unwrap()
            .for_each(|key, count| negative.push((key, count)));
        assert_eq!(negative, [(0, 1)]);
    }
}
