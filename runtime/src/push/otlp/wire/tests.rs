use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::encode::prometheus::{Mapping, PrometheusOptions};
use crate::encode::protobuf::{Fields, Value};
use crate::encode::render;
use crate::push::test_vars::{a_panic_between_two_counters, Heap};
use crate::registry::Registry;
use crate::{Counter, Gauge, Histogram, Map, Str};

/// A decoded message: each field number to its values, in order.
type Message<'a> = BTreeMap<u32, Vec<Value<'a>>>;

fn message(bytes: &[u8]) -> Message<'_> {
    let mut fields = Message::new();
    for field in Fields::new(bytes) {
        let (number, value) = field.expect("protobuf");
        fields.entry(number).or_default().push(value);
    }
    fields
}

fn nested<'a>(message: &Message<'a>, field: u32) -> Vec<Message<'a>> {
    message
        .get(&field)
        .into_iter()
        .flatten()
        .map(|value| match value {
            Value::Bytes(bytes) => self::message(bytes),
            other => panic!("field {field} is {other:?}"),
        })
        .collect()
}

fn text(message: &Message<'_>, field: u32) -> String {
    match message.get(&field).and_then(|values| values.first()) {
        Some(Value::Bytes(bytes)) => String::from_utf8(bytes.to_vec()).unwrap(),
        None => String::new(),
        other => panic!("field {field} is {other:?}"),
    }
}

fn fixed(message: &Message<'_>, field: u32) -> u64 {
    match message[&field][0] {
        Value::Fixed64(bits) => bits,
        other => panic!("field {field} is {other:?}"),
    }
}

fn varint(message: &Message<'_>, field: u32) -> u64 {
    match message[&field][0] {
        Value::Varint(value) => value,
        other => panic!("field {field} is {other:?}"),
    }
}

/// The attributes of a data point (or resource) as `key=value` strings.
fn attributes(message: &Message<'_>, field: u32) -> Vec<String> {
    nested(message, field)
        .iter()
        .map(|pair| {
            let value = &nested(pair, 2)[0];
            let value = match value.iter().next() {
                Some((1, values)) => match values[0] {
                    Value::Bytes(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                    other => panic!("{other:?}"),
                },
                Some((3, values)) => match values[0] {
                    Value::Varint(number) => number.to_string(),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            };
            format!("{}={value}", text(pair, 1))
        })
        .collect()
}

const START: u64 = 1_600_000_000_000_000_000;
const TIME: u64 = 1_700_000_000_123_000_000;

fn encode(registry: &Registry, resource: &[u8]) -> Encoded {
    let vars = registry.snapshot();
    let options = PrometheusOptions::new().const_label("job", "import");
    let format = OtlpFormat::new(Vec::new(), resource, vars.len(), START, TIME);
    render(&vars, Mapping::new(&options, format, vars.len()))
}

/// The request's metrics by name.
fn metrics(request: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let top = message(request);
    let resource_metrics = nested(&top, 1);
    assert_eq!(resource_metrics.len(), 1);
    let scopes = nested(&resource_metrics[0], 2);
    assert_eq!(scopes.len(), 1);
    let scope = &nested(&scopes[0], 1)[0];
    assert_eq!(text(scope, 1), "expvar");
    assert_eq!(text(scope, 2), env!("CARGO_PKG_VERSION"));
    let mut by_name = BTreeMap::new();
    for value in &scopes[0][&2] {
        let Value::Bytes(bytes) = value else { panic!() };
        let name = text(&message(bytes), 1);
        assert!(
            by_name.insert(name, bytes.to_vec()).is_none(),
            "a metric twice"
        );
    }
    by_name
}

#[test]
fn families_become_metrics_of_their_kind() {
    let registry = Registry::new();
    let jobs = Arc::new(Counter::new());
    jobs.add(7);
    registry.publish("jobs", jobs).unwrap();
    let depth = Arc::new(Gauge::new());
    depth.set(-3);
    registry.publish("depth", depth).unwrap();
    let results: Arc<Map<Counter>> = Arc::new(Map::with_label("result"));
    results.add("ok", 5);
    results.add("failed", 2);
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
    let mut resource = Protobuf::new();
    string_attribute(&mut resource, 1, "service.name", "importer");
    int_attribute(&mut resource, 1, "process.pid", 42);
    let resource = resource.into_inner();
    let encoded = encode(&registry, &resource);

    let top = message(&encoded.request);
    let resource_message = &nested(&nested(&top, 1)[0], 1)[0];
    assert_eq!(
        attributes(resource_message, 1),
        ["service.name=importer", "process.pid=42"]
    );
    let metrics = metrics(&encoded.request);
    let names: Vec<&str> = metrics.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "build_info",
            "depth",
            "heap_bytes",
            "jobs",
            "latency_seconds",
            "results",
            "version_info"
        ]
    );

    let jobs = message(&metrics["jobs"]);
    assert_eq!(text(&jobs, 2), "expvar variable jobs");
    let sum = &nested(&jobs, 7)[0];
    assert_eq!(varint(sum, 2), 2, "cumulative");
    assert_eq!(varint(sum, 3), 1, "monotonic");
    let point = &nested(sum, 1)[0];
    assert_eq!(fixed(point, 2), START);
    assert_eq!(fixed(point, 3), TIME);
    assert_eq!(fixed(point, 6), 7, "as_int");
    assert_eq!(attributes(point, 7), ["job=import"]);

    let results = nested(&nested(&message(&metrics["results"]), 7)[0], 1);
    let mut points: Vec<(Vec<String>, u64)> = results
        .iter()
        .map(|point| (attributes(point, 7), fixed(point, 6)))
        .collect();
    points.sort();
    assert_eq!(
        points,
        [
            (vec!["job=import".to_owned(), "result=failed".to_owned()], 2),
            (vec!["job=import".to_owned(), "result=ok".to_owned()], 5)
        ]
    );

    let depth = &nested(&nested(&message(&metrics["depth"]), 5)[0], 1)[0];
    assert_eq!(fixed(depth, 6) as i64, -3);
    assert!(!depth.contains_key(&2), "a gauge has no start time");

    let version = &nested(&nested(&message(&metrics["version_info"]), 5)[0], 1)[0];
    assert_eq!(attributes(version, 7), ["job=import", "value=1.2"]);
    assert_eq!(fixed(version, 6), 1);

    let heap = message(&metrics["heap_bytes"]);
    assert_eq!(
        (text(&heap, 2).as_str(), text(&heap, 3).as_str()),
        ("Bytes held.", "By")
    );
    let latency = message(&metrics["latency_seconds"]);
    assert_eq!(text(&latency, 3), "", "no unit said");
    let histogram = &nested(&latency, 9)[0];
    assert_eq!(varint(histogram, 2), 2, "cumulative");
    let point = &nested(histogram, 1)[0];
    assert_eq!(fixed(point, 4), 4, "count");
    assert!((f64::from_bits(fixed(point, 5)) - 4.25).abs() < 1e-9);
    let Value::Bytes(counts) = point[&6][0] else {
        panic!()
    };
    let counts: Vec<u64> = counts
        .chunks(8)
        .map(|chunk| u64::from_le_bytes(chunk.try_into().unwrap()))
        .collect();
    assert_eq!(counts, [1, 2, 1]);
    let Value::Bytes(bounds) = point[&7][0] else {
        panic!()
    };
    let bounds: Vec<f64> = bounds
        .chunks(8)
        .map(|chunk| f64::from_le_bytes(chunk.try_into().unwrap()))
        .collect();
    assert_eq!(bounds, [0.1, 1.0]);
    assert_eq!(f64::from_bits(fixed(point, 11)), 0.05, "min");
    assert_eq!(f64::from_bits(fixed(point, 12)), 3.0, "max");
    assert_eq!(encoded.samples, 8);
}

