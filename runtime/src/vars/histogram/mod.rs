//! [`Histogram`]: a lock-free distribution of durations or sizes, classic or native.

mod buckets;
mod reading;
mod schema;
mod write;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use once_cell::race::OnceBox;

use self::buckets::Buckets;
use self::reading::Reading;
use crate::slots::{self, SlotId, SlotKind};
use crate::vars::exemplar::{ExemplarError, ExemplarSlot};

/// The relative error bound of the quantiles a [`Histogram::new`] reports: 1/32 =
/// 3.125% (the buckets it keeps give 2.2%; see
/// [`Histogram::quantile_relative_error`] for any histogram's own bound).
pub const QUANTILE_RELATIVE_ERROR: f64 = 1.0 / 32.0;

/// The schema a classic histogram ([`Histogram::new`]) keeps its buckets at: 16 per
/// power of two, each at most 4.4% wider than the one before.
const CLASSIC_SCHEMA: i32 = 4;

/// `2^-128`: a bucket bound at every schema, client_golang's default zero threshold.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// A distribution of values such as durations in seconds or sizes in bytes.
///
/// Values are counted in exponential buckets, the layout of Prometheus's native
/// histograms: every power of two is split into `2^schema` buckets whose bounds grow by
/// a constant factor. A value's bucket comes from the bits of its `f64` and one table
/// lookup, so [`record`](Histogram::record) is O(1) with no lock, no search and no
/// allocation once its bucket's page exists: one atomic add in the calling thread's
/// stripe of the buckets (threads running at once count in copies of their own, see
/// [Cost](Histogram#cost)), a plain add to the sum in the thread's own slot (as a
/// [`Counter`](crate::Counter) counts), and a min/max update only when a new extreme
/// arrives.
///
/// Count, sum, min and max are exact. Quantiles (p50, p90, p99, p999) are estimated
/// from the bucket holding the requested rank and clamped to `[min, max]`, within
/// [`quantile_relative_error`](Histogram::quantile_relative_error) of a value actually
/// recorded at that rank: `(γ-1)/(γ+1)` for buckets growing by `γ`, 2.2% for
/// [`Histogram::new`] (16 buckets per power of two), 4.3% for [`Histogram::native`]
/// (8). Values at or below the zero threshold (2^-128 unless set) count as zero.
///
/// # Classic and native
/// [`Histogram::new`] is served at `/metrics` as a classic Prometheus histogram: cumulative
/// `le` buckets, [`DEFAULT_BUCKETS`] unless it was created with
/// [`with_buckets`](Histogram::with_buckets). [`Histogram::native`] is served as a
/// [native histogram](NativeOptions) in the protobuf exposition (with `le` buckets
/// too if it has some, see [`with_classic`](Histogram::with_classic)), and as its
/// classic buckets, or only its count and sum, in the text formats, so nothing that
/// reads text breaks.
///
/// A count at an `le` bound that is a bucket bound (a power of two, or any
/// `2^(k/16)` for [`Histogram::new`]) is exact for every value: buckets are
/// `(lower, upper]`, so a value equal to a bound counts in that bound's `le` bucket, as
/// Prometheus defines it. Another bound is rounded down to the bucket bound below it
/// (within 4.4% for [`Histogram::new`]).
///
/// # Cost
/// 136 bytes inline; nothing more until the first `record`, which allocates the
/// page table: 8 bytes per power of two a value can have, for positive and negative
/// values (3 KiB with the defaults). Each power of two recorded in then gets a page of
/// 128 bytes (16 buckets; `2^schema` counters above schema 4) per stripe, where a
/// stripe is one copy of the counters for a group of threads: there are as many as
/// CPUs (a power of two, at most 16), and threads take them in turn as they first
/// record, so threads that run at once rarely share one and never wait for each
/// other. A latency histogram spanning ten powers of two on a 4-CPU machine costs
/// about 8 KiB at most, whatever the number of threads.
///
/// # Out-of-range values
/// NaN, the infinities and values whose magnitude is above [`Histogram::MAX_VALUE`]
/// (2^64 ≈ 1.8e19) are refused: not counted at all, so one bad value cannot turn the
/// sum, max and mean into infinity or NaN for good (the first refusal in the process
/// is logged with `log::warn!`). A classic histogram records a negative value as `0`; a
/// native one keeps it in its negative buckets, as Prometheus's native histograms do.
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
/// assert!((summary.p50 - 0.050).abs() <= 0.050 * LATENCY.quantile_relative_error());
/// ```
pub struct Histogram {
    buckets: Buckets,
    /// The sum, kept per thread like a [`Counter`](crate::Counter)'s count.
    sum_slot: SlotId,
    /// The sum of values recorded where no per-thread slot is available.
    shared_sum: AtomicU64,
    /// The extremes, as [`ordered`] bits.
    min: AtomicU64,
    max: AtomicU64,
    /// The `le` bounds; for a classic histogram, empty stands for [`DEFAULT_BUCKETS`].
    le: &'static [f64],
    /// `Some` for a native histogram.
    native: Option<NativeOptions>,
    /// The latest exemplar of each bucket, made on the first one.
    exemplars: OnceBox<Box<[ExemplarSlot]>>,
}

