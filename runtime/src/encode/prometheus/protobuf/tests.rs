//! The protobuf exposition read back field by field. A decoder that is not ours checks
//! the same output in `tests/test_protobuf.rs` (Python's protobuf with the upstream
//! `metrics.proto`) and `tests/test_native_prometheus.rs` (Prometheus itself).

use std::sync::Arc;

use super::*;
use crate::encode::prometheus::{protobuf_document, PrometheusOptions};
use crate::encode::render;
use crate::vars::{Distribution, IntoVarRef, NativeBuckets, Var, VarRef, Writer};
use crate::{Counter, Histogram, Map, Str};

/// One decoded field.
#[derive(Debug, Clone, PartialEq)]
enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

fn varint(bytes: &mut &[u8]) -> u64 {
    let mut value = 0;
    for shift in (0..64).step_by(7) {
        let byte = bytes[0];
        *bytes = &bytes[1..];
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
    }
    value
}

fn fields(mut bytes: &[u8]) -> Vec<(u32, Value<'_>)> {
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let tag = varint(&mut bytes);
        let value = match tag & 7 {
            0 => Value::Varint(varint(&mut bytes)),
            1 => {
                let value = u64::from_le_bytes(bytes[..8].try_into().unwrap());
                bytes = &bytes[8..];
                Value::Fixed64(value)
            }
            2 => {
                let len = varint(&mut bytes) as usize;
                let (value, rest) = bytes.split_at(len);
                bytes = rest;
                Value::Bytes(value)
            }
            other => panic!("wire type {other}"),
        };
        fields.push(((tag >> 3) as u32, value));
    }
    fields
}

fn messages(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut messages = Vec::new();
    while !bytes.is_empty() {
        let len = varint(&mut bytes) as usize;
        let (message, rest) = bytes.split_at(len);
        messages.push(message);
        bytes = rest;
    }
    messages
}

fn all<'a>(message: &'a [u8], field: u32) -> Vec<Value<'a>> {
    fields(message)
        .into_iter()
        .filter(|(number, _)| *number == field)
        .map(|(_, value)| value)
        .collect()
}

fn one<'a>(message: &'a [u8], field: u32) -> Value<'a> {
    let mut found = all(message, field);
    assert_eq!(found.len(), 1, "field {field} of {message:?}");
    found.remove(0)
}

fn text(value: Value<'_>) -> &str {
    match value {
        Value::Bytes(bytes) => std::str::from_utf8(bytes).unwrap(),
        other => panic!("not a string: {other:?}"),
    }
}

fn bytes(value: Value<'_>) -> &[u8] {
    match value {
        Value::Bytes(bytes) => bytes,
        other => panic!("not a message: {other:?}"),
    }
}

fn double(value: Value<'_>) -> f64 {
    match value {
        Value::Fixed64(bits) => f64::from_bits(bits),
        other => panic!("not a double: {other:?}"),
    }
}

fn uint(value: Value<'_>) -> u64 {
    match value {
        Value::Varint(value) => value,
        other => panic!("not a varint: {other:?}"),
    }
}

fn sint(value: Value<'_>) -> i64 {
    let value = uint(value);
    (value >> 1) as i64 ^ -((value & 1) as i64)
}

/// The families of a document, by name.
fn families(document: &[u8]) -> Vec<(String, &[u8])> {
    messages(document)
        .into_iter()
        .map(|family| (text(one(family, 1)).to_owned(), family))
        .collect()
}

fn family<'a>(families: &[(String, &'a [u8])], name: &str) -> &'a [u8] {
    families
        .iter()
        .find(|(family, _)| family == name)
        .unwrap_or_else(|| panic!("no family {name}"))
        .1
}

fn labels(metric: &[u8]) -> Vec<(String, String)> {
    all(metric, 1)
        .into_iter()
        .map(|pair| {
            let pair = bytes(pair);
            (text(one(pair, 1)).to_owned(), text(one(pair, 2)).to_owned())
        })
        .collect()
}

fn document(vars: &[(&str, VarRef)], options: &PrometheusOptions) -> Vec<u8> {
    render(vars, protobuf_document(options, vars.len()))
}

