//! [`Distribution`]: a histogram as plain data, the way every encoder receives one.

/// A distribution of observations as plain numbers: what a
/// [`Histogram`](crate::Histogram) hands to the encoders through
/// [`Writer::distribution`](crate::Writer::distribution), and what a type of your own
/// can hand them too.
///
/// `/debug/vars` shows it as an object of its [statistics](Self::for_each_statistic)
/// (`{"count": .., "sum": .., "min": .., "max": .., "mean": .., "p50": .., ...}`);
/// `/metrics` as a Prometheus histogram with the `le` buckets in [`buckets`](Self::buckets);
/// the dashboard charts its statistics.
///
/// ```
/// use expvar::{Registry, Var, Writer, vars::Distribution};
///
/// /// Latencies kept by some other library, as totals per bucket.
/// struct Upstream;
///
/// impl Var for Upstream {
///     fn write(&self, out: Writer<'_>) {
///         out.distribution(&Distribution {
///             count: 4,
///             sum: 0.9,
///             min: 0.05,
///             max: 0.5,
///             buckets: &[(0.1, 2), (1.0, 4)],
///             quantiles: &[(0.5, 0.1)],
///         });
///     }
/// }
///
/// let registry = Registry::new();
/// registry.publish("upstream_seconds", std::sync::Arc::new(Upstream)).unwrap();
/// assert!(registry.to_json().contains(
///     r#""upstream_seconds": {"count": 4, "sum": 0.9, "min": 0.05, "max": 0.5, "mean": 0.225, "p50": 0.1}"#
/// ));
/// assert!(registry.to_prometheus().contains("upstream_seconds_bucket{le=\"0.1\"} 2\n"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distribution<'a> {
    /// How many observations there are.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest (0 when there are none).
    pub min: f64,
    /// The largest (0 when there are none).
    pub max: f64,
    /// Cumulative bucket counts: `(upper bound, observations at or below it)`, bounds
    /// increasing and finite. The `+Inf` bucket is [`count`](Self::count). Pairs that
    /// break the order are left out of `/metrics` (logged once).
    pub buckets: &'a [(f64, u64)],
    /// Quantiles: `(q, value)` with `q` in `0..=1`, shown as `p50`, `p90`, `p999`...
    pub quantiles: &'a [(f64, f64)],
}

/// The native (exponential) buckets of a distribution: the layout of Prometheus's native
/// histograms, which the protobuf exposition at `/metrics` carries. Handed to the
/// encoders beside a [`Distribution`] by
/// [`Writer::distribution_with`](crate::Writer::distribution_with); a
/// [`Histogram::native`](crate::Histogram::native) writes them itself.
///
/// Schema `s` splits every power of two into `2^s` buckets: positive bucket `i` holds
/// the values in `(2^((i-1)/2^s), 2^(i/2^s)]`, negative bucket `i` their negatives.
/// Buckets leave out magnitudes at or below `zero_threshold`, which are in the zero
/// bucket. `/metrics` leaves out native buckets that break these rules (a schema
/// outside -4..=8, indexes not increasing, counts that do not add up to the
/// distribution's count), logged once, and serves the distribution's `le` buckets
/// alone.
///
/// ```
/// use expvar::{Registry, Var, Writer, vars::{Distribution, NativeBuckets}};
///
/// /// Latencies another library keeps in exponential buckets.
/// struct Upstream;
///
/// impl Var for Upstream {
///     fn write(&self, out: Writer<'_>) {
///         let distribution = Distribution {
///             count: 3,
///             sum: 3.5,
///             min: 0.0,
///             max: 2.0,
///             buckets: &[],
///             quantiles: &[],
///         };
///         let native = NativeBuckets {
///             schema: 0,
///             zero_threshold: 0.0,
///             zero_count: 1,
///             positive: &[(1, 1), (2, 1)], // (1, 2] and (2, 4]
///             negative: &[],
///         };
///         out.distribution_with(&distribution, Some(&native), &[]);
///     }
/// }
///
/// let registry = Registry::new();
/// registry.publish("upstream_seconds", std::sync::Arc::new(Upstream)).unwrap();
/// // Text has no native buckets: the count and the sum.
/// assert!(registry.to_prometheus().contains("upstream_seconds_count 3\n"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NativeBuckets<'a> {
    /// 2^schema buckets per power of two, from -4 to 8.
    pub schema: i32,
    /// Magnitudes at or below it are counted in the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Positive buckets with observations: `(index, count)`, indexes increasing.
    pub positive: &'a [(i32, u64)],
    /// Negative buckets with observations: `(index, count)`, indexes increasing.
    pub negative: &'a [(i32, u64)],
}

impl NativeBuckets<'_> {
    /// Whether the buckets follow the rules above, for a distribution of `count`.
    pub(crate) fn is_valid_for(&self, count: u64) -> bool {
        let increasing = |buckets: &[(i32, u64)]| buckets.windows(2).all(|w| w[0].0 < w[1].0);
        let total = self
            .positive
            .iter()
            .chain(self.negative)
            .try_fold(self.zero_count, |total, &(_, n)| total.checked_add(n));
        (-4..=8).contains(&self.schema)
            && self.zero_threshold >= 0.0
            && self.zero_threshold.is_finite()
            && increasing(self.positive)
            && increasing(self.negative)
            && total == Some(count)
    }
}

/// What one of a distribution's statistics measures, which decides how it is charted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// The number of observations: only goes up.
    Count,
    /// The sum of observations: only goes up for non-negative observations.
    Sum,
    /// A value on the observations' own scale: min, max, mean or a quantile.
    Value,
}

impl Distribution<'_> {
    /// `sum / count`, or 0 with no observations.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// Visits the statistics in the order `/debug/vars` writes them: `count`, `sum`,
    /// `min`, `max`, `mean`, then each quantile as `p` and its digits (`p50`, `p999`).
    /// The one place the JSON shape of a distribution is decided.
    pub fn for_each_statistic(&self, mut visit: impl FnMut(&str, Statistic, f64)) {
        visit("count", Statistic::Count, self.count as f64);
        visit("sum", Statistic::Sum, self.sum);
        visit("min", Statistic::Value, self.min);
        visit("max", Statistic::Value, self.max);
        visit("mean", Statistic::Value, self.mean());
        let mut name = String::with_capacity(8);
        for &(q, value) in self.quantiles {
            quantile_name(&mut name, q);
            visit(&name, Statistic::Value, value);
        }
    }
}

/// `p` and the digits of `q` after the point, at least two: 0.5 -> `p50`,
/// 0.999 -> `p999`, 0.05 -> `p05`; 1 -> `p100`.
fn quantile_name(out: &mut String, q: f64) {
    out.clear();
    out.push('p');
    if q >= 1.0 {
        out.push_str("100");
        return;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format(q.max(0.0));
    let digits = text.split_once('.').map_or("0", |(_, fraction)| fraction);
    out.push_str(digits);
    if digits.len() == 1 {
        out.push('0');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_names() {
        let mut name = String::new();
        for (q, expected) in [
            (0.5, "p50"),
            (0.9, "p90"),
            (0.99, "p99"),
            (0.999, "p999"),
            (0.05, "p05"),
            (0.25, "p25"),
            (1.0, "p100"),
        ] {
            quantile_name(&mut name, q);
            assert_eq!(name, expected);
        }
    }
}