/// How a native histogram divides values into buckets, with client_golang's
/// semantics; [`NativeOptions::DEFAULT`] when not given.
///
/// - `bucket_factor`: the largest factor allowed between consecutive bucket bounds. The
///   schema is the coarsest one whose growth factor `2^(2^-schema)` does not exceed it:
///   1.1 gives schema 3 (8 buckets per power of two, factor 1.09); below 1.0027 it is
///   schema 8, above 65536 schema -4.
/// - `zero_threshold`: values whose magnitude is at or below it go to the zero bucket
///   (0 keeps only exact zeros there).
/// - `max_buckets`: when more buckets than this are populated, the resolution served
///   halves (schema − 1, merging neighbouring buckets) until they fit or the schema is
///   -4, as client_golang does; 0 sets no limit. The buckets kept in memory stay at the
///   schema chosen, so `/debug/vars` quantiles keep their precision, and their number
///   is bounded by the range of values a histogram accepts (2^-128 to 2^64: at most
///   1,536 per sign at schema 3).
///
/// ```
/// use expvar::{Histogram, vars::NativeOptions};
///
/// static SIZES: Histogram = Histogram::native_with(NativeOptions {
///     bucket_factor: 1.05, // schema 4
///     max_buckets: 100,
///     ..NativeOptions::DEFAULT
/// });
/// SIZES.record(1500.0);
/// assert_eq!(SIZES.native_options().unwrap().schema(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NativeOptions {
    /// The largest growth factor between consecutive bucket bounds (> 1).
    pub bucket_factor: f64,
    /// Magnitudes at or below it count in the zero bucket (finite, >= 0).
    pub zero_threshold: f64,
    /// The most buckets served before the resolution halves; 0 for no limit.
    pub max_buckets: u32,
}

impl NativeOptions {
    /// Bucket factor 1.1 (schema 3), zero threshold 2^-128, at most 160 buckets.
    pub const DEFAULT: NativeOptions = NativeOptions {
        bucket_factor: 1.1,
        zero_threshold: DEFAULT_ZERO_THRESHOLD,
        max_buckets: 160,
    };

    /// The schema `bucket_factor` picks, from -4 to 8.
    pub const fn schema(&self) -> i32 {
        schema::for_factor(self.bucket_factor)
    }

    /// Panics with a clear message on options that make no sense; in a `static`
    /// that is a compile error.
    const fn check(&self) {
        assert!(
            self.bucket_factor > 1.0,
            "NativeOptions::bucket_factor must be greater than 1"
        );
        assert!(
            self.zero_threshold >= 0.0 && self.zero_threshold <= Histogram::MAX_VALUE,
            "NativeOptions::zero_threshold must be finite and not negative"
        );
    }
}

