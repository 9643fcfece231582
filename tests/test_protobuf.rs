//! The protobuf exposition decoded by a decoder that is not ours: Google's protobuf
//! library for Python with the upstream client_model `metrics.proto`, compiled in the
//! test by grpc_tools' protoc. Native histograms (read back bucket by bucket from their
//! spans and deltas), classic buckets, counters with exemplars, gauges, strings and
//! hostile label values; served at `/metrics` to an `Accept` header as Prometheus sends
//! it.
//!
//! Needs `EXPVAR_PYTHON` with `protobuf` and `grpcio-tools`, and Debian's
//! `golang-github-prometheus-client-model-dev` for `metrics.proto` (see `.ci/run`);
//! without them it is skipped, unless `EXPVAR_REQUIRE_E2E=1`.
#![cfg(feature = "server")]

use std::collections::BTreeMap;
use std::sync::Arc;

use expvar::prometheus::{PrometheusOptions, PROTOBUF_CONTENT_TYPE};
use expvar::vars::{DEFAULT_BUCKETS, DEFAULT_ZERO_THRESHOLD};
use expvar::{Counter, Gauge, Histogram, Map, Registry, ServerBuilder, Str};
use expvar_test_support as support;
use serde_json::Value;

/// What Prometheus 2.42 sends when it scrapes native histograms.
const PROMETHEUS_ACCEPT: &str = "Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn registry() -> Registry {
    let native = Arc::new(Histogram::native());
    // Hostile values with defined results: zero and the zero threshold in the zero
    // bucket, exact powers of the base on the bound that ends their bucket, negative
    // values in negative buckets, NaN and infinities refused.
    for value in [
        0.0,
        DEFAULT_ZERO_THRESHOLD,
        1.0,
        1.0,
        2.0,
        3.0,
        0.1,
        1000.0,
        -4.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        native.record(value);
    }
    let classic = Arc::new(Histogram::with_buckets(&[0.5, 2.0]));
    for value in [0.25, 1.0, 1.5, 4.0] {
        classic.record(value);
    }
    let jobs = Arc::new(Counter::new());
    jobs.add(2);
    jobs.inc_with_exemplar(&[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")])
        .unwrap();
    let queue = Arc::new(Gauge::new());
    queue.set(-3);
    let by_key = Arc::new(Map::<Counter>::with_label("key"));
    by_key.add("a\"b\\c\nd é", 7);
    let version = Arc::new(Str::new());
    version.set("1.2\"3");
    let registry = Registry::new();
    registry.publish("native_seconds", native).unwrap();
    registry.publish("classic_seconds", classic).unwrap();
    registry.publish("jobs", jobs).unwrap();
    registry.publish("queue", queue).unwrap();
    registry.publish("by_key", by_key).unwrap();
    registry.publish("version", version).unwrap();
    registry
}

fn family<'a>(families: &'a Value, name: &str) -> &'a Value {
    families
        .as_array()
        .unwrap()
        .iter()
        .find(|family| family["name"] == name)
        .unwrap_or_else(|| panic!("no family {name} in {families}"))
}

/// `(index, count)` of every bucket, read from protobuf's spans and deltas.
fn buckets(histogram: &Value, side: &str) -> Vec<(i64, i64)> {
    let spans = histogram[format!("{side}Span")]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let deltas = histogram[format!("{side}Delta")]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let number = |value: &Value| -> i64 {
        value
            .as_i64()
            .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
            .unwrap_or(0)
    };
    let mut deltas = deltas.iter().map(number);
    let mut buckets = Vec::new();
    let (mut index, mut count) = (0, 0);
    for (at, span) in spans.iter().enumerate() {
        let offset = number(&span["offset"]);
        index = if at == 0 { offset } else { index + offset };
        for _ in 0..number(&span["length"]) {
            count += deltas.next().expect("a delta per bucket");
            if count != 0 {
                buckets.push((index, count));
            }
            index += 1;
        }
    }
    assert!(deltas.next().is_none(), "deltas left over");
    buckets
}

/// The bucket of `value` at schema 3, worked out with logarithms: the index `k` with
/// `2^((k-1)/8) < value <= 2^(k/8)`.
fn bucket_of(value: f64) -> i64 {
    let exact = value.log2() * 8.0;
    if (exact - exact.round()).abs() < 1e-9 {
        exact.round() as i64
    } else {
        exact.ceil() as i64
    }
}

