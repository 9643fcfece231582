use super::*;
use crate::vars::NativeOptions;

fn le(histogram: &Histogram, bounds: &[f64]) -> Vec<u64> {
    histogram
        .reading()
        .le_buckets(bounds)
        .into_iter()
        .map(|(_, count)| count)
        .collect()
}

#[test]
fn le_counts_are_exact_at_bucket_bounds() {
    let histogram = Histogram::new();
    assert_eq!(le(&histogram, &[1.0]), [0]);
    for value in [0.0, 0.3, 0.5, 0.99, 1.0, 1.01, 1.5, 3.0, 1e18] {
        histogram.record(value);
    }
    // `(lower, upper]` buckets: a value equal to a bound counts at that bound.
    assert_eq!(le(&histogram, &[0.25, 0.5, 1.0, 2.0, 1e6]), [1, 3, 5, 7, 8]);
    assert_eq!(histogram.count(), 9);
    // 1.03 is not a bound: rounded down to 1.0.
    assert_eq!(le(&histogram, &[1.03]), [5]);
    // What a latency objective reads: the same counts.
    for (bound, expected) in [(0.25, 1), (0.5, 3), (1.0, 5), (1.03, 5), (2.0, 7)] {
        assert_eq!(histogram.count_at_most(bound), (expected, 9), "{bound}");
    }
    assert_eq!(Histogram::new().count_at_most(1.0), (0, 0));
    assert_eq!(Histogram::new().buckets(), DEFAULT_BUCKETS);
    // Every default bound is a bound at every schema.
    for bound in DEFAULT_BUCKETS {
        for schema in schema::MIN_SCHEMA.max(0)..=schema::MAX_SCHEMA {
            let key = schema::key(*bound, schema);
            assert_eq!(schema::upper_bound(key, schema), *bound);
        }
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
    for histogram in [Histogram::new(), Histogram::native()] {
        histogram.record(1.0);
        for refused in [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e300,
            -1e300,
            f64::MAX,
        ] {
            histogram.record(refused);
        }
        histogram.record(Histogram::MAX_VALUE);
        histogram.record(Histogram::MAX_VALUE);
        let summary = histogram.summary();
        assert_eq!(summary.count, 3);
        assert_eq!(summary.sum, 1.0 + 2.0 * Histogram::MAX_VALUE);
        assert_eq!(summary.max, Histogram::MAX_VALUE);
        assert_eq!(summary.min, 1.0);
        assert!(summary.mean.is_finite());
        assert_eq!(histogram.quantile(1.0), Histogram::MAX_VALUE);
    }
}

#[test]
fn quantiles_within_the_documented_error() {
    for histogram in [Histogram::new(), Histogram::native()] {
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
            let error = (estimate - exact).abs() / exact;
            assert!(
                error <= histogram.quantile_relative_error(),
                "{q}: {estimate}"
            );
        }
    }
    assert!(Histogram::new().quantile_relative_error() <= QUANTILE_RELATIVE_ERROR);
    assert!((Histogram::native().quantile_relative_error() - 0.0433).abs() < 1e-4);
}

#[test]
fn a_native_histogram_keeps_negative_values_and_zeros() {
    let histogram = Histogram::native_with(NativeOptions {
        zero_threshold: 0.001,
        ..NativeOptions::DEFAULT
    });
    for value in [-4.0, -1.0, 0.0, 0.001, -0.001, 0.0005, 2.0, -0.0] {
        histogram.record(value);
    }
    let reading = histogram.reading();
    assert_eq!(
        reading.zero, 5,
        "0, ±0.001, 0.0005 and -0 are within the threshold"
    );
    assert_eq!(reading.negative, [(0, 1), (16, 1)]);
    assert_eq!(reading.positive, [(8, 1)]);
    let summary = histogram.summary();
    assert_eq!(summary.count, 8);
    assert!((summary.sum + 2.9995).abs() < 1e-12, "{}", summary.sum);
    assert_eq!((summary.min, summary.max), (-4.0, 2.0));
    // A classic histogram records negative values as 0.
    let classic = Histogram::new();
    classic.record(-4.0);
    assert_eq!(classic.reading().zero, 1);
    assert_eq!(classic.summary().min, 0.0);
}

