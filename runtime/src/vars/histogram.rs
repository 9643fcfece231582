//! [`Histogram`]: a lock-free distribution of durations or sizes.

use std::fmt;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering::*};
use std::time::Duration;

use crate::slots::{self, SlotId, SlotKind};
use crate::vars::{Distribution, Var, Writer};

/// Sub-buckets per power of two: 2^4 = 16, for a relative error of at most 1/32.
const SUB_BUCKET_BITS: u32 = 4;
/// The smallest power of two resolved: 2^-30 ≈ 0.93e-9 (about a nanosecond in seconds).
const MIN_EXPONENT: i32 = -30;
/// The largest power of two resolved: 2^40 ≈ 1.1e12 (a terabyte in bytes).
const MAX_EXPONENT: i32 = 40;
const BUCKET_COUNT: usize = ((MAX_EXPONENT - MIN_EXPONENT + 1) as usize) << SUB_BUCKET_BITS;
/// A bucket key is the top bits of an `f64`: its biased exponent and the first
/// [`SUB_BUCKET_BITS`] bits of its mantissa. Keys grow with the value.
const KEY_SHIFT: u32 = 52 - SUB_BUCKET_BITS;
const FIRST_KEY: u64 = ((1023 + MIN_EXPONENT) as u64) << SUB_BUCKET_BITS;
/// `f64::INFINITY.to_bits()`, spelled out for use in a `const fn` on older compilers.
const INFINITY_BITS: u64 = 0x7ff0_0000_0000_0000;

/// The relative error bound of the quantiles a [`Histogram`] reports: 1/32 = 3.125%.
pub const QUANTILE_RELATIVE_ERROR: f64 = 1.0 / 32.0;

type Buckets = [AtomicU64; BUCKET_COUNT];

/// A distribution of non-negative values such as durations in seconds or sizes in bytes.
///
/// Values are counted in log-linear buckets: every power of two from 2^-30 (about a
/// nanosecond) to 2^40 (about a terabyte) is split into 16 equal buckets. A value's
/// bucket comes straight from the bits of its `f64`, so [`record`](Histogram::record)
/// is O(1) with no lock, no search and no allocation: one atomic add on the bucket,
/// a plain add to the sum in the calling thread's own slot (as a [`Counter`](crate::Counter)
/// counts), and a min/max update only when a new extreme arrives.
///
/// Count, sum, min and max are exact. Quantiles (p50, p90, p99, p999) are the middle of
/// the bucket holding the requested rank, clamped to `[min, max]`, so they are within
/// [`QUANTILE_RELATIVE_ERROR`] (3.125%) of a value actually recorded at that rank, for
/// values inside the resolved range. Smaller values (zero included) share the first
/// bucket and report as `0`; larger ones share the last.
///
/// # Prometheus buckets
/// `/metrics` serves a histogram as cumulative `le` buckets: [`DEFAULT_BUCKETS`] unless
/// it was created with [`with_buckets`](Histogram::with_buckets). A count at a bound
/// that is a bucket boundary here (a power of two, or `2^e * (1 + m/16)`) is exact for
/// every value: buckets are `(lower, upper]`, so a value equal to a bound counts in that
/// bound's `le` bucket, as Prometheus defines it. Another bound is rounded down to the
/// boundary below it, within 1/16 of the bound.
///
/// # Cost
/// 56 bytes inline. The 1,136 buckets (9 KiB) are allocated on the first `record`, so a
/// histogram that never records costs 56 bytes; each thread that records adds an 8-byte
/// slot for its share of the sum, as for a counter.
///
/// # Out-of-range values
/// Negative values are recorded as `0`. NaN, the infinities and values above
/// [`Histogram::MAX_VALUE`] (2^64 ≈ 1.8e19) are refused: not counted at all, so one
/// bad value cannot turn the sum, max and mean into infinity or NaN for good (the first
/// refusal in the process is logged with `log::warn!`).
///
/// ```
/// let histogram = expvar::Histogram::new();
/// histogram.record(f64::INFINITY);
/// histogram.record(f64::NAN);
/// histogram.record(2.0);
/// let summary = histogram.summary();
/// assert_eq!((summary.count, summary.sum, summary.max), (1, 2.0, 2.0));
/// ```
///
///
/// ```
/// use std::time::Duration;
/// use expvar::Histogram;
///
/// static LATENCY: Histogram = Histogram::new();
///
/// for ms in 1..=100 {
///     LATENCY.record_duration(Duration::from_millis(ms));
/// }
/// let summary = LATENCY.summary();
/// assert_eq!(summary.count, 100);
/// assert_eq!(summary.min, 0.001);
/// assert_eq!(summary.max, 0.1);
/// assert!((summary.p50 - 0.050).abs() <= 0.050 * expvar::vars::QUANTILE_RELATIVE_ERROR);
/// ```
pub struct Histogram {
    /// Null until the first record.
    buckets: AtomicPtr<Buckets>,
    /// The sum, kept per thread like a [`Counter`](crate::Counter)'s count: under
    /// contention a shared compare-and-swap would retry, and drag `min`/`max` with it.
    sum_slot: SlotId,
    /// The sum of values recorded where no per-thread slot is available.
    shared_sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    /// The Prometheus `le` bounds; empty for [`DEFAULT_BUCKETS`].
    le: &'static [f64],
}