fn check(families: &Value) {
    let names: Vec<&str> = families
        .as_array()
        .unwrap()
        .iter()
        .map(|family| family["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "by_key_total",
            "classic_seconds",
            "jobs_total",
            "native_seconds",
            "queue",
            "version_info",
            "build_info"
        ]
    );

    let native = family(families, "native_seconds");
    assert_eq!(native["type"], "HISTOGRAM");
    let histogram = &native["metric"][0]["histogram"];
    assert_eq!(histogram["sampleCount"], "9");
    assert_eq!(histogram["schema"], 3);
    assert_eq!(
        histogram["zeroThreshold"].as_f64(),
        Some(DEFAULT_ZERO_THRESHOLD)
    );
    assert_eq!(histogram["zeroCount"], "2");
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    for value in [1.0, 1.0, 2.0, 3.0, 0.1, 1000.0] {
        *expected.entry(bucket_of(value)).or_default() += 1;
    }
    assert_eq!(
        buckets(histogram, "positive"),
        expected.into_iter().collect::<Vec<_>>()
    );
    assert_eq!(buckets(histogram, "negative"), [(bucket_of(4.0), 1)]);
    let sum = histogram["sampleSum"].as_f64().unwrap();
    assert!(
        (sum - (1.0 + 1.0 + 2.0 + 3.0 + 0.1 + 1000.0 - 4.0)).abs() < 1e-9,
        "{sum}"
    );
    assert!(
        histogram.get("bucket").is_none(),
        "no classic buckets: {histogram}"
    );

    let classic = &family(families, "classic_seconds")["metric"][0]["histogram"];
    assert!(
        classic.get("schema").is_none(),
        "a classic histogram: {classic}"
    );
    assert_eq!(classic["sampleCount"], "4");
    let buckets: Vec<(f64, &str)> = classic["bucket"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| {
            (
                bucket["upperBound"].as_f64().unwrap(),
                bucket["cumulativeCount"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(buckets, [(0.5, "1"), (2.0, "3")]);

    let jobs = &family(families, "jobs_total");
    assert_eq!(jobs["type"], "COUNTER");
    let counter = &jobs["metric"][0]["counter"];
    assert_eq!(counter["value"], 3.0);
    assert_eq!(
        counter["exemplar"]["label"][0],
        serde_json::json!({"name": "trace_id", "value": "4bf92f3577b34da6a3ce929d0e0e4736"})
    );
    assert_eq!(counter["exemplar"]["value"], 1.0);
    assert!(counter["exemplar"]["timestamp"].is_string(), "{counter}");

    let queue = &family(families, "queue");
    assert_eq!(queue["type"], "GAUGE");
    assert_eq!(queue["metric"][0]["gauge"]["value"], -3.0);
    let by_key = &family(families, "by_key_total")["metric"][0];
    assert_eq!(
        by_key["label"][0],
        serde_json::json!({"name": "key", "value": "a\"b\\c\nd é"})
    );
    let version = &family(families, "version_info")["metric"][0];
    assert_eq!(version["label"][0]["value"], "1.2\"3");
    assert_eq!(version["gauge"]["value"], 1.0);
}

#[test]
fn an_independent_decoder_reads_the_protobuf_exposition() {
    let document = registry().to_prometheus_protobuf(&PrometheusOptions::new());
    let Some(families) = support::python::decode_protobuf(&document) else {
        return;
    };
    check(&families);
}

#[test]
fn metrics_answers_prometheus_in_protobuf() {
    let server = ServerBuilder::new()
        .addr("127.0.0.1:0")
        .registry(Arc::new(registry()))
        .start()
        .unwrap();
    let response = support::request(server.local_addr(), "GET", "/metrics", &[PROMETHEUS_ACCEPT]);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some(PROTOBUF_CONTENT_TYPE));
    assert_eq!(response.header("vary"), Some("Accept"));
    // Without the protobuf type in `Accept`, text as before.
    let text = support::request(
        server.local_addr(),
        "GET",
        "/metrics",
        &["Accept: text/plain"],
    );
    assert!(text
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(
        text.body.contains("native_seconds_count 9\n"),
        "{}",
        text.body
    );
    server.shutdown();
    if let Some(families) = support::python::decode_protobuf(&response.bytes) {
        check(&families);
    }
}

#[derive(expvar::Expvar, Default)]
#[expvar(name = "test_protobuf_latencies")]
struct Latencies {
    #[expvar(native)]
    request_seconds: Histogram,
}

#[expvar::timed]
fn protobuf_plain_timed() {}

/// The histogram of `family`'s metric whose labels include `label`, if any.
fn histogram_with<'a>(families: &'a Value, family_name: &str, label: (&str, &str)) -> &'a Value {
    family(families, family_name)["metric"]
        .as_array()
        .unwrap()
        .iter()
        .find(|metric| {
            metric["label"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|pair| pair["name"] == label.0 && pair["value"] == label.1)
        })
        .map(|metric| &metric["histogram"])
        .unwrap_or_else(|| panic!("no {label:?} in {family_name}"))
}

#[test]
fn native_fields_and_native_durations_reach_the_protobuf_exposition() {
    Latencies::global().request_seconds.record(0.003);
    protobuf_plain_timed();
    let options = PrometheusOptions::new();
    expvar::functions::set_native_durations(true);
    let native = expvar::prometheus::to_prometheus_protobuf(&options);
    expvar::functions::set_native_durations(false);
    let classic = expvar::prometheus::to_prometheus_protobuf(&options);
    let (Some(native), Some(classic)) = (
        support::python::decode_protobuf(&native),
        support::python::decode_protobuf(&classic),
    ) else {
        return;
    };
    let request =
        &family(&native, "test_protobuf_latencies_request_seconds")["metric"][0]["histogram"];
    assert_eq!(request["schema"], 3, "{request}");
    assert_eq!(buckets(request, "positive"), [(bucket_of(0.003), 1)]);
    // `Histogram::new()` served as native keeps its `le` buckets for those who read them.
    assert_eq!(
        request["bucket"].as_array().unwrap().len(),
        DEFAULT_BUCKETS.len()
    );
    let label = ("function", "protobuf_plain_timed");
    let timed = histogram_with(&native, "function_calls_duration_seconds", label);
    assert_eq!(timed["schema"], 3, "{timed}");
    assert_eq!(timed["sampleCount"], "1");
    let timed = histogram_with(&classic, "function_calls_duration_seconds", label);
    assert!(timed.get("schema").is_none(), "{timed}");
}
