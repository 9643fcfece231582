//! Native histograms through the facade: `Histogram::native`, `#[timed(native)]`,
//! `#[expvar(native)]`, and what `/debug/vars` and the text formats show of them (the
//! protobuf side is `tests/test_protobuf.rs` and `tests/test_native_prometheus.rs`).

use std::sync::Arc;

use expvar::prometheus::{PrometheusFormat, PrometheusOptions};
use expvar::vars::{NativeOptions, DEFAULT_BUCKETS};
use expvar::{timed, Expvar, Histogram, Registry};
use expvar_test_support as support;
use serde_json::Value;
use support::exposition::{parse, Format};

#[derive(Expvar, Default)]
#[expvar(name = "test_native_latencies")]
struct Latencies {
    /// Requests served.
    #[expvar(native)]
    request_seconds: Histogram,
    #[expvar(native, buckets = [0.01, 0.1])]
    upstream_seconds: Histogram,
}

#[timed(native)]
fn native_handler(x: u64) -> u64 {
    x.rotate_left(7)
}

fn json(registry: &Registry) -> Value {
    serde_json::from_str(&registry.to_json()).unwrap()
}

#[test]
fn debug_vars_shows_the_statistics_of_a_native_histogram() {
    let histogram = Arc::new(Histogram::native());
    for i in 1..=1000 {
        histogram.record(f64::from(i) * 1e-3);
    }
    let registry = Registry::new();
    registry
        .publish("latency_seconds", histogram.clone())
        .unwrap();
    let latency = &json(&registry)["latency_seconds"];
    assert_eq!(latency["count"], 1000);
    assert_eq!(latency["min"], 0.001);
    assert_eq!(latency["max"], 1.0);
    let sum = latency["sum"].as_f64().unwrap();
    assert!((sum - 500.5).abs() < 1e-9, "{sum}");
    let error = histogram.quantile_relative_error();
    assert!((error - 0.0433).abs() < 1e-4, "{error}");
    for (key, exact) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
        let estimate = latency[key].as_f64().unwrap();
        // The bound itself is reached at a bucket's ends (0.5 ends one): allow rounding.
        let slack = 1.0 + 1e-9;
        assert!(
            (estimate - exact).abs() <= exact * error * slack,
            "{key}: {estimate}"
        );
    }
}

#[test]
fn text_formats_show_classic_buckets_or_count_and_sum() {
    let native = Arc::new(Histogram::native());
    native.record(0.3);
    let with_classic = Arc::new(Histogram::native().with_classic(&[0.25, 0.5]));
    with_classic.record(0.3);
    let registry = Registry::new();
    registry.publish("native_seconds", native).unwrap();
    registry
        .publish("classic_too_seconds", with_classic)
        .unwrap();
    for format in [PrometheusFormat::Text, PrometheusFormat::OpenMetrics] {
        let text = registry.to_prometheus_with(&PrometheusOptions::new().format(format));
        assert!(text.contains("\nnative_seconds_bucket{le=\"+Inf\"} 1\nnative_seconds_sum 0.3\nnative_seconds_count 1\n"), "{text}");
        assert!(text.contains("\nclassic_too_seconds_bucket{le=\"0.25\"} 0\nclassic_too_seconds_bucket{le=\"0.5\"} 1\n"), "{text}");
        let ours = match format {
            PrometheusFormat::OpenMetrics => Format::OpenMetrics,
            _ => Format::Text,
        };
        parse(&text, ours).unwrap_or_else(|error| panic!("{error}\n{text}"));
    }
}

#[test]
fn derived_native_fields_and_timed_native_keep_their_classic_buckets() {
    let latencies = Latencies::global();
    latencies.request_seconds.record(0.002);
    latencies.upstream_seconds.record(0.05);
    native_handler(3);
    let text = expvar::to_prometheus();
    // `Histogram::new()` served as native: its default `le` buckets stay for text.
    assert!(
        text.contains("test_native_latencies_request_seconds_bucket{le=\"0.001953125\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("test_native_latencies_upstream_seconds_bucket{le=\"0.1\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("# HELP test_native_latencies_request_seconds Requests served.\n"));
    let stats = expvar::functions::function_stats(concat!(module_path!(), "::native_handler"))
        .expect("registered");
    assert_eq!(
        stats.duration().native_options(),
        Some(NativeOptions::DEFAULT)
    );
    assert_eq!(stats.duration().buckets(), DEFAULT_BUCKETS);
    assert_eq!(stats.duration().count(), 1);
    assert!(text.contains("function=\"native_handler\""), "{text}");
    let vars: Value = serde_json::from_str(&expvar::to_json()).unwrap();
    assert_eq!(
        vars["test_native_latencies"]["upstream_seconds"]["count"],
        1
    );
}

#[test]
fn native_options_choose_the_schema_and_the_resolution_served() {
    let fine = Histogram::native_with(NativeOptions {
        bucket_factor: 1.011,
        ..NativeOptions::DEFAULT
    });
    // 2^(1/64) = 1.0109 is the largest growth factor not above 1.011.
    assert_eq!(fine.native_options().unwrap().schema(), 6);
    assert!(fine.quantile_relative_error() < 0.006);
    let coarse = NativeOptions {
        bucket_factor: 3.0,
        ..NativeOptions::DEFAULT
    };
    assert_eq!(coarse.schema(), 0);
    assert_eq!(
        NativeOptions {
            bucket_factor: 1e6,
            ..NativeOptions::DEFAULT
        }
        .schema(),
        -4
    );
}