impl Default for NativeOptions {
    fn default() -> Self {
        NativeOptions::DEFAULT
    }
}

/// The Prometheus `le` bounds of a histogram created with [`Histogram::new`]: every
/// power of two from 2^-12 s (about 244 µs) to 2^4 s (16 s), for durations in seconds.
///
/// Powers of two are bucket bounds of every [`Histogram`], so the cumulative counts
/// are exact (see [Classic and native](Histogram#classic-and-native)).
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

/// `f64` bits that order as the values do, negative ones included.
#[inline]
const fn ordered(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

fn from_ordered(bits: u64) -> f64 {
    if bits >> 63 == 1 {
        f64::from_bits(bits & !(1 << 63))
    } else {
        f64::from_bits(!bits)
    }
}

impl Histogram {
    /// An empty classic histogram. `const`, so it can initialize a `static`.
    pub const fn new() -> Self {
        Histogram::with_buckets(&[])
    }

    /// An empty classic histogram served at `/metrics` with the `le` bounds `buckets`
    /// instead of [`DEFAULT_BUCKETS`]: increasing, finite, in the unit recorded (bounds
    /// that are not are left out). Only the Prometheus output changes; recording is
    /// the same.
    ///
    /// ```
    /// use expvar::Histogram;
    ///
    /// // Response sizes in bytes: 1 KiB to 1 MiB, each a bucket bound.
    /// static RESPONSE_BYTES: Histogram =
    ///     Histogram::with_buckets(&[1024.0, 16384.0, 131072.0, 1048576.0]);
    /// assert_eq!(RESPONSE_BYTES.buckets(), [1024.0, 16384.0, 131072.0, 1048576.0]);
    /// ```
    pub const fn with_buckets(buckets: &'static [f64]) -> Self {
        Histogram::build(buckets, None)
    }

    const fn build(le: &'static [f64], native: Option<NativeOptions>) -> Self {
        let (schema, zero_threshold) = match native {
            Some(options) => (options.schema(), options.zero_threshold),
            None => (CLASSIC_SCHEMA, DEFAULT_ZERO_THRESHOLD),
        };
        Histogram {
            buckets: Buckets::new(schema, zero_threshold, Self::MAX_VALUE),
            sum_slot: SlotId::new(),
            shared_sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            le,
            native,
            exemplars: OnceBox::new(),
        }
    }

    /// An empty native histogram with [`NativeOptions::DEFAULT`]: 8 buckets per power
    /// of two (schema 3), served as a native histogram in the protobuf exposition and
    /// as its count and sum in the text formats (add `le` buckets with
    /// [`with_classic`](Self::with_classic)). `const`, so it can initialize a `static`.
    ///
    /// ```
    /// use expvar::Histogram;
    ///
    /// static LATENCY: Histogram = Histogram::native();
    /// LATENCY.record(0.012);
    /// assert_eq!(LATENCY.count(), 1);
    /// assert!(LATENCY.buckets().is_empty());
    /// ```
    pub const fn native() -> Self {
        Histogram::native_with(NativeOptions::DEFAULT)
    }

    /// An empty native histogram with `options`. Panics if the bucket factor is not
    /// above 1 or the zero threshold is negative or not finite (a compile error in a
    /// `static`).
    pub const fn native_with(options: NativeOptions) -> Self {
        options.check();
        Histogram::build(&[], Some(options))
    }

    /// The same histogram also served with the classic `le` bounds `buckets`, for
    /// scrapers that read no native histograms (anything reading text). Bounds that
    /// are bucket bounds (powers of two, at any schema) count exactly; others are
    /// rounded down to the bucket bound below.
    ///
    /// ```
    /// use expvar::{Histogram, vars::DEFAULT_BUCKETS};
    ///
    /// static LATENCY: Histogram = Histogram::native().with_classic(DEFAULT_BUCKETS);
    /// LATENCY.record(0.003);
    /// let registry = expvar::Registry::new();
    /// registry.publish("latency_seconds", &LATENCY).unwrap();
    /// let text = registry.to_prometheus();
    /// assert!(text.contains("latency_seconds_bucket{le=\"0.00390625\"} 1\n"));
    /// ```
    pub const fn with_classic(mut self, buckets: &'static [f64]) -> Self {
        self.le = buckets;
        self
    }

    /// The native options, for a native histogram.
    pub fn native_options(&self) -> Option<NativeOptions> {
        self.native
    }

    /// The Prometheus `le` bounds: those given to [`with_buckets`](Self::with_buckets)
    /// or [`with_classic`](Self::with_classic), else [`DEFAULT_BUCKETS`] for a classic
    /// histogram and none for a native one.
    pub fn buckets(&self) -> &'static [f64] {
        if self.le.is_empty() && self.native.is_none() {
            DEFAULT_BUCKETS
        } else {
            self.le
        }
    }

    /// The relative error bound of the quantiles this histogram reports: `(γ-1)/(γ+1)`
    /// for buckets growing by `γ`. 2.2% for [`Histogram::new`], 4.3% for
    /// [`Histogram::native`].
    pub fn quantile_relative_error(&self) -> f64 {
        schema::relative_error(self.buckets.schema())
    }

    /// The largest magnitude recorded: 2^64, about 1.8e19 (584 years in nanoseconds).
    /// Larger values are refused (see [Out-of-range values](Histogram#out-of-range-values)),
    /// which keeps the sum finite for any count below 2^64.
    pub const MAX_VALUE: f64 = 18_446_744_073_709_551_616.0;

    /// Records one value; see [Out-of-range values](Histogram#out-of-range-values).
    #[inline(always)]
    pub fn record(&self, value: f64) {
        let bits = value.to_bits();
        // One comparison for the common case (a positive value in range).
        if !self.buckets.on_fast_path(bits) {
            return self.record_other(value);
        }
        // One thread-local read for the stripe and the sum's slot.
        let thread = slots::this_thread();
        self.buckets.add_fast(bits, thread.stripe());
        // Positive: the sign bit set is the order.
        self.count_sum_min_max(thread, value, bits | 1 << 63);
    }

    /// [`record`](Self::record) of a value off the fast path: zero, negative, tiny,
    /// refused, or in a histogram below schema 0.
    #[cold]
    fn record_other(&self, value: f64) {
        if !accepted(value) {
            return refuse(value);
        }
        // Classic histograms count negative values as 0, native ones keep them.
        let value = if value < 0.0 && self.native.is_none() {
            0.0
        } else {
            value
        };
        let thread = slots::this_thread();
        self.buckets.add(value, thread.stripe());
        self.count_sum_min_max(thread, value, ordered(value));
    }

    /// Adds an accepted value to the sum, the minimum and the maximum (`bits` is
    /// [`ordered`]`(value)`).
    #[inline(always)]
    fn count_sum_min_max(&self, thread: slots::ThreadTable, value: f64, bits: u64) {
        match self.sum_slot.get() {
            Some(id) if thread.add_f64(id, value) => {}
            _ => self.add_sum_slow(value),
        }
        // The plain load skips the atomic when nothing changes.
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

    /// Records `value` and keeps it as the latest exemplar of its bucket, with `labels`
    /// (such as a `trace_id`) and the current time: OpenMetrics shows it on the bucket's
    /// line, the protobuf exposition on the bucket and among the native exemplars.
    ///
    /// Labels must be valid label names with at most
    /// [`MAX_EXEMPLAR_LABEL_CHARS`](crate::vars::MAX_EXEMPLAR_LABEL_CHARS) characters of
    /// names and values together; others are refused (the value is still recorded) and
    /// counted in [`refused_exemplars`](crate::vars::refused_exemplars). A value that
    /// [`record`](Self::record) refuses keeps no exemplar.
    ///
    /// ```
    /// use expvar::Histogram;
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// LATENCY
    ///     .record_with_exemplar(0.3, &[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")])
    ///     .unwrap();
    /// assert!(LATENCY.record_with_exemplar(0.3, &[("trace id", "x")]).is_err());
    /// assert_eq!(LATENCY.count(), 2);
    /// ```
    pub fn record_with_exemplar(
        &self,
        value: f64,
        labels: &[(&str, &str)],
    ) -> Result<(), ExemplarError> {
        self.record(value);
        if !accepted(value) {
            return Ok(());
        }
        let value = if value < 0.0 && self.native.is_none() {
            0.0
        } else {
            value
        };
        let slots = self.exemplars.get_or_init(|| {
            let count = self.exemplar_slots();
            Box::new((0..count).map(|_| ExemplarSlot::default()).collect())
        });
        slots[self.exemplar_slot(value)].keep(labels, value)
    }

    /// [`record_with_exemplar`](Self::record_with_exemplar) of a duration in seconds.
    pub fn record_duration_with_exemplar(
        &self,
        duration: Duration,
        labels: &[(&str, &str)],
    ) -> Result<(), ExemplarError> {
        self.record_with_exemplar(duration.as_secs_f64(), labels)
    }

    /// Exemplars are kept one per `le` bucket (the `+Inf` one included), or, for a
    /// native histogram without `le` bounds, one per power of two of the value
    /// (modulo 16).
    fn exemplar_slots(&self) -> usize {
        match self.buckets().len() {
            0 => 16,
            bounds => bounds + 1,
        }
    }

    fn exemplar_slot(&self, value: f64) -> usize {
        let bounds = self.buckets();
        if bounds.is_empty() {
            let exponent = (value.abs().to_bits() >> 52) as usize;
            exponent % 16
        } else {
            bounds.partition_point(|&bound| bound < value)
        }
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

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.reading().count
    }

    /// Sum of recorded values.
    pub fn sum(&self) -> f64 {
        let shared = f64::from_bits(self.shared_sum.load(Relaxed));
        self.sum_slot
            .get()
            .map_or(shared, |id| shared + slots::sum_f64(id))
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

    /// Values at or below `bound` and all values: the `le` bucket at `bound` and the
    /// `+Inf` bucket `/metrics` would show, so a latency objective counts what
    /// Prometheus counts.
    pub(crate) fn count_at_most(&self, bound: f64) -> (u64, u64) {
        let reading = self.reading();
        let at_most = reading
            .le_buckets(&[bound])
            .first()
            .map_or(0, |&(_, count)| count);
        (at_most, reading.count)
    }

    fn reading(&self) -> Reading {
        Reading::new(
            self.buckets.read(),
            self.buckets.schema(),
            self.buckets.zero_threshold(),
            from_ordered(self.min.load(Relaxed)),
            from_ordered(self.max.load(Relaxed)),
        )
    }
}

/// Whether [`Histogram::record`] counts `value`: a magnitude at most
/// [`Histogram::MAX_VALUE`] (NaN fails the comparison too).
#[inline]
fn accepted(value: f64) -> bool {
    value.abs() <= Histogram::MAX_VALUE
}

/// A value [`Histogram::record`] will not count: NaN, infinite or above the maximum.
#[cold]
fn refuse(value: f64) {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if !LOGGED.swap(true, Relaxed) {
        log::warn!(
            "expvar: a Histogram refused the value {value} (NaN, infinite or beyond ±2^64); \
             such values are not counted (logged once per process)"
        );
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Histogram").field(&self.summary()).finish()
    }
}

#[cfg(test)]
mod tests;