/// The Prometheus `le` bounds of a histogram created with [`Histogram::new`]: every
/// power of two from 2^-12 s (about 244 µs) to 2^4 s (16 s), for durations in seconds.
///
/// Powers of two are bucket boundaries of [`Histogram`], so the cumulative counts are
/// exact (see [Prometheus buckets](Histogram#prometheus-buckets)).
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.000_244_140_625,
    0.000_488_281_25,
    0.000_976_562_5,
    0.001_953_125,
    0.003_906_25,
    0.007_812_5,
    0.015_625,
    0.031_25,
    0.062_5,
    0.125,
    0.25,
    0.5,
    1.0,
    2.0,
    4.0,
    8.0,
    16.0,
];

/// A point-in-time reading of a [`Histogram`].
///
/// All fields are `0` when nothing has been recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramSummary {
    /// Number of recorded values.
    pub count: u64,
    /// Sum of recorded values.
    pub sum: f64,
    /// Smallest recorded value.
    pub min: f64,
    /// Largest recorded value.
    pub max: f64,
    /// `sum / count`.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
}

impl Histogram {
    /// An empty histogram. `const`, so it can initialize a `static`.
    pub const fn new() -> Self {
        Histogram::with_buckets(&[])
    }

    /// An empty histogram served at `/metrics` with the `le` bounds `buckets` instead of
    /// [`DEFAULT_BUCKETS`]: increasing, finite, in the unit recorded (bounds that are
    /// not are left out). Only the Prometheus output changes; recording is the same.
    ///
    /// ```
    /// use expvar::Histogram;
    ///
    /// // Response sizes in bytes: 1 KiB to 1 MiB, each a bucket boundary.
    /// static RESPONSE_BYTES: Histogram =
    ///     Histogram::with_buckets(&[1024.0, 16384.0, 131072.0, 1048576.0]);
    /// assert_eq!(RESPONSE_BYTES.buckets(), [1024.0, 16384.0, 131072.0, 1048576.0]);
    /// ```
    pub const fn with_buckets(buckets: &'static [f64]) -> Self {
        Histogram {
            buckets: AtomicPtr::new(ptr::null_mut()),
            sum_slot: SlotId::new(),
            shared_sum: AtomicU64::new(0),
            min: AtomicU64::new(INFINITY_BITS),
            max: AtomicU64::new(0),
            le: buckets,
        }
    }