#[test]
fn native_buckets_become_an_exponential_histogram() {
    let registry = Registry::new();
    let sizes = Arc::new(Histogram::native());
    for value in [1.5, 1.6, 3.0, 1000.0] {
        sizes.record(value);
    }
    registry.publish("sizes", sizes).unwrap();
    let encoded = encode(&registry, &[]);
    let metrics = metrics(&encoded.request);
    let sizes = message(&metrics["sizes"]);
    assert!(!sizes.contains_key(&9));
    let histogram = &nested(&sizes, 10)[0];
    assert_eq!(varint(histogram, 2), 2, "cumulative");
    let point = &nested(histogram, 1)[0];
    assert_eq!(fixed(point, 4), 4);
    let positive = &nested(point, 8)[0];
    let Value::Bytes(counts) = positive[&2][0] else {
        panic!()
    };
    let total: u64 = packed_varints(counts).iter().sum();
    assert_eq!(total, 4, "every observation in a bucket");
}

/// A packed repeated varint field's values.
fn packed_varints(mut bytes: &[u8]) -> Vec<u64> {
    let mut values = Vec::new();
    while !bytes.is_empty() {
        let mut value = 0u64;
        let mut shift = 0;
        while let Some((&byte, rest)) = bytes.split_first() {
            bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte < 0x80 {
                break;
            }
        }
        values.push(value);
    }
    values
}

#[test]
fn a_variable_that_panics_leaves_no_data_point() {
    let registry = a_panic_between_two_counters();
    let encoded = encode(&registry, &[]);
    let metrics = metrics(&encoded.request);
    let names: Vec<&str> = metrics.keys().map(String::as_str).collect();
    assert_eq!(names, ["a_before", "build_info", "c_after"]);
    assert_eq!(encoded.samples, 3);
}

#[test]
fn wide_native_buckets_are_merged_to_fit() {
    // Indexes 1 and 1000 at schema 3: 1000 buckets apart, more than the cap.
    let buckets = [(1, 2), (1000, 3)];
    let shift = reduction(&buckets);
    assert!(shift > 0);
    let span = (otlp_index(1000) >> shift) - (otlp_index(1) >> shift) + 1;
    assert!(span <= MAX_EXPONENTIAL_BUCKETS, "{span}");
    assert!(
        ((otlp_index(1000) >> (shift - 1)) - (otlp_index(1) >> (shift - 1)) + 1)
            > MAX_EXPONENTIAL_BUCKETS
    );
    let mut out = Protobuf::new();
    exponential_buckets(&mut out, 8, &buckets, shift);
    let message = message(out.as_bytes());
    let buckets = &nested(&message, 8)[0];
    assert_eq!(varint(buckets, 1), 0, "offset (zigzag of 0)");
    assert_eq!(hex::<2>("0aff"), Some([0x0a, 0xff]));
    assert_eq!(hex::<2>("0aff00"), None);
}