#[test]
fn families_carry_names_types_help_units_and_raw_label_values() {
    let counter = Arc::new(Counter::new());
    counter.add(3);
    let map = Arc::new(Map::<Counter>::new());
    map.add("a\"b\\c\nd", 2);
    let name = Arc::new(Str::new());
    name.set("v\"1");
    let vars: [(&str, VarRef); 3] = [
        ("jobs", counter.into_var_ref()),
        ("by_key", map.into_var_ref()),
        ("version", name.into_var_ref()),
    ];
    let options = PrometheusOptions::new().const_label("service", "api");
    let document = document(&vars, &options);
    let families = families(&document);
    let names: Vec<&str> = families.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["jobs_total", "by_key_total", "version_info", "build_info"]
    );

    let jobs = family(&families, "jobs_total");
    assert_eq!(text(one(jobs, 2)), "expvar variable jobs");
    assert_eq!(uint(one(jobs, 3)), COUNTER);
    let metric = bytes(one(jobs, 4));
    assert_eq!(labels(metric), [("service".into(), "api".into())]);
    assert_eq!(double(one(bytes(one(metric, 3)), 1)), 3.0);

    let by_key = bytes(one(family(&families, "by_key_total"), 4));
    assert_eq!(
        labels(by_key),
        [
            ("service".into(), "api".into()),
            ("key".into(), "a\"b\\c\nd".into())
        ]
    );
    let info = family(&families, "version_info");
    assert_eq!(uint(one(info, 3)), GAUGE);
    let metric = bytes(one(info, 4));
    assert_eq!(labels(metric)[1], ("value".into(), "v\"1".into()));
    assert_eq!(double(one(bytes(one(metric, 2)), 1)), 1.0);
}

/// A distribution with native buckets, written as a type of one's own would.
struct Native {
    native: NativeBuckets<'static>,
    count: u64,
    buckets: &'static [(f64, u64)],
    exemplars: Vec<(f64, f64)>,
}

impl Var for Native {
    fn write(&self, out: Writer<'_>) {
        let labels = [("trace_id", "abc")];
        let exemplars: Vec<crate::vars::Exemplar<'_>> = self
            .exemplars
            .iter()
            .map(|&(value, timestamp)| crate::vars::Exemplar {
                labels: &labels,
                value,
                timestamp,
            })
            .collect();
        out.unit(Unit::Seconds).distribution_with(
            &Distribution {
                count: self.count,
                sum: 12.5,
                min: 0.0,
                max: 10.0,
                buckets: self.buckets,
                quantiles: &[],
            },
            Some(&self.native),
            &exemplars,
        );
    }
}

#[test]
fn native_histograms_carry_spans_and_deltas() {
    let native = Native {
        native: NativeBuckets {
            schema: 3,
            zero_threshold: 0.001,
            zero_count: 2,
            positive: &[(0, 1), (1, 2), (3, 1), (10, 5)],
            negative: &[(-2, 4)],
        },
        count: 15,
        buckets: &[(1.0, 7)],
        exemplars: vec![(0.5, 1_700_000_000.25), (3.0, 1_700_000_001.5)],
    };
    let vars: [(&str, VarRef); 1] = [("latency", Arc::new(native).into_var_ref())];
    let document = document(&vars, &PrometheusOptions::new());
    let families = families(&document);
    let latency = family(&families, "latency_seconds");
    assert_eq!(uint(one(latency, 3)), HISTOGRAM);
    assert_eq!(text(one(latency, 5)), "seconds");
    let histogram = bytes(one(bytes(one(latency, 4)), 7));
    assert_eq!(uint(one(histogram, 1)), 15);
    assert_eq!(double(one(histogram, 2)), 12.5);
    assert_eq!(sint(one(histogram, 5)), 3);
    assert_eq!(double(one(histogram, 6)), 0.001);
    assert_eq!(uint(one(histogram, 7)), 2);
    let spans = |field| -> Vec<(i64, u64)> {
        all(histogram, field)
            .into_iter()
            .map(|span| {
                let span = bytes(span);
                (sint(one(span, 1)), uint(one(span, 2)))
            })
            .collect()
    };
    // 0, 1, (2 empty), 3 in one span; 10 after a gap of six.
    assert_eq!(spans(12), [(0, 4), (6, 1)]);
    let deltas: Vec<i64> = all(histogram, 13).into_iter().map(sint).collect();
    assert_eq!(deltas, [1, 1, -2, 1, 4]);
    assert_eq!(spans(9), [(-2, 1)]);
    let deltas: Vec<i64> = all(histogram, 10).into_iter().map(sint).collect();
    assert_eq!(deltas, [4]);
    // The classic bucket, its exemplar, and a `+Inf` bucket for the one above it.
    let buckets = all(histogram, 3);
    assert_eq!(buckets.len(), 2);
    let first = bytes(buckets[0].clone());
    assert_eq!((uint(one(first, 1)), double(one(first, 2))), (7, 1.0));
    let exemplar = bytes(one(first, 3));
    assert_eq!(double(one(exemplar, 2)), 0.5);
    let timestamp = bytes(one(exemplar, 3));
    assert_eq!(
        (uint(one(timestamp, 1)), uint(one(timestamp, 2))),
        (1_700_000_000, 250_000_000)
    );
    assert_eq!(labels(exemplar), [("trace_id".into(), "abc".into())]);
    let infinite = bytes(buckets[1].clone());
    assert_eq!(double(one(infinite, 2)), f64::INFINITY);
    assert_eq!(double(one(bytes(one(infinite, 3)), 2)), 3.0);
    // Every exemplar among the native ones too.
    assert_eq!(all(histogram, 16).len(), 2);
}