    /// The Prometheus `le` bounds: those given to [`with_buckets`](Self::with_buckets),
    /// or [`DEFAULT_BUCKETS`].
    pub fn buckets(&self) -> &'static [f64] {
        if self.le.is_empty() {
            DEFAULT_BUCKETS
        } else {
            self.le
        }
    }

    /// The largest value recorded: 2^64, about 1.8e19 (584 years in nanoseconds).
    /// Larger values are refused (see [Out-of-range values](Histogram#out-of-range-values)),
    /// which keeps the sum finite for any count below 2^64.
    pub const MAX_VALUE: f64 = 18_446_744_073_709_551_616.0;

    /// Records one value; see [Out-of-range values](Histogram#out-of-range-values).
    #[inline]
    pub fn record(&self, value: f64) {
        let value = if (0.0..=Self::MAX_VALUE).contains(&value) {
            value
        } else if value < 0.0 && value.is_finite() {
            0.0
        } else {
            refuse(value);
            return;
        };
        self.counts()[bucket_index(value)].fetch_add(1, Relaxed);
        match self.sum_slot.get() {
            Some(id) if slots::add_f64(id, value) => {}
            _ => self.add_sum_slow(value),
        }
        // For non-negative floats the bit patterns order like the values, so integer
        // min/max work; the plain load skips the atomic when nothing changes.
        let bits = value.to_bits();
        if bits < self.min.load(Relaxed) {
            self.min.fetch_min(bits, Relaxed);
        }
        if bits > self.max.load(Relaxed) {
            self.max.fetch_max(bits, Relaxed);
        }
    }

    /// Records a duration in seconds.
    #[inline]
    pub fn record_duration(&self, duration: Duration) {
        self.record(duration.as_secs_f64());
    }

    #[inline]
    fn counts(&self) -> &Buckets {
        let buckets = self.buckets.load(Acquire);
        if buckets.is_null() {
            return self.allocate_buckets();
        }
        // SAFETY: once set, the pointer stays valid until `self` is dropped.
        unsafe { &*buckets }
    }

    #[cold]
    fn allocate_buckets(&self) -> &Buckets {
        let fresh = Box::into_raw(Box::new([const { AtomicU64::new(0) }; BUCKET_COUNT]));
        match self
            .buckets
            .compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire)
        {
            // SAFETY: just installed; lives as long as `self`.
            Ok(_) => unsafe { &*fresh },
            Err(winner) => {
                // SAFETY: `fresh` was never shared; `winner` lives as long as `self`.
                unsafe {
                    drop(Box::from_raw(fresh));
                    &*winner
                }
            }
        }
    }

    fn bucket_counts(&self) -> Option<&Buckets> {
        // SAFETY: as in `counts`.
        unsafe { self.buckets.load(Acquire).as_ref() }
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.bucket_counts()
            .map_or(0, |buckets| buckets.iter().map(|b| b.load(Relaxed)).sum())
    }

    /// Sum of recorded values.
    pub fn sum(&self) -> f64 {
        let shared = f64::from_bits(self.shared_sum.load(Relaxed));
        self.sum_slot
            .get()
            .map_or(shared, |id| shared + slots::sum_f64(id))
    }

    #[cold]
    fn add_sum_slow(&self, value: f64) {
        match self.sum_slot.get_or_assign(SlotKind::Sum) {
            Some(id) if slots::add_f64(id, value) => {}
            _ => {
                // `fetch_update` retries until no other thread changed the sum in between.
                let _ = self.shared_sum.fetch_update(Relaxed, Relaxed, |sum| {
                    Some((f64::from_bits(sum) + value).to_bits())
                });
            }
        }
    }

    /// The value at quantile `q` (from 0.0 to 1.0), or `0.0` if nothing was recorded.
    pub fn quantile(&self, q: f64) -> f64 {
        self.reading().quantile(q)
    }

    /// Count, sum, min, max, mean and the p50/p90/p99/p999 quantiles, read together.
    pub fn summary(&self) -> HistogramSummary {
        let reading = self.reading();
        let count = reading.count;
        if count == 0 {
            return HistogramSummary {
                count: 0,
                sum: 0.0,
                min: 0.0,
                max: 0.0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p999: 0.0,
            };
        }
        let sum = self.sum();
        HistogramSummary {
            count,
            sum,
            min: reading.min,
            max: reading.max,
            mean: sum / count as f64,
            p50: reading.quantile(0.5),
            p90: reading.quantile(0.9),
            p99: reading.quantile(0.99),
            p999: reading.quantile(0.999),
        }
    }

    /// Values at or below `bound` and all values, read in one pass: the `le` bucket at
    /// `bound` and the `+Inf` bucket `/metrics` would show, so a latency objective
    /// counts what Prometheus counts. Allocates nothing.
    pub(crate) fn count_at_most(&self, bound: f64) -> (u64, u64) {
        let Some(buckets) = self.bucket_counts() else {
            return (0, 0);
        };
        let (mut at_most, mut total) = (0, 0);
        for (index, count) in buckets.iter().enumerate() {
            let count = count.load(Relaxed);
            total += count;
            // As in `le_buckets`: a bucket is under the bound when its upper end is.
            if bucket_upper_bound(index) <= bound {
                at_most += count;
            }
        }
        (at_most, total)
    }

    fn reading(&self) -> Reading {
        let counts: Vec<u64> = self
            .bucket_counts()
            .map_or_else(Vec::new, |b| b.iter().map(|c| c.load(Relaxed)).collect());
        Reading {
            count: counts.iter().sum(),
            counts,
            min: f64::from_bits(self.min.load(Relaxed)),
            max: f64::from_bits(self.max.load(Relaxed)),
        }
    }
}

