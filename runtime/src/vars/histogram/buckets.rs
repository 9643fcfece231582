//! Where a histogram's bucket counts live: a page of counters per power of two (per
//! group of powers of two below schema 0), each page holding one copy of its counters
//! per [stripe](crate::slots::stripes), made on the first value recorded in it.
//!
//! A thread adds one to its stripe's copy of the counter with one atomic add, on cache
//! lines no thread of another stripe writes, so threads running at once do not fight
//! over the buckets; a read sums the copies. The page table is made on the first
//! record, one entry per power of two a value can have, and the hot path is two
//! loads: the table, then the page, whose entry comes from the value's exponent alone,
//! while the bucket within the page is still being worked out from its mantissa.
//!
//! Memory: the table (8 bytes per power of two in range, twice: positive and negative
//! values; 3 KiB for the defaults), and per power of two recorded in, a page of
//! 128 bytes (16 buckets, or `2^schema` above schema 4) per stripe.

use std::alloc::{self, Layout};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::*};

use super::schema;
use crate::slots;

/// Counters per copy of a page at least, so that copies fill whole lines (of 128
/// bytes: two of the 64-byte lines adjacent-line prefetching pairs up).
const LINE_WORDS: usize = 16;

/// A histogram's bucket counts, kept inline in it; the table and pages are made on
/// the first record.
pub(super) struct Buckets {
    /// The page table: entry 0 is the zero bucket's page, then the positive pages
    /// from `first_page` up, then the negative ones. Null until the first record.
    table: AtomicPtr<AtomicPtr<AtomicU64>>,
    schema: i8,
    /// Pages per sign: at most 1,140 (one per power of two from the smallest subnormal
    /// to 2^64; 16-bit fields keep a `Histogram` at 136 bytes).
    pages: u16,
    /// Buckets per page less one (`2^schema - 1`, or 0 below schema 0): a key's place
    /// in its page is its low bits.
    offset_mask: u16,
    /// The number of the lowest page (see [`page_number`]) plus the exponent bias of an
    /// `f64`: the fast path's page index is a value's biased exponent (of the float
    /// below it) less this.
    exponent_base: i16,
    /// Counters in one copy of a page, as a shift: `per_page`, at least [`LINE_WORDS`].
    stride_shift: u8,
    zero_threshold: f64,
    /// The fast path's values, as bits (positive floats order as their bits do): from
    /// `fast_start` (just above the zero threshold, and normal) to `fast_start +
    /// fast_span` (exclusive; the largest value in range); empty below schema 0.
    fast_start: u64,
    fast_span: u64,
    /// The schema's step table (see [`schema::steps`]); set with the table.
    steps: AtomicPtr<u64>,
}

/// The number of the page holding key `key` when pages hold `per_page` keys: keys
/// `p * per_page + 1` to `(p + 1) * per_page`, so that page `p` holds the values in
/// `(2^p, 2^(p+1)]` at schema 0 and above.
#[inline]
const fn page_number(key: i32, per_page: i32) -> i32 {
    // `per_page` is a power of two: an arithmetic shift is the floor division.
    (key - 1) >> per_page.trailing_zeros()
}

/// What the buckets of one histogram read once.
#[derive(Debug, Default)]
pub(super) struct Counts {
    pub(super) zero: u64,
    /// Buckets with counts, keys increasing.
    pub(super) positive: Vec<(i32, u64)>,
    /// Buckets with counts, keys (magnitudes) increasing.
    pub(super) negative: Vec<(i32, u64)>,
}

