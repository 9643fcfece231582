//! A histogram's buckets read once, and everything computed from them: quantiles,
//! cumulative `le` counts and the native buckets at the schema exposed.

use super::buckets::Counts;
use super::schema::{self, MIN_SCHEMA};

/// Bucket counts read once, so that every figure computed from them agrees.
#[derive(Debug, Default)]
pub(super) struct Reading {
    pub(super) schema: i32,
    pub(super) zero_threshold: f64,
    pub(super) zero: u64,
    /// Positive buckets with counts, keys increasing.
    pub(super) positive: Vec<(i32, u64)>,
    /// Negative buckets with counts, keys (magnitudes) increasing.
    pub(super) negative: Vec<(i32, u64)>,
    pub(super) count: u64,
    pub(super) min: f64,
    pub(super) max: f64,
}

/// Native buckets at the schema exposed, owned.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Native {
    pub(super) schema: i32,
    pub(super) positive: Vec<(i32, u64)>,
    pub(super) negative: Vec<(i32, u64)>,
}

impl Reading {
    /// The figures of `counts`, kept at `schema`, with the extremes kept beside them.
    pub(super) fn new(
        counts: Counts,
        schema: i32,
        zero_threshold: f64,
        min: f64,
        max: f64,
    ) -> Reading {
        let mut reading = Reading {
            schema,
            zero_threshold,
            zero: counts.zero,
            positive: counts.positive,
            negative: counts.negative,
            count: 0,
            min,
            max,
        };
        reading.count = reading.zero
            + reading
                .positive
                .iter()
                .map(|&(_, count)| count)
                .sum::<u64>()
            + reading
                .negative
                .iter()
                .map(|&(_, count)| count)
                .sum::<u64>();
        if reading.count == 0 {
            reading.min = 0.0;
            reading.max = 0.0;
        }
        reading
    }