/// A value [`Histogram::record`] will not count: NaN, infinite or above the maximum.
#[cold]
fn refuse(value: f64) {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if !LOGGED.swap(true, Relaxed) {
        log::warn!(
            "expvar: a Histogram refused the value {value} (NaN, infinite or above 2^64); \
             such values are not counted (logged once per process)"
        );
    }
}

/// Bucket counts read once, so that several quantiles agree with each other.
struct Reading {
    counts: Vec<u64>,
    count: u64,
    min: f64,
    max: f64,
}

impl Reading {
    /// Cumulative counts at `bounds` (increasing), so the last never exceeds `count`.
    fn le_buckets(&self, bounds: &[f64]) -> Vec<(f64, u64)> {
        let mut buckets = Vec::with_capacity(bounds.len());
        let mut count = 0;
        let mut next = 0;
        for (index, &in_bucket) in self.counts.iter().enumerate() {
            // Close every bound below this bucket's upper end: the bucket is not in it.
            let upper = bucket_upper_bound(index);
            while next < bounds.len() && upper > bounds[next] {
                buckets.push((bounds[next], count));
                next += 1;
            }
            count += in_bucket;
        }
        buckets.extend(bounds[next..].iter().map(|&bound| (bound, count)));
        buckets
    }

    fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        // The 1-based rank of the value at quantile q.
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        // The extremes are tracked exactly.
        if rank == 1 {
            return self.min;
        }
        if rank >= self.count {
            return self.max;
        }
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return bucket_midpoint(index).clamp(self.min, self.max);
            }
        }
        // Buckets were read after `count` moved on: the rank is at the top.
        self.max
    }
}

#[inline]
fn bucket_index(value: f64) -> usize {
    // `bits - 1`: a value exactly on a boundary belongs to the bucket below it, so
    // buckets are `(lower, upper]` and a count "at or below" a boundary (Prometheus's
    // `le`) is exact.
    let key = value.to_bits().saturating_sub(1) >> KEY_SHIFT;
    (key.saturating_sub(FIRST_KEY) as usize).min(BUCKET_COUNT - 1)
}

fn bucket_lower_bound(index: usize) -> f64 {
    f64::from_bits((FIRST_KEY + index as u64) << KEY_SHIFT)
}