#[test]
fn values_on_bucket_bounds_and_at_the_zero_threshold() {
    let histogram = Histogram::native();
    // Exact powers of the base: each ends its bucket.
    let base = schema::growth(3);
    let mut bound = 1.0;
    for key in 0..16 {
        histogram.record(bound);
        assert_eq!(schema::key(bound, 3), key);
        bound = schema::upper_bound(key + 1, 3);
    }
    histogram.record(DEFAULT_ZERO_THRESHOLD);
    histogram.record(DEFAULT_ZERO_THRESHOLD * base);
    let reading = histogram.reading();
    assert_eq!(
        reading.zero, 1,
        "the threshold itself is in the zero bucket"
    );
    assert_eq!(reading.positive.len(), 17);
    assert!(reading.positive.iter().all(|&(_, count)| count == 1));
    assert_eq!(
        reading.positive[0].0,
        schema::key(DEFAULT_ZERO_THRESHOLD * base, 3)
    );
    // A zero threshold of 0 keeps only zeros in the zero bucket.
    let exact = Histogram::native_with(NativeOptions {
        zero_threshold: 0.0,
        ..NativeOptions::DEFAULT
    });
    exact.record(0.0);
    exact.record(f64::from_bits(1));
    let reading = exact.reading();
    assert_eq!((reading.zero, reading.positive.len()), (1, 1));
    assert_eq!(reading.positive[0].0, schema::key(f64::from_bits(1), 3));
}

#[test]
fn a_million_magnitudes_stay_within_max_buckets_and_the_page_bound() {
    let histogram = Histogram::native();
    // Every magnitude the histogram accepts, a million of them, log-spaced.
    let (low, high) = (2f64.powi(-127).ln(), Histogram::MAX_VALUE.ln());
    for i in 0..1_000_000 {
        let value = (low + (high - low) * f64::from(i) / 999_999.0).exp();
        histogram.record(value);
    }
    let reading = histogram.reading();
    assert_eq!(reading.count, 1_000_000);
    // Schema 3 over 2^-128..2^64: at most 192 * 8 buckets.
    assert!(reading.positive.len() <= 192 * 8);
    // One page per power of two, in one stripe.
    let pages = histogram.buckets.pages_made();
    assert!(pages <= 1 + 193, "{pages} pages");
    let native = reading.native(3, 160);
    assert!(native.positive.len() <= 160, "{}", native.positive.len());
    assert_eq!(
        native.schema, -1,
        "192 powers of two fit 160 buckets at schema -1"
    );
    assert_eq!(native.positive.iter().map(|b| b.1).sum::<u64>(), 1_000_000);
}

#[test]
fn native_options_are_checked() {
    assert_eq!(NativeOptions::DEFAULT.schema(), 3);
    assert_eq!(NativeOptions::default(), NativeOptions::DEFAULT);
    let bad = std::panic::catch_unwind(|| {
        Histogram::native_with(NativeOptions {
            bucket_factor: 1.0,
            ..NativeOptions::DEFAULT
        })
    });
    assert!(bad.is_err());
    let bad = std::panic::catch_unwind(|| {
        Histogram::native_with(NativeOptions {
            zero_threshold: f64::NAN,
            ..NativeOptions::DEFAULT
        })
    });
    assert!(bad.is_err());
    let classic = Histogram::native().with_classic(&[0.1, 1.0]);
    assert_eq!(classic.buckets(), [0.1, 1.0]);
    assert!(Histogram::native().buckets().is_empty());
}

#[test]
fn exemplars_are_kept_per_bucket_latest_first() {
    let histogram = Histogram::with_buckets(&[1.0, 10.0]);
    histogram
        .record_with_exemplar(0.5, &[("trace_id", "a")])
        .unwrap();
    histogram
        .record_with_exemplar(0.7, &[("trace_id", "b")])
        .unwrap();
    histogram
        .record_with_exemplar(5.0, &[("trace_id", "c")])
        .unwrap();
    histogram
        .record_with_exemplar(50.0, &[("trace_id", "d")])
        .unwrap();
    assert!(histogram
        .record_with_exemplar(60.0, &[("trace_id", &"x".repeat(130))])
        .is_err());
    histogram
        .record_with_exemplar(f64::NAN, &[("trace_id", "e")])
        .unwrap();
    let kept = histogram.kept_exemplars();
    let seen: Vec<(f64, &str)> = kept
        .iter()
        .map(|exemplar| (exemplar.value, exemplar.labels[0].1.as_str()))
        .collect();
    assert_eq!(seen, [(0.7, "b"), (5.0, "c"), (50.0, "d")]);
    assert_eq!(histogram.count(), 5);
}

#[test]
fn threads_count_in_their_own_stripes_and_the_totals_add_up() {
    let histogram = Histogram::native();
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let histogram = &histogram;
            scope.spawn(move || {
                for i in 0..1000 {
                    histogram.record(f64::from(thread * 1000 + i) * 1e-3);
                }
            });
        }
    });
    let summary = histogram.summary();
    assert_eq!(summary.count, 4000);
    assert_eq!(summary.max, 3.999);
    assert_eq!(summary.min, 0.0);
    assert!((summary.sum - 7_998.0).abs() < 1e-6);
}
