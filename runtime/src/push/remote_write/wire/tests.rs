use std::sync::Arc;

use super::*;
use crate::encode::prometheus::Mapping;
use crate::encode::prometheus::PrometheusOptions;
use crate::encode::protobuf::{Fields, Value};
use crate::encode::render;
use crate::push::test_vars::{a_panic_between_two_counters, Heap};
use crate::registry::Registry;
use crate::{Counter, Gauge, Histogram, Map, Str};

/// One decoded `TimeSeries`: its labels in order, its sample, its exemplars' values.
#[derive(Debug, PartialEq)]
struct Series {
    labels: Vec<(String, String)>,
    value: f64,
    timestamp: i64,
    exemplars: Vec<f64>,
}

fn bytes(value: Value<'_>) -> &[u8] {
    match value {
        Value::Bytes(bytes) => bytes,
        other => panic!("not a LEN field: {other:?}"),
    }
}

fn text(value: Value<'_>) -> String {
    String::from_utf8(bytes(value).to_vec()).unwrap()
}

fn label(message: &[u8]) -> (String, String) {
    let mut pair = (String::new(), String::new());
    for field in Fields::new(message) {
        match field.unwrap() {
            (1, value) => pair.0 = text(value),
            (2, value) => pair.1 = text(value),
            other => panic!("label field {other:?}"),
        }
    }
    pair
}

fn double(value: Value<'_>) -> f64 {
    match value {
        Value::Fixed64(bits) => f64::from_bits(bits),
        other => panic!("not a double: {other:?}"),
    }
}

/// One decoded `MetricMetadata`: type, name, help, unit.
type Metadata = (u64, String, String, String);

/// The series and metadata of a `WriteRequest`.
fn decode(request: &[u8]) -> (Vec<Series>, Vec<Metadata>) {
    let mut all = Vec::new();
    let mut metadata = Vec::new();
    for field in Fields::new(request) {
        match field.unwrap() {
            (1, value) => {
                let mut series = Series {
                    labels: Vec::new(),
                    value: f64::NAN,
                    timestamp: 0,
                    exemplars: Vec::new(),
                };
                for field in Fields::new(bytes(value)) {
                    match field.unwrap() {
                        (1, value) => series.labels.push(label(bytes(value))),
                        (2, value) => {
                            for field in Fields::new(bytes(value)) {
                                match field.unwrap() {
                                    (1, value) => series.value = double(value),
                                    (2, Value::Varint(ms)) => series.timestamp = ms as i64,
                                    other => panic!("sample field {other:?}"),
                                }
                            }
                        }
                        (3, value) => {
                            for field in Fields::new(bytes(value)) {
                                if let (2, value) = field.unwrap() {
                                    series.exemplars.push(double(value));
                                }
                            }
                        }
                        other => panic!("series field {other:?}"),
                    }
                }
                all.push(series);
            }
            (3, value) => {
                let mut entry = (0, String::new(), String::new(), String::new());
                for field in Fields::new(bytes(value)) {
                    match field.unwrap() {
                        (1, Value::Varint(kind)) => entry.0 = kind,
                        (2, value) => entry.1 = text(value),
                        (4, value) => entry.2 = text(value),
                        (5, value) => entry.3 = text(value),
                        other => panic!("metadata field {other:?}"),
                    }
                }
                metadata.push(entry);
            }
            other => panic!("request field {other:?}"),
        }
    }
    (all, metadata)
}

