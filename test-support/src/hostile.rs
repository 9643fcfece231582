//! The hostile registry: names, values and variables that try every corner of the
//! formats (quotes, backslashes, controls, NUL, U+2028, clashing names, NaN and
//! infinities, panicking and silent variables), shared by the strict-parser test and
//! the golden-output test.

use std::sync::Arc;

use expvar::{
    prometheus::{PrometheusFormat, PrometheusOptions},
    vars::Distribution,
    Counter, Float, Func, Gauge, Histogram, Map, Registry, Str, Var, Writer,
};

/// Writes the same field names a hostile user might, all as numbers.
struct HostileFields;

impl Var for HostileFields {
    fn write(&self, out: Writer<'_>) {
        out.object(|fields| {
            for name in [
                "q\"uote",
                "back\\slash",
                "new\nline",
                "nul\0byte",
                "line\u{2028}sep",
            ] {
                fields.field(name).help(name).gauge(1);
            }
            fields.field("nan").float(f64::NAN);
            fields.field("inf").float(f64::INFINITY);
            fields.field("total_nan").counter_f64(f64::NAN);
            fields.field("total_negative").counter_f64(-3.0);
            fields.field("total_inf").counter_f64(f64::INFINITY);
            fields
                .field("note")
                .str("va\"lue\\ with\nnewline\0and\u{2028}");
        });
    }
}

struct Panics;

impl Var for Panics {
    fn write(&self, out: Writer<'_>) {
        out.object(|fields| {
            fields.field("partial").gauge(1);
            panic!("a variable that panics mid-write");
        });
    }
}

/// Writes nothing at all: `null` in JSON, no series at `/metrics`.
struct Silent;

impl Var for Silent {
    fn write(&self, _: Writer<'_>) {}
}

/// A distribution whose sum is NaN: no histogram can carry it.
struct NanSum;

impl Var for NanSum {
    fn write(&self, out: Writer<'_>) {
        out.distribution(&Distribution {
            count: 1,
            sum: f64::NAN,
            min: 0.0,
            max: 0.0,
            buckets: &[(1.0, 1)],
            quantiles: &[],
        });
    }
}

pub fn hostile_registry() -> Registry {
    let registry = Registry::new();
    let publish = |name: &str, var: Arc<dyn Var>| registry.publish(name, var).unwrap();
    publish("a.b", Arc::new(Gauge::new()));
    publish("a_b", Arc::new(Gauge::new()));
    publish("x", Arc::new(Counter::new()));
    publish("x_created", Arc::new(Gauge::new()));
    publish("x_total", Arc::new(Gauge::new()));
    publish("y_total", Arc::new(Counter::new()));
    publish("y", Arc::new(Counter::new()));
    publish("h", Arc::new(Histogram::new()));
    publish("h_bucket", Arc::new(Gauge::new()));
    publish("h_count", Arc::new(Counter::new()));
    publish("dupe", Arc::new(Func::new(|| serde_json::json!({"y": 1}))));
    publish("dupe\0y", Arc::new(Gauge::new()));
    publish("hostile", Arc::new(HostileFields));
    publish("panics", Arc::new(Panics));
    publish("silent", Arc::new(Silent));
    publish("nan_sum", Arc::new(NanSum));
    publish("9lives", Arc::new(Float::new()));
    publish("quote\"name", Arc::new(Str::new()));
    publish(
        "json",
        Arc::new(Func::new(
            || serde_json::json!({"list": [1, 2], "n": null, "deep": {"a": f64::MAX, "b": -1}}),
        )),
    );
    let by_key = Map::<Counter>::with_label("le");
    by_key.add("1", 1);
    publish("label_le", Arc::new(by_key));
    let keys = Map::<Counter>::new();
    for key in ["", "a\"b", "c\\d", "e\nf", "nul\0", "\u{2028}", "é"] {
        keys.add(key, 2);
    }
    publish("keys", Arc::new(keys));
    let latency = Histogram::new();
    latency.record(0.5);
    latency.record(f64::INFINITY);
    latency.record(f64::NAN);
    latency.record(-1.0);
    publish("latency_seconds", Arc::new(latency));
    registry
}

/// Constant labels and a namespace as hostile as the names.
pub fn options(format: PrometheusFormat) -> PrometheusOptions {
    PrometheusOptions::new()
        .format(format)
        .namespace("ns.x")
        .const_label("service", "a\"p\\i\nv2\0\u{2028}")
        .const_label("instance", "")
        .version("1.0\"")
}