fn bucket_upper_bound(index: usize) -> f64 {
    if index + 1 == BUCKET_COUNT {
        f64::INFINITY
    } else {
        bucket_lower_bound(index + 1)
    }
}

fn bucket_midpoint(index: usize) -> f64 {
    match index {
        // Everything below the resolved range, zero included.
        0 => 0.0,
        // Everything above it: the bound is the best estimate; `max` clamps it.
        _ if index + 1 == BUCKET_COUNT => bucket_lower_bound(index),
        _ => (bucket_lower_bound(index) + bucket_upper_bound(index)) / 2.0,
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Drop for Histogram {
    fn drop(&mut self) {
        let buckets = *self.buckets.get_mut();
        if !buckets.is_null() {
            // SAFETY: allocated by `allocate_buckets`; `&mut self` means no other user.
            drop(unsafe { Box::from_raw(buckets) });
        }
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Histogram").field(&self.summary()).finish()
    }
}

fn is_increasing_and_finite(bounds: &[f64]) -> bool {
    bounds.iter().all(|bound| bound.is_finite()) && bounds.windows(2).all(|pair| pair[0] < pair[1])
}

/// The quantiles a histogram reports: `p50`, `p90`, `p99` and `p999`.
const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

impl Histogram {
    /// Writes the distribution with the `le` bounds `bounds` instead of
    /// [`buckets`](Self::buckets) (`#[expvar(buckets = [..])]` on a derived field).
    pub(crate) fn write_with_bounds(&self, bounds: &[f64], out: Writer<'_>) {
        let reading = self.reading();
        let (min, max) = if reading.count == 0 {
            (0.0, 0.0)
        } else {
            (reading.min, reading.max)
        };
        let buckets = if is_increasing_and_finite(bounds) {
            reading.le_buckets(bounds)
        } else {
            // Documented on `with_buckets`: bounds out of order or not finite are left out.
            let mut kept: Vec<f64> = Vec::with_capacity(bounds.len());
            for &bound in bounds {
                if bound.is_finite() && kept.last().is_none_or(|&last| last < bound) {
                    kept.push(bound);
                }
            }
            reading.le_buckets(&kept)
        };
        out.distribution(&Distribution {
            count: reading.count,
            sum: if reading.count == 0 { 0.0 } else { self.sum() },
            min,
            max,
            buckets: &buckets,
            quantiles: &QUANTILES.map(|q| (q, reading.quantile(q))),
        });
    }
}

impl Writer<'_> {
    /// Writes the distribution a [`Histogram`] recorded: the same as `.var(histogram)`.
    pub fn histogram(self, histogram: &Histogram) {
        self.var(histogram);
    }
}

impl Var for Histogram {
    fn write(&self, out: Writer<'_>) {
        self.write_with_bounds(self.buckets(), out);
    }

    fn __writes_without_locks() -> bool {
        true
    }

    fn __may_block(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_log_linear_and_ordered() {
        assert_eq!(bucket_index(0.0), 0);
        assert_eq!(bucket_index(1e-12), 0);
        assert_eq!(bucket_index(f64::INFINITY), BUCKET_COUNT - 1);
        assert_eq!(bucket_index(1e300), BUCKET_COUNT - 1);
        let mut previous = 0;
        let mut value = 1e-9;
        while value < 1e12 {
            let index = bucket_index(value);
            assert!(index >= previous);
            assert!(bucket_lower_bound(index) < value && value <= bucket_upper_bound(index));
            let error = (bucket_midpoint(index) - value).abs() / value;
            assert!(error <= QUANTILE_RELATIVE_ERROR, "{value}: {error}");
            previous = index;
            value *= 1.01;
        }
        assert_eq!(bucket_lower_bound(bucket_index(1.0)), 0.968_75);
        assert_eq!(bucket_upper_bound(bucket_index(1.0)), 1.0);
        assert_eq!(bucket_lower_bound(bucket_index(1.01)), 1.0);
    }

    #[test]
    fn le_counts_are_exact_at_bucket_boundaries() {
        let cumulative = |histogram: &Histogram, bounds: &[f64]| -> Vec<u64> {
            let reading = histogram.reading();
            let buckets = reading.le_buckets(bounds);
            assert!(buckets
                .iter()
                .zip(bounds)
                .all(|(bucket, bound)| bucket.0 == *bound));
            buckets.into_iter().map(|(_, count)| count).collect()
        };
        let histogram = Histogram::new();
        assert_eq!(cumulative(&histogram, &[1.0]), [0]);
        for value in [0.0, 0.3, 0.5, 0.99, 1.0, 1.01, 1.5, 3.0, 1e18] {
            histogram.record(value);
        }
        // `(lower, upper]` buckets: a value equal to a bound counts at that bound.
        assert_eq!(
            cumulative(&histogram, &[0.25, 0.5, 1.0, 2.0, 1e6]),
            [1, 3, 5, 7, 8]
        );
        assert_eq!(histogram.reading().count, 9);
        // 1.03 is not a boundary: rounded down to 1.0.
        assert_eq!(cumulative(&histogram, &[1.03]), [5]);
        assert_eq!(Histogram::new().buckets(), DEFAULT_BUCKETS);
        // What a latency objective reads: the same counts, in one pass.
        for (bound, expected) in [(0.25, 1), (0.5, 3), (1.0, 5), (1.03, 5), (2.0, 7)] {
            assert_eq!(histogram.count_at_most(bound), (expected, 9), "{bound}");
        }
        assert_eq!(Histogram::new().count_at_most(1.0), (0, 0));
        for bound in DEFAULT_BUCKETS {
            assert_eq!(bucket_upper_bound(bucket_index(*bound)), *bound);
        }
    }

    #[test]
    fn exact_count_sum_min_max() {
        let histogram = Histogram::new();
        assert_eq!(histogram.summary().count, 0);
        for value in [3.0, 1.0, 2.0, f64::NAN, -5.0] {
            histogram.record(value);
        }
        let summary = histogram.summary();
        assert_eq!(summary.count, 4);
        assert_eq!(summary.sum, 6.0);
        assert_eq!(summary.min, 0.0);
        assert_eq!(summary.max, 3.0);
        assert_eq!(summary.mean, 1.5);
        assert_eq!(histogram.quantile(1.0), 3.0);
        assert_eq!(histogram.quantile(0.0), 0.0);
    }

    #[test]
    fn non_finite_and_huge_values_do_not_poison_the_summary() {
        let histogram = Histogram::new();
        histogram.record(1.0);
        for refused in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e300, f64::MAX] {
            histogram.record(refused);
        }
        histogram.record(Histogram::MAX_VALUE);
        histogram.record(Histogram::MAX_VALUE);
        histogram.record(-1.0);
        let summary = histogram.summary();
        assert_eq!(summary.count, 4);
        assert_eq!(summary.sum, 1.0 + 2.0 * Histogram::MAX_VALUE);
        assert_eq!(summary.max, Histogram::MAX_VALUE);
        assert_eq!(summary.min, 0.0);
        assert!(summary.mean.is_finite());
        assert_eq!(histogram.quantile(1.0), Histogram::MAX_VALUE);
    }

    #[test]
    fn quantiles_within_the_documented_error() {
        let histogram = Histogram::new();
        for i in 1..=10_000 {
            histogram.record(f64::from(i) * 1e-6);
        }
        for (q, exact) in [
            (0.5, 5_000e-6),
            (0.9, 9_000e-6),
            (0.99, 9_900e-6),
            (0.999, 9_990e-6),
        ] {
            let estimate = histogram.quantile(q);
            assert!(
                (estimate - exact).abs() / exact <= QUANTILE_RELATIVE_ERROR,
                "{q}: {estimate}"
            );
        }
    }
}