fn encode(registry: &Registry, options: &PrometheusOptions) -> Encoded {
    let vars = registry.snapshot();
    let format = RemoteWriteFormat::new(Vec::new(), vars.len(), 1_700_000_000_123);
    render(&vars, Mapping::new(options, format, vars.len()))
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|&(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

#[test]
fn series_are_named_and_labelled_as_the_text_format_writes_them() {
    let registry = Registry::new();
    let jobs = Arc::new(Counter::new());
    jobs.add(7);
    registry.publish("jobs", Arc::clone(&jobs)).unwrap();
    let depth = Arc::new(Gauge::new());
    depth.set(-3);
    registry.publish("depth", depth).unwrap();
    let results: Arc<Map<Counter>> = Arc::new(Map::with_label("result"));
    results.add("ok", 5);
    results.add("a\"quote", 1);
    registry.publish("results", results).unwrap();
    let version = Arc::new(Str::new());
    version.set("1.2");
    registry.publish("version", version).unwrap();
    let latency = Arc::new(Histogram::with_buckets(&[0.1, 1.0]));
    for value in [0.05, 0.5, 0.7, 3.0] {
        latency.record(value);
    }
    registry.publish("latency_seconds", latency).unwrap();
    registry.publish("heap", Arc::new(Heap)).unwrap();
    let options = PrometheusOptions::new()
        .const_label("zone", "b")
        .const_label("Region", "eu")
        .const_label("instance", "w1");
    let encoded = encode(&registry, &options);
    let (series, metadata) = decode(&encoded.request);
    assert_eq!(encoded.samples, series.len());
    assert!(series.iter().all(|s| s.timestamp == 1_700_000_000_123));
    let find = |name: &str, extra: &[(&str, &str)]| {
        series
            .iter()
            .find(|s| {
                s.labels.iter().any(|l| l.0 == "__name__" && l.1 == name)
                    && extra
                        .iter()
                        .all(|&(n, v)| s.labels.iter().any(|l| l.0 == n && l.1 == v))
            })
            .unwrap_or_else(|| panic!("no {name} {extra:?} in {series:#?}"))
    };
    // Sorted by name: a capital letter sorts before `__name__`.
    assert_eq!(
        find("jobs_total", &[]).labels,
        labels(&[
            ("Region", "eu"),
            ("__name__", "jobs_total"),
            ("instance", "w1"),
            ("zone", "b")
        ])
    );
    assert_eq!(find("jobs_total", &[]).value, 7.0);
    assert_eq!(find("depth", &[]).value, -3.0);
    assert_eq!(find("results_total", &[("result", "ok")]).value, 5.0);
    // Label values as given, not escaped.
    assert_eq!(find("results_total", &[("result", "a\"quote")]).value, 1.0);
    assert_eq!(
        find("version_info", &[]).labels,
        labels(&[
            ("Region", "eu"),
            ("__name__", "version_info"),
            ("instance", "w1"),
            ("value", "1.2"),
            ("zone", "b")
        ])
    );
    for (le, count) in [("0.1", 1.0), ("1.0", 3.0), ("+Inf", 4.0)] {
        let bucket = find("latency_seconds_bucket", &[("le", le)]);
        assert_eq!(bucket.value, count, "{le}");
        let names: Vec<&str> = bucket.labels.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(names, ["Region", "__name__", "instance", "le", "zone"]);
    }
    assert_eq!(find("latency_seconds_count", &[]).value, 4.0);
    assert!((find("latency_seconds_sum", &[]).value - 4.25).abs() < 1e-9);
    // Every series of the text format, no other.
    let text = registry.to_prometheus_with(&options);
    let text_samples = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .count();
    assert_eq!(series.len(), text_samples, "{text}");
    // Metadata: type, the name of the TYPE line, help, unit.
    assert!(
        metadata.contains(&(2, "heap_bytes".into(), "Bytes held.".into(), "bytes".into())),
        "{metadata:?}"
    );
    assert!(
        metadata.contains(&(
            1,
            "jobs_total".into(),
            "expvar variable jobs".into(),
            String::new()
        )),
        "{metadata:?}"
    );
    assert!(
        metadata
            .iter()
            .any(|m| m.0 == 3 && m.1 == "latency_seconds"),
        "{metadata:?}"
    );
    assert!(
        metadata.iter().any(|m| m.0 == 2 && m.1 == "version_info"),
        "{metadata:?}"
    );
}

#[test]
fn a_variable_that_panics_leaves_no_sample() {
    let registry = a_panic_between_two_counters();
    let encoded = encode(&registry, &PrometheusOptions::new());
    let (series, metadata) = decode(&encoded.request);
    let names: Vec<&str> = series
        .iter()
        .map(|s| {
            s.labels
                .iter()
                .find(|l| l.0 == "__name__")
                .unwrap()
                .1
                .as_str()
        })
        .collect();
    assert!(
        names.contains(&"a_before_total") && names.contains(&"c_after_total"),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|name| name.starts_with("b_panics")),
        "{names:?}"
    );
    assert_eq!(encoded.samples, series.len());
    assert!(
        !metadata.iter().any(|m| m.1.starts_with("b_panics")),
        "{metadata:?}"
    );
}