impl Buckets {
    /// Buckets at `schema` for magnitudes above `zero_threshold` up to `max_value`.
    pub(super) const fn new(schema: i32, zero_threshold: f64, max_value: f64) -> Self {
        let per_page = 1 << if schema > 0 { schema } else { 0 };
        // The smallest magnitude counted in a bucket is just above the threshold (or
        // the smallest subnormal, for a threshold of 0).
        let lowest = if zero_threshold > 0.0 {
            zero_threshold
        } else {
            f64::from_bits(1)
        };
        let first_page = page_number(schema::key(lowest, schema), per_page);
        let last_page = page_number(schema::key(max_value, schema), per_page);
        assert!(
            last_page - first_page < u16::MAX as i32,
            "pages fit in 16 bits"
        );
        let threshold = zero_threshold.to_bits();
        let fast_start = if threshold >= f64::MIN_POSITIVE.to_bits() {
            threshold + 1
        } else {
            f64::MIN_POSITIVE.to_bits()
        };
        Buckets {
            table: AtomicPtr::new(ptr::null_mut()),
            schema: schema as i8,
            pages: (last_page - first_page + 1) as u16,
            exponent_base: (first_page + 1023) as i16,
            offset_mask: (per_page - 1) as u16,
            stride_shift: if per_page > LINE_WORDS as i32 {
                per_page.trailing_zeros() as u8
            } else {
                LINE_WORDS.trailing_zeros() as u8
            },
            zero_threshold,
            fast_start,
            fast_span: if schema < 0 {
                0
            } else {
                max_value.to_bits() + 1 - fast_start
            },
            steps: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Buckets per page.
    #[inline]
    fn per_page(&self) -> u16 {
        self.offset_mask + 1
    }

    /// The number of the lowest page.
    fn first_page(&self) -> i32 {
        i32::from(self.exponent_base) - 1023
    }

    #[inline]
    pub(super) fn schema(&self) -> i32 {
        i32::from(self.schema)
    }

    pub(super) fn zero_threshold(&self) -> f64 {
        self.zero_threshold
    }

    /// Counters in one copy of a page.
    #[inline]
    fn stride(&self) -> usize {
        1 << self.stride_shift
    }

    fn entries(&self) -> usize {
        1 + 2 * self.pages as usize
    }

    /// Counts `value` (finite, its magnitude at most the `max_value` given to `new`) in
    /// `stripe` (the calling thread's).
    pub(super) fn add(&self, value: f64, stripe: usize) {
        if self.on_fast_path(value.to_bits()) {
            self.add_fast(value.to_bits(), stripe);
        } else {
            self.add_other(value, stripe);
        }
    }

    /// Whether the value with these bits is one [`add_fast`](Self::add_fast) counts:
    /// positive, normal, above the zero threshold, at most `max_value`, at schema 0 or
    /// above. One comparison: NaN, infinite and negative values are out of range too.
    #[inline(always)]
    pub(super) fn on_fast_path(&self, bits: u64) -> bool {
        bits.wrapping_sub(self.fast_start) < self.fast_span
    }

    /// Counts the value with these bits, which are [on the fast path](Self::on_fast_path),
    /// in `stripe` (the calling thread's).
    #[inline(always)]
    pub(super) fn add_fast(&self, bits: u64, stripe: usize) {
        let table = self.table_or_make();
        let (page, offset) = self.fast_place(bits);
        self.count(table, 1 + page, offset, stripe);
    }

    /// The page (counted from the first) and the place in it of the value with these
    /// bits, [on the fast path](Self::on_fast_path); only once the table is made (which
    /// sets the steps).
    #[inline(always)]
    fn fast_place(&self, bits: u64) -> (usize, usize) {
        debug_assert!(self.on_fast_path(bits));
        // Positive, normal, above the zero threshold, at schema 0 or above: the power of
        // two `(2^e, 2^(e+1)]` holding the value is the exponent of the float just below
        // it, and the bucket within it comes from the mantissa: bucket `j` of
        // `1..=per_page`, or 0 for `2^e` itself, which is the last bucket of the power of
        // two below.
        let page = ((bits - 1) >> 52) as i32 - i32::from(self.exponent_base);
        let step = schema::step(bits & ((1 << 52) - 1), self.steps());
        let offset = (step as usize).wrapping_sub(1) & usize::from(self.offset_mask);
        // No bounds check: the fast path's values lie from just above the zero
        // threshold (on the first page) to `max_value` (on the last), as
        // `fast_path_places_every_value_as_its_key_does` checks at the edges.
        debug_assert!((0..self.pages as i32).contains(&page), "page {page}");
        (page as usize, offset)
    }

    /// [`add`](Self::add) off the fast path: zero, negative, subnormal, or below schema 0.
    #[cold]
    fn add_other(&self, value: f64, stripe: usize) {
        let table = self.table_or_make();
        let magnitude = value.abs();
        if magnitude <= self.zero_threshold {
            return self.count(table, 0, 0, stripe);
        }
        let (page, offset) = self.page_and_offset(magnitude);
        // Values come from inside the range the table was made for; the clamp only
        // keeps an index in bounds.
        let page = (page - self.first_page()).clamp(0, self.pages as i32 - 1) as usize;
        let sign = if value > 0.0 { 0 } else { self.pages as usize };
        self.count(table, 1 + sign + page, offset, stripe);
    }

    #[inline]
    fn table_or_make(&self) -> *mut AtomicPtr<AtomicU64> {
        let table = self.table.load(Acquire);
        if table.is_null() {
            return self.make_table();
        }
        table
    }

    /// Adds one to counter `offset` of the page at `entry` of `table`, in `stripe`'s
    /// copy.
    #[inline(always)]
    fn count(&self, table: *mut AtomicPtr<AtomicU64>, entry: usize, offset: usize, stripe: usize) {
        // SAFETY: the table has `entries()` entries and lives as long as `self`.
        let entry = unsafe { &*table.add(entry) };
        let mut page = entry.load(Acquire);
        if page.is_null() {
            page = self.make_page(entry);
        }
        let copy = stripe << self.stride_shift;
        // SAFETY: a page has a copy of `stride()` counters per stripe (`stripe` is below
        // `stripes()`); `offset` is below `per_page`, which is at most `stride()`.
        unsafe { &*page.add(copy + offset) }.fetch_add(1, Relaxed);
    }

    /// The page and the place in it of `magnitude`, from its key.
    #[cold]
    fn page_and_offset(&self, magnitude: f64) -> (i32, usize) {
        let key = schema::key(magnitude, self.schema());
        let per_page = i32::from(self.per_page());
        // `per_page` is a power of two: the remainder is a mask, not a division.
        (
            page_number(key, per_page),
            ((key - 1) & (per_page - 1)) as usize,
        )
    }

    /// The step table of the schema (of schema 1 at schema 0 and below, where one bucket
    /// or less spans a power of two and the step is masked away); set with the page
    /// table, so read only after it.
    #[inline]
    fn steps(&self) -> &'static [u64; 512] {
        let steps = self.steps.load(Relaxed);
        // SAFETY: a `&'static` table from `schema::steps`, set before the page table was
        // published (and seen: `Acquire`).
        unsafe { &*steps.cast::<[u64; 512]>() }
    }

    fn table_layout(&self) -> Layout {
        Layout::array::<AtomicPtr<AtomicU64>>(self.entries()).expect("a small table")
    }

    fn page_layout(&self) -> Layout {
        let words = self.stride() * slots::stripes();
        Layout::from_size_align(words * 8, LINE_WORDS * 8).expect("a small page")
    }

    #[cold]
    fn make_table(&self) -> *mut AtomicPtr<AtomicU64> {
        // Published with the table (`Release` below): a thread that sees the table
        // sees the steps.
        let steps = schema::steps(self.schema());
        self.steps
            .store(ptr::from_ref(steps).cast_mut().cast(), Relaxed);
        // Null pointers are zero bytes.
        let fresh = zeroed(self.table_layout()).cast::<AtomicPtr<AtomicU64>>();
        match self
            .table
            .compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire)
        {
            Ok(_) => fresh,
            Err(winner) => {
                // SAFETY: `fresh` was never shared.
                unsafe { alloc::dealloc(fresh.cast(), self.table_layout()) };
                winner
            }
        }
    }