#[test]
fn an_empty_native_histogram_with_no_zero_bucket_says_it_is_native() {
    let histogram = Arc::new(Histogram::native_with(crate::vars::NativeOptions {
        zero_threshold: 0.0,
        ..crate::vars::NativeOptions::DEFAULT
    }));
    let vars: [(&str, VarRef); 1] = [("empty", histogram.into_var_ref())];
    let document = document(&vars, &PrometheusOptions::new());
    let families = families(&document);
    let histogram = bytes(one(bytes(one(family(&families, "empty"), 4)), 7));
    let span = bytes(one(histogram, 12));
    assert_eq!((sint(one(span, 1)), uint(one(span, 2))), (0, 0));
    assert!(all(histogram, 13).is_empty());
}

#[test]
fn a_recorded_native_histogram_and_a_counter_exemplar() {
    let histogram = Arc::new(Histogram::native());
    for value in [0.0, 1.0, 1.0, 2.0, -4.0] {
        histogram.record(value);
    }
    let errors = Arc::new(Counter::new());
    errors.inc_with_exemplar(&[("trace_id", "t1")]).unwrap();
    let vars: [(&str, VarRef); 2] = [
        ("h", histogram.into_var_ref()),
        ("errors", errors.into_var_ref()),
    ];
    let document = document(&vars, &PrometheusOptions::new());
    let families = families(&document);
    let h = bytes(one(bytes(one(family(&families, "h"), 4)), 7));
    assert_eq!(uint(one(h, 1)), 5);
    assert_eq!(double(one(h, 2)), 0.0);
    assert_eq!(uint(one(h, 7)), 1);
    assert!(all(h, 3).is_empty(), "no classic buckets");
    // Keys 0 (1.0, twice) and 8 (2.0): a gap of seven, so two spans.
    let deltas: Vec<i64> = all(h, 13).into_iter().map(sint).collect();
    assert_eq!(deltas, [2, -1]);
    assert_eq!(all(h, 9).len(), 1, "-4 in a negative bucket");
    let counter = bytes(one(bytes(one(family(&families, "errors_total"), 4)), 3));
    let exemplar = bytes(one(counter, 2));
    assert_eq!(labels(exemplar), [("trace_id".into(), "t1".into())]);
    assert_eq!(double(one(exemplar, 2)), 1.0);
}

#[test]
fn a_family_written_in_pieces_is_one_message_and_a_panic_leaves_nothing() {
    struct Rows;
    impl Var for Rows {
        fn write(&self, out: Writer<'_>) {
            out.map("row", |rows| {
                for row in ["a", "b"] {
                    rows.entry(row).object(|fields| {
                        fields.field("reads").counter(1);
                        fields.field("writes").counter(2);
                    });
                }
            });
        }
    }
    struct Broken;
    impl Var for Broken {
        fn write(&self, out: Writer<'_>) {
            out.object(|fields| {
                fields.field("first").counter(1);
                panic!("broken");
            });
        }
    }
    let vars: [(&str, VarRef); 2] = [
        ("rows", Arc::new(Rows).into_var_ref()),
        ("broken", Arc::new(Broken).into_var_ref()),
    ];
    let document = document(&vars, &PrometheusOptions::new());
    let families = families(&document);
    let names: Vec<&str> = families.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["rows_reads_total", "rows_writes_total", "build_info"]
    );
    assert_eq!(all(family(&families, "rows_reads_total"), 4).len(), 2);
    assert_eq!(all(family(&families, "rows_writes_total"), 4).len(), 2);
}
