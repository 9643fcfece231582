//! `/metrics`: a registry with every variable type, rendered and read back through a
//! strict exposition parser in both formats.
#![cfg(feature = "server")]

use expvar_test_support as support;

use std::sync::Arc;

use expvar::{
    prometheus::{PrometheusFormat, PrometheusOptions},
    Counter, Float, Gauge, Histogram, Map, Str, Var, Writer,
};
use support::exposition::{parse, Family, Format};

static REQUESTS: Counter = Counter::new();
static QUEUE_DEPTH: Gauge = Gauge::new();
static RATIO: Float = Float::new();
static VERSION: Str = Str::new();
static RESULTS: Map<Counter> = Map::with_label("result");
static LATENCY: Histogram = Histogram::with_buckets(&[0.5, 1.0, 2.0]);
static SIZES: Map<Histogram> = Map::with_label("route");
static NESTED: Map<Map<Gauge>> = Map::with_label("outer");
static WEIRD: Gauge = Gauge::new();
static DIGIT: Gauge = Gauge::new();
static DUP_DOT: Gauge = Gauge::new();
static DUP_UNDERSCORE: Gauge = Gauge::new();

/// What `#[derive(Expvar)]` writes for a struct with doc comments.
struct Queue;

impl Var for Queue {
    fn write(&self, out: Writer<'_>) {
        out.object(|fields| {
            fields
                .field_with_help("pending", "Items waiting.\nSecond \\ line \"quoted\"")
                .gauge(4);
            fields.field("done").counter(9);
            fields.field("cpu_seconds").counter_f64(1.5);
            fields.field("healthy").bool(true);
            fields.field("inner").object(|inner| {
                inner.field("depth").gauge(-2);
            });
        });
    }
}

struct Panics;

impl Var for Panics {
    fn write(&self, out: Writer<'_>) {
        out.object(|fields| {
            fields.field("before").gauge(1);
            panic!("deliberate panic in a test variable");
        });
    }
}

fn setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        expvar::publish("prom_requests_total", &REQUESTS).unwrap();
        expvar::publish("prom_queue_depth", &QUEUE_DEPTH).unwrap();
        expvar::publish("prom_ratio", &RATIO).unwrap();
        expvar::publish("prom_version", &VERSION).unwrap();
        expvar::publish("prom_results", &RESULTS).unwrap();
        expvar::publish("prom_latency_seconds", &LATENCY).unwrap();
        expvar::publish("prom_sizes_bytes", &SIZES).unwrap();
        expvar::publish("prom_nested", &NESTED).unwrap();
        expvar::publish("prom.weird-name:1", &WEIRD).unwrap();
        expvar::publish("9prom_lives", &DIGIT).unwrap();
        expvar::publish("prom_dup.x", &DUP_DOT).unwrap();
        expvar::publish("prom_dup_x", &DUP_UNDERSCORE).unwrap();
        expvar::publish("prom_queue", Arc::new(Queue)).unwrap();
        expvar::publish("prom_panics", Arc::new(Panics)).unwrap();
        expvar::publish_func("prom_func_number", || 42).unwrap();
        expvar::publish_func("prom_func_string", || "fast").unwrap();
        expvar::publish_func(
            "prom_func_object",
            || serde_json::json!({"a": 1.5, "b": "x", "c": [1, 2], "d": null}),
        )
        .unwrap();
        expvar::publish_func("prom_func_list", || [1, 2, 3]).unwrap();

        REQUESTS.add(7);
        QUEUE_DEPTH.set(-3);
        RATIO.set(0.25);
        VERSION.set("1.2.3 \"beta\" \\ é\nnext");
        RESULTS.add("ok", 5);
        RESULTS.add("fail", 2);
        RESULTS.add("we\"ird\\\nké", 1);
        for value in [0.25, 0.75, 1.5, 3.0] {
            LATENCY.record(value);
        }
        SIZES.get_or_create("/a").record(0.003);
        SIZES.get_or_create("/b").record(100.0);
        NESTED.get_or_create("x").add("y", 3);
        NESTED.get_or_create("x").add("z", 4);
        WEIRD.set(11);
        DIGIT.set(9);
        DUP_DOT.set(1);
        DUP_UNDERSCORE.set(2);
    });
}