    #[cold]
    fn make_page(&self, entry: &AtomicPtr<AtomicU64>) -> *mut AtomicU64 {
        // Zero bytes are zero counters.
        let fresh = zeroed(self.page_layout()).cast::<AtomicU64>();
        match entry.compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
            Ok(_) => fresh,
            Err(winner) => {
                // SAFETY: `fresh` was never shared.
                unsafe { alloc::dealloc(fresh.cast(), self.page_layout()) };
                winner
            }
        }
    }

    /// The table's entries, if it was made.
    fn table(&self) -> Option<&[AtomicPtr<AtomicU64>]> {
        let table = self.table.load(Acquire);
        // SAFETY: made by `make_table` with `entries()` entries; freed only by `Drop`.
        (!table.is_null()).then(|| unsafe { std::slice::from_raw_parts(table, self.entries()) })
    }

    /// The totals of the page at `entry` over the stripes, if it was made.
    fn page_totals(&self, entry: &AtomicPtr<AtomicU64>, totals: &mut [u64]) -> bool {
        let page = entry.load(Acquire);
        if page.is_null() {
            return false;
        }
        let stride = self.stride();
        // SAFETY: made by `make_page`: `stride()` counters per stripe.
        let page = unsafe { std::slice::from_raw_parts(page, stride * slots::stripes()) };
        totals.fill(0);
        for copy in page.chunks(stride) {
            for (total, count) in totals.iter_mut().zip(copy) {
                *total += count.load(Relaxed);
            }
        }
        true
    }

    /// Every count, read once.
    pub(super) fn read(&self) -> Counts {
        let mut counts = Counts::default();
        let Some(table) = self.table() else {
            return counts;
        };
        let per_page = usize::from(self.per_page());
        let mut totals = vec![0u64; per_page];
        if self.page_totals(&table[0], &mut totals) {
            counts.zero = totals[0];
        }
        let pages = self.pages as usize;
        for (sign, side) in [
            (&mut counts.positive, &table[1..1 + pages]),
            (&mut counts.negative, &table[1 + pages..]),
        ] {
            for (page, entry) in side.iter().enumerate() {
                if !self.page_totals(entry, &mut totals) {
                    continue;
                }
                let number = self.first_page() + page as i32;
                for (offset, &count) in totals.iter().enumerate() {
                    if count != 0 {
                        sign.push((number * per_page as i32 + offset as i32 + 1, count));
                    }
                }
            }
        }
        counts
    }

    /// How many pages are made.
    #[cfg(test)]
    pub(super) fn pages_made(&self) -> usize {
        self.table().map_or(0, |table| {
            table
                .iter()
                .filter(|entry| !entry.load(Relaxed).is_null())
                .count()
        })
    }
}

