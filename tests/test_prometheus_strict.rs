//! A hostile document through the strictest parsers there are: promtool, Python's
//! `prometheus_client` text and OpenMetrics parsers, and our own exposition checker.
//!
//! Names with quotes, backslashes, control characters, NUL and U+2028; `a.b` beside
//! `a_b`; `x` beside `x_created` and `x_total`; NaN, infinities and negative totals;
//! variables that panic or write nothing; constant labels with hostile values. Every
//! document must parse, with no duplicate series, in both formats.
//!
//! Needs `promtool` (Debian package `prometheus`) and a Python with `prometheus_client`
//! (`EXPVAR_PYTHON`, as `.ci/run` sets to its venv; else `python3`).

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use expvar::{
    Counter, Distribution, Float, Func, Gauge, Histogram, Map, PrometheusFormat, PrometheusOptions,
    Registry, Str, Var, Writer,
};
use support::exposition::{parse, Format};

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

fn hostile_registry() -> Registry {
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

fn options(format: PrometheusFormat) -> PrometheusOptions {
    PrometheusOptions::new()
        .format(format)
        .namespace("ns.x")
        .const_label("service", "a\"p\\i\nv2\0\u{2028}")
        .const_label("instance", "")
        .version("1.0\"")
}

#[test]
fn a_hostile_document_parses_strictly_in_both_formats() {
    let registry = hostile_registry();
    for format in [PrometheusFormat::Text, PrometheusFormat::OpenMetrics] {
        let text = registry.to_prometheus_with(&options(format));
        let ours = match format {
            PrometheusFormat::OpenMetrics => Format::OpenMetrics,
            _ => Format::Text,
        };
        parse(&text, ours).unwrap_or_else(|error| panic!("{error}\n{text}"));
        // Each clash keeps one family and never serves a name twice.
        assert_eq!(text.matches("# TYPE ns_x_a_b ").count(), 1, "{text}");
        assert!(!text.contains("ns_x_x_created"), "{text}");
        assert!(!text.contains("ns_x_label_le"), "{text}");
        assert!(!text.contains("total_nan"), "{text}");
        assert!(!text.contains("total_negative"), "{text}");
        assert!(!text.contains("nan_sum"), "{text}");
        assert!(!text.contains("panics"), "{text}");
        assert!(!text.contains("silent"), "{text}");
        assert!(text.contains("ns_x_latency_seconds_count{"), "{text}");
        strict_python(format, &text);
        if format == PrometheusFormat::Text {
            promtool(&text);
        }
    }
}

#[test]
fn the_json_view_of_the_same_registry_stays_valid() {
    let json = hostile_registry().to_json();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["panics"], serde_json::Value::Null);
    assert_eq!(parsed["silent"], serde_json::Value::Null);
    assert_eq!(parsed["hostile"]["nan"], serde_json::Value::Null);
    assert_eq!(parsed["latency_seconds"]["count"], 3);
}

/// Runs Python's strict parser on `text`, if a Python with `prometheus_client` is here.
fn strict_python(format: PrometheusFormat, text: &str) {
    let python = std::env::var("EXPVAR_PYTHON").unwrap_or_else(|_| "python3".into());
    if !support::external_program(
        &python,
        &["-c", "import prometheus_client"],
        "python3-venv (then pip install prometheus_client; see .ci/run)",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("expvar-strict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name = match format {
        PrometheusFormat::OpenMetrics => "openmetrics",
        _ => "text",
    };
    let path = dir.join(format!("{name}.txt"));
    std::fs::write(&path, text).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/strict/parse.py");
    let output = Command::new(&python)
        .args([script, name])
        .arg(&path)
        .output()
        .expect("running python");
    assert!(
        output.status.success(),
        "{}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    eprintln!("{}", String::from_utf8_lossy(&output.stdout).trim());
}

fn promtool(text: &str) {
    if !support::external_program("promtool", &["--version"], "prometheus") {
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    // promtool also exits non-zero for style remarks on hostile names ("metric names
    // should not contain abbreviated units"); what must not happen is a parse error.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !said.contains("error while linting") && !said.contains("parsing error"),
        "promtool: {said}\n{text}"
    );
    for remark in said.lines() {
        eprintln!("promtool remark: {remark}");
    }
}