    /// Every bucket from the lowest value to the highest, as `(upper end, count)`: the
    /// negative buckets by decreasing magnitude, the zero bucket (at 0), the positive.
    fn ordered(&self) -> impl Iterator<Item = (f64, u64, Estimate)> + '_ {
        let schema = self.schema;
        let negative = self.negative.iter().rev().map(move |&(key, count)| {
            (
                -schema::upper_bound(key - 1, schema),
                count,
                Estimate::Negative(key),
            )
        });
        let zero = (self.zero > 0).then_some((0.0, self.zero, Estimate::Zero));
        let positive = self.positive.iter().map(move |&(key, count)| {
            (
                schema::upper_bound(key, schema),
                count,
                Estimate::Positive(key),
            )
        });
        negative.chain(zero).chain(positive)
    }

    /// The value at quantile `q` (0 to 1): the extremes exactly, others estimated from
    /// their bucket within [`schema::relative_error`], clamped to `[min, max]`.
    pub(super) fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        // The 1-based rank of the value at quantile q.
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        if rank == 1 {
            return self.min;
        }
        if rank >= self.count {
            return self.max;
        }
        let mut seen = 0;
        for (_, count, estimate) in self.ordered() {
            seen += count;
            if seen >= rank {
                let value = match estimate {
                    Estimate::Negative(key) => -schema::estimate(key, self.schema),
                    Estimate::Zero => 0.0,
                    Estimate::Positive(key) => schema::estimate(key, self.schema),
                };
                return value.clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// Cumulative counts at `bounds` (increasing and finite): a bucket counts at a
    /// bound when it ends at or below it, so a bound between two bucket bounds is
    /// rounded down to the one below it, and one that is a bucket bound is exact.
    pub(super) fn le_buckets(&self, bounds: &[f64]) -> Vec<(f64, u64)> {
        let mut buckets = Vec::with_capacity(bounds.len());
        let mut count = 0;
        let mut next = 0;
        for (upper, in_bucket, _) in self.ordered() {
            while next < bounds.len() && upper > bounds[next] {
                buckets.push((bounds[next], count));
                next += 1;
            }
            count += in_bucket;
        }
        buckets.extend(bounds[next..].iter().map(|&bound| (bound, count)));
        buckets
    }

    /// The native buckets at `schema` at most, coarser still while more than
    /// `max_buckets` (0: no limit) are populated, as client_golang halves its
    /// resolution; never coarser than schema -4.
    pub(super) fn native(&self, schema: i32, max_buckets: u32) -> Native {
        let mut native = Native {
            schema: self.schema,
            positive: self.positive.clone(),
            negative: self.negative.clone(),
        };
        let over = |native: &Native| {
            max_buckets > 0 && native.positive.len() + native.negative.len() > max_buckets as usize
        };
        while native.schema > MIN_SCHEMA && (native.schema > schema || over(&native)) {
            native.schema -= 1;
            halve(&mut native.positive);
            halve(&mut native.negative);
        }
        native
    }
}

/// How a bucket's values are estimated.
#[derive(Debug, Clone, Copy)]
enum Estimate {
    Negative(i32),
    Zero,
    Positive(i32),
}

/// Merges buckets `2j - 1` and `2j` into `j`: the same counts at half the resolution.
fn halve(buckets: &mut Vec<(i32, u64)>) {
    let mut merged: Vec<(i32, u64)> = Vec::with_capacity(buckets.len());
    for &(key, count) in buckets.iter() {
        let key = schema::coarser(key, 1);
        match merged.last_mut() {
            Some(last) if last.0 == key => last.1 += count,
            _ => merged.push((key, count)),
        }
    }
    *buckets = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(values: &[f64], schema: i32) -> Reading {
        let mut reading = Reading {
            schema,
            zero_threshold: 2f64.powi(-128),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            count: values.len() as u64,
            ..Reading::default()
        };
        let add = |buckets: &mut Vec<(i32, u64)>, key: i32| {
            match buckets.iter_mut().find(|(k, _)| *k == key) {
                Some(bucket) => bucket.1 += 1,
                None => buckets.push((key, 1)),
            }
            buckets.sort_unstable();
        };
        for &value in values {
            if value.abs() <= reading.zero_threshold {
                reading.zero += 1;
            } else if value > 0.0 {
                add(&mut reading.positive, schema::key(value, schema));
            } else {
                add(&mut reading.negative, schema::key(-value, schema));
            }
        }
        reading
    }

    #[test]
    fn quantiles_walk_from_the_most_negative_value() {
        let reading = reading(&[-8.0, -1.0, 0.0, 0.0, 1.0, 2.0, 4.0, 1000.0], 3);
        assert_eq!(reading.quantile(0.0), -8.0);
        let tolerance = schema::relative_error(3) * (1.0 + 1e-9);
        let near = |estimate: f64, value: f64| (estimate - value).abs() <= value.abs() * tolerance;
        assert!(
            near(reading.quantile(0.25), -1.0),
            "{}",
            reading.quantile(0.25)
        );
        assert_eq!(reading.quantile(0.5), 0.0);
        assert!(near(reading.quantile(0.75), 2.0));
        assert_eq!(reading.quantile(1.0), 1000.0);
    }

    #[test]
    fn le_counts_are_exact_at_bucket_bounds_and_rounded_down_between() {
        let reading = reading(&[-1.0, 0.0, 0.5, 1.0, 1.01, 2.0, 3.0], 3);
        assert_eq!(
            reading.le_buckets(&[-2.0, -1.0, 0.0, 1.0, 2.0, 4.0]),
            [(-2.0, 0), (-1.0, 0), (0.0, 2), (1.0, 4), (2.0, 6), (4.0, 7)]
        );
        // A negative bucket holds its lower end: a negative bound is rounded down too.
        // 1.03 is inside the bucket (1, 1.09]: rounded down to 1.
        assert_eq!(reading.le_buckets(&[1.03]), [(1.03, 4)]);
        assert_eq!(reading.le_buckets(&[]), []);
    }

    #[test]
    fn the_resolution_halves_until_the_buckets_fit() {
        // 40 values a power of two apart: 40 buckets at every schema down to 0, then
        // each halving merges pairs.
        let values: Vec<f64> = (0..40).map(|e| 2f64.powi(e - 20) * 1.5).collect();
        let reading = reading(&values, 3);
        let native = reading.native(3, 160);
        assert_eq!((native.schema, native.positive.len()), (3, 40));
        let native = reading.native(3, 20);
        assert_eq!((native.schema, native.positive.len()), (-1, 20));
        assert_eq!(native.positive.iter().map(|b| b.1).sum::<u64>(), 40);
        // A lower schema asked for is honoured first; -4 is the floor.
        assert_eq!(reading.native(1, 0).schema, 1);
        let floor = reading.native(3, 1);
        assert_eq!(floor.schema, MIN_SCHEMA);
        assert_eq!(floor.positive.len(), 4);
        // Halving keeps each value inside its merged bucket.
        for &value in &values {
            let key = schema::key(value, native.schema);
            assert!(native.positive.iter().any(|&(k, _)| k == key));
        }
    }
}