/// `layout`'s worth of zero bytes.
fn zeroed(layout: Layout) -> *mut u8 {
    // SAFETY: the layouts here are never empty.
    let fresh = unsafe { alloc::alloc_zeroed(layout) };
    if fresh.is_null() {
        alloc::handle_alloc_error(layout);
    }
    fresh
}

impl Drop for Buckets {
    fn drop(&mut self) {
        let Some(table) = self.table() else {
            return;
        };
        for entry in table {
            let page = entry.load(Relaxed);
            if !page.is_null() {
                // SAFETY: made by `make_page` with this layout; `&mut self`.
                unsafe { alloc::dealloc(page.cast(), self.page_layout()) };
            }
        }
        let table = self.table.load(Relaxed);
        // SAFETY: made by `make_table` with this layout; `&mut self`.
        unsafe { alloc::dealloc(table.cast(), self.table_layout()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calling thread's stripe.
    fn stripe() -> usize {
        slots::this_thread().stripe()
    }

    #[test]
    fn counts_land_in_their_bucket_and_pages_are_made_on_use() {
        for schema in [-2, 0, 3, 4, 8] {
            let buckets = Buckets::new(schema, 2f64.powi(-128), 2f64.powi(64));
            assert_eq!(buckets.pages_made(), 0);
            let values = [1.0, 1.0, 1.05, 2.0, 3.0, 1e-30, 2f64.powi(64), 0.0];
            for value in values {
                buckets.add(value, stripe());
            }
            std::thread::scope(|scope| {
                scope.spawn(|| buckets.add(1.0, stripe()));
            });
            let mut expected: Vec<(i32, u64)> = Vec::new();
            for value in [1.0, 1.0, 1.05, 2.0, 3.0, 1e-30, 2f64.powi(64), 1.0] {
                let key = schema::key(value, schema);
                match expected.iter_mut().find(|(k, _)| *k == key) {
                    Some(bucket) => bucket.1 += 1,
                    None => expected.push((key, 1)),
                }
            }
            expected.sort_unstable();
            let counts = buckets.read();
            assert_eq!(counts.positive, expected, "schema {schema}");
            assert_eq!(counts.zero, 1);
            assert!(counts.negative.is_empty());
            assert!(buckets.pages_made() <= 6);
            buckets.add(-1.0, stripe());
            buckets.add(-0.0, stripe());
            let counts = buckets.read();
            assert_eq!(counts.negative, [(0, 1)]);
            assert_eq!(counts.zero, 2);
        }
    }

    #[test]
    fn fast_path_places_every_value_as_its_key_does() {
        let max = 2f64.powi(64);
        for schema in 0..=8 {
            for threshold in [0.0, 2f64.powi(-128), 1e-9, 0.5, 1.0, 3.0] {
                let buckets = Buckets::new(schema, threshold, max);
                buckets.add(1.5, stripe());
                let first = f64::from_bits(buckets.fast_start);
                let mut values = vec![first, f64::MIN_POSITIVE, max, max.next_down()];
                values.extend((0..2000).map(|i| 1.0137f64.powi(i - 1000) * 1.5));
                values.extend((-1022..64).map(|e| 2f64.powi(e)));
                values.extend((-1022..64).map(|e| 2f64.powi(e).next_up()));
                for value in values {
                    if !buckets.on_fast_path(value.to_bits()) {
                        assert!(value <= threshold || value < f64::MIN_POSITIVE);
                        continue;
                    }
                    let (page, offset) = buckets.fast_place(value.to_bits());
                    let (number, key_offset) = buckets.page_and_offset(value);
                    assert!(page < buckets.pages as usize, "{value} at {schema}");
                    assert_eq!(
                        (page as i32 + buckets.first_page(), offset),
                        (number, key_offset),
                        "{value} at schema {schema}, threshold {threshold}"
                    );
                }
                assert!(
                    buckets.on_fast_path(max.to_bits())
                        && !buckets.on_fast_path(max.next_up().to_bits())
                );
                assert!(!buckets.on_fast_path(threshold.to_bits()));
            }
        }
        let coarse = Buckets::new(-1, 0.0, max);
        assert!(!coarse.on_fast_path(1.5f64.to_bits()));
    }

    #[test]
    fn subnormal_values_with_a_zero_threshold_of_zero() {
        let buckets = Buckets::new(3, 0.0, 2f64.powi(64));
        let tiny = f64::from_bits(1);
        buckets.add(tiny, stripe());
        buckets.add(f64::MIN_POSITIVE, stripe());
        buckets.add(0.0, stripe());
        let counts = buckets.read();
        let expected = [
            (schema::key(tiny, 3), 1),
            (schema::key(f64::MIN_POSITIVE, 3), 1),
        ];
        assert_eq!(counts.positive, expected);
        assert_eq!(counts.zero, 1);
    }
}