fn family<'a>(families: &'a [Family], name: &str) -> &'a Family {
    families
        .iter()
        .find(|family| family.name == name)
        .unwrap_or_else(|| panic!("no family {name}"))
}

fn has_family(families: &[Family], name: &str) -> bool {
    families.iter().any(|family| family.name == name)
}

#[test]
fn text_format_round_trips() {
    setup();
    let text = expvar::to_prometheus();
    let families = parse(&text, Format::Text).unwrap_or_else(|error| panic!("{error}\n{text}"));

    let requests = family(&families, "prom_requests_total");
    assert_eq!(requests.kind, "counter");
    assert_eq!(requests.help, "expvar variable prom_requests_total");
    assert_eq!(requests.value("prom_requests_total", &[]), Some(7.0));

    let depth = family(&families, "prom_queue_depth");
    assert_eq!(depth.kind, "gauge");
    assert_eq!(depth.value("prom_queue_depth", &[]), Some(-3.0));
    assert_eq!(
        family(&families, "prom_ratio").value("prom_ratio", &[]),
        Some(0.25)
    );

    let version = family(&families, "prom_version_info");
    assert_eq!(version.kind, "gauge");
    assert_eq!(
        version.value(
            "prom_version_info",
            &[("value", "1.2.3 \"beta\" \\ é\nnext")]
        ),
        Some(1.0)
    );

    let results = family(&families, "prom_results_total");
    assert_eq!(results.samples.len(), 3);
    assert_eq!(
        results.value("prom_results_total", &[("result", "ok")]),
        Some(5.0)
    );
    assert_eq!(
        results.value("prom_results_total", &[("result", "fail")]),
        Some(2.0)
    );
    assert_eq!(
        results.value("prom_results_total", &[("result", "we\"ird\\\nké")]),
        Some(1.0)
    );

    let latency = family(&families, "prom_latency_seconds");
    assert_eq!(latency.kind, "histogram");
    for (le, count) in [("0.5", 1.0), ("1.0", 2.0), ("2.0", 3.0), ("+Inf", 4.0)] {
        assert_eq!(
            latency.value("prom_latency_seconds_bucket", &[("le", le)]),
            Some(count),
            "le={le}"
        );
    }
    assert_eq!(latency.value("prom_latency_seconds_sum", &[]), Some(5.5));
    assert_eq!(latency.value("prom_latency_seconds_count", &[]), Some(4.0));
    assert_eq!(latency.samples.len(), 6);

    let sizes = family(&families, "prom_sizes_bytes");
    let buckets = expvar::vars::DEFAULT_BUCKETS.len() + 1;
    assert_eq!(sizes.samples.len(), 2 * (buckets + 2));
    assert_eq!(
        sizes.value(
            "prom_sizes_bytes_bucket",
            &[("route", "/a"), ("le", "0.00390625")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sizes.value(
            "prom_sizes_bytes_bucket",
            &[("route", "/b"), ("le", "16.0")]
        ),
        Some(0.0)
    );
    assert_eq!(
        sizes.value("prom_sizes_bytes_count", &[("route", "/b")]),
        Some(1.0)
    );

    let nested = family(&families, "prom_nested");
    assert_eq!(
        nested.value("prom_nested", &[("outer", "x"), ("key", "z")]),
        Some(4.0)
    );

    // Derived structs: names joined with `_`, help from doc comments.
    let pending = family(&families, "prom_queue_pending");
    assert_eq!(pending.help, "Items waiting.\nSecond \\ line \"quoted\"");
    assert_eq!(pending.value("prom_queue_pending", &[]), Some(4.0));
    let done = family(&families, "prom_queue_done_total");
    assert_eq!(done.value("prom_queue_done_total", &[]), Some(9.0));
    let cpu = family(&families, "prom_queue_cpu_seconds_total");
    assert_eq!(cpu.kind, "counter");
    assert_eq!(cpu.value("prom_queue_cpu_seconds_total", &[]), Some(1.5));
    assert_eq!(
        family(&families, "prom_queue_healthy").value("prom_queue_healthy", &[]),
        Some(1.0)
    );
    assert_eq!(
        family(&families, "prom_queue_inner_depth").value("prom_queue_inner_depth", &[]),
        Some(-2.0)
    );

    // Sanitised names; of two that sanitise alike, the first by name is kept.
    assert_eq!(
        family(&families, "prom_weird_name_1").value("prom_weird_name_1", &[]),
        Some(11.0)
    );
    assert_eq!(
        family(&families, "_9prom_lives").value("_9prom_lives", &[]),
        Some(9.0)
    );
    assert_eq!(
        family(&families, "prom_dup_x").value("prom_dup_x", &[]),
        Some(1.0)
    );

    // Funcs: numbers as gauges, strings as info, objects joined; lists left out.
    assert_eq!(
        family(&families, "prom_func_number").value("prom_func_number", &[]),
        Some(42.0)
    );
    assert_eq!(
        family(&families, "prom_func_string_info")
            .value("prom_func_string_info", &[("value", "fast")]),
        Some(1.0)
    );
    assert_eq!(
        family(&families, "prom_func_object_a").value("prom_func_object_a", &[]),
        Some(1.5)
    );
    assert!(has_family(&families, "prom_func_object_b_info"));
    assert!(!has_family(&families, "prom_func_object_c"));
    assert!(!has_family(&families, "prom_func_object_d"));
    assert!(!has_family(&families, "prom_func_list"));

    // A panicking variable is left out entirely; the rest is intact.
    assert!(!families
        .iter()
        .any(|family| family.name.starts_with("prom_panics")));
    assert!(expvar::registry::render_failures() >= 1);

    // Built-ins: memstats mapped to a few gauges and counters, no command line.
    assert_eq!(family(&families, "memstats_heap_inuse_bytes").kind, "gauge");
    assert_eq!(
        family(&families, "memstats_alloc_bytes_total").kind,
        "counter"
    );
    assert!(!families
        .iter()
        .any(|family| family.name.contains("Pause") || family.name.starts_with("cmdline")));
    let build = family(&families, "build_info");
    assert_eq!(
        build.value(
            "build_info",
            &[("expvar_version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
}

#[test]
fn openmetrics_with_namespace_and_constant_labels_round_trips() {
    setup();
    let options = PrometheusOptions::new()
        .format(PrometheusFormat::OpenMetrics)
        .namespace("app")
        .const_label("service", "api \"v2\"")
        .const_label("instance", "host-1")
        .version("9.9.9");
    let text = expvar::prometheus::to_prometheus_with(&options);
    let families =
        parse(&text, Format::OpenMetrics).unwrap_or_else(|error| panic!("{error}\n{text}"));
    for family in &families {
        for sample in &family.samples {
            assert_eq!(sample.labels["service"], "api \"v2\"", "{}", sample.name);
            assert_eq!(sample.labels["instance"], "host-1", "{}", sample.name);
        }
    }
    let constant = [("instance", "host-1"), ("service", "api \"v2\"")];

    let requests = family(&families, "app_prom_requests");
    assert_eq!(requests.kind, "counter");
    assert_eq!(
        requests.value("app_prom_requests_total", &constant),
        Some(7.0)
    );

    let version = family(&families, "app_prom_version");
    assert_eq!(version.kind, "info");
    let mut labels = constant.to_vec();
    labels.push(("value", "1.2.3 \"beta\" \\ é\nnext"));
    assert_eq!(version.value("app_prom_version_info", &labels), Some(1.0));

    let pending = family(&families, "app_prom_queue_pending");
    assert_eq!(pending.help, "Items waiting.\nSecond \\ line \"quoted\"");

    // Standard families keep their names.
    assert!(has_family(&families, "memstats_heap_inuse_bytes"));
    let mut labels = constant.to_vec();
    labels.extend([
        ("version", "9.9.9"),
        ("expvar_version", env!("CARGO_PKG_VERSION")),
    ]);
    assert_eq!(
        family(&families, "build_info").value("build_info", &labels),
        Some(1.0)
    );
    assert!(!families
        .iter()
        .any(|family| family.name.starts_with("prom_")));
}

#[test]
fn json_is_unchanged_by_float_counters() {
    assert_eq!(
        expvar::render_json(&Queue),
        r#"{"pending": 4, "done": 9, "cpu_seconds": 1.5, "healthy": true, "inner": {"depth": -2}}"#
    );
}
