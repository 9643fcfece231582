//! How a [`Histogram`] writes itself: a [`Distribution`], its native buckets when it is
//! served as a native histogram, and its exemplars.

use std::borrow::Cow;

use super::{Histogram, NativeOptions};
use crate::vars::exemplar::OwnedExemplar;
use crate::vars::{Distribution, Exemplar, NativeBuckets, Var, Writer};

/// The quantiles a histogram reports: `p50`, `p90`, `p99` and `p999`.
const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

/// `bounds` without those that break the order or are not finite (documented on
/// `with_buckets`).
fn valid_bounds(bounds: &[f64]) -> Cow<'_, [f64]> {
    let valid = bounds.iter().all(|bound| bound.is_finite())
        && bounds.windows(2).all(|pair| pair[0] < pair[1]);
    if valid {
        return Cow::Borrowed(bounds);
    }
    let mut kept: Vec<f64> = Vec::with_capacity(bounds.len());
    for &bound in bounds {
        if bound.is_finite() && kept.last().is_none_or(|&last| last < bound) {
            kept.push(bound);
        }
    }
    Cow::Owned(kept)
}

impl Histogram {
    /// Writes the distribution with the `le` bounds `bounds` instead of
    /// [`buckets`](Self::buckets) (`#[expvar(buckets = [..])]` on a derived field), and
    /// its native buckets if it is a native histogram.
    pub(crate) fn write_with_bounds(&self, bounds: &[f64], out: Writer<'_>) {
        self.write_as(bounds, self.native, out);
    }

    /// Writes the histogram as a native one (`#[expvar(native)]`, `#[timed(native)]`):
    /// with its own options if it is native, else with [`NativeOptions::DEFAULT`]; its
    /// `le` bounds are `bounds`, or its own.
    pub(crate) fn write_native(&self, bounds: Option<&[f64]>, out: Writer<'_>) {
        let options = self.native.unwrap_or(NativeOptions::DEFAULT);
        self.write_as(bounds.unwrap_or(self.buckets()), Some(options), out);
    }

    fn write_as(&self, bounds: &[f64], native: Option<NativeOptions>, out: Writer<'_>) {
        let reading = self.reading();
        let buckets = reading.le_buckets(&valid_bounds(bounds));
        let distribution = Distribution {
            count: reading.count,
            sum: if reading.count == 0 { 0.0 } else { self.sum() },
            min: reading.min,
            max: reading.max,
            buckets: &buckets,
            quantiles: &QUANTILES.map(|q| (q, reading.quantile(q))),
        };
        let native = native.map(|options| reading.native(options.schema(), options.max_buckets));
        let native = native.as_ref().map(|native| NativeBuckets {
            schema: native.schema,
            zero_threshold: reading.zero_threshold,
            zero_count: reading.zero,
            positive: &native.positive,
            negative: &native.negative,
        });
        let kept = self.kept_exemplars();
        let pairs: Vec<Vec<(&str, &str)>> = kept.iter().map(OwnedExemplar::pairs).collect();
        let exemplars: Vec<Exemplar<'_>> = kept
            .iter()
            .zip(&pairs)
            .map(|(exemplar, pairs)| exemplar.as_exemplar(pairs))
            .collect();
        out.distribution_with(&distribution, native.as_ref(), &exemplars);
    }

    /// The exemplars kept, by increasing value.
    pub(super) fn kept_exemplars(&self) -> Vec<OwnedExemplar> {
        let Some(slots) = self.exemplars.get() else {
            return Vec::new();
        };
        let mut kept: Vec<OwnedExemplar> = slots.iter().filter_map(|slot| slot.read()).collect();
        kept.sort_by(|a, b| a.value.total_cmp(&b.value));
        kept
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
