//! Exemplars: kept per series (per bucket for histograms), shown in OpenMetrics after
//! the sample and nowhere in text 0.0.4, and the hostile ones refused with a defined
//! result. The OpenMetrics document passes Python's strict `prometheus_client` parser
//! and our own checker; the text one passes promtool.
//!
//! The Python and promtool checks need `EXPVAR_PYTHON` with `prometheus_client` and
//! `promtool` (see `.ci/run`); without them they are skipped, unless
//! `EXPVAR_REQUIRE_E2E=1`.

use std::sync::Arc;

use expvar::prometheus::{PrometheusFormat, PrometheusOptions};
use expvar::vars::{
    refused_exemplars, Distribution, Exemplar, ExemplarError, MAX_EXEMPLAR_LABEL_CHARS,
};
use expvar::{Counter, Histogram, Registry, Var, Writer};
use expvar_test_support as support;
use support::exposition::{parse, Format};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn openmetrics(registry: &Registry) -> String {
    registry.to_prometheus_with(&PrometheusOptions::new().format(PrometheusFormat::OpenMetrics))
}

/// A registry with a counter and histograms carrying exemplars.
fn registry() -> Registry {
    let jobs = Arc::new(Counter::new());
    jobs.add(4);
    jobs.inc_with_exemplar(&[("trace_id", TRACE), ("span_id", "00f067aa0ba902b7")])
        .unwrap();
    let latency = Arc::new(Histogram::with_buckets(&[0.25, 1.0]));
    latency
        .record_with_exemplar(0.1, &[("trace_id", "low")])
        .unwrap();
    latency
        .record_with_exemplar(0.2, &[("trace_id", "low-later")])
        .unwrap();
    latency
        .record_with_exemplar(0.5, &[("trace_id", "mid")])
        .unwrap();
    latency
        .record_with_exemplar(3.0, &[("trace_id", "high")])
        .unwrap();
    let native = Arc::new(Histogram::native());
    native
        .record_with_exemplar(0.042, &[("trace_id", "n1")])
        .unwrap();
    let registry = Registry::new();
    registry.publish("jobs", jobs).unwrap();
    registry.publish("latency_seconds", latency).unwrap();
    registry.publish("native_seconds", native).unwrap();
    registry
}

fn line<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no line {start}\n{text}"))
}

#[test]
fn openmetrics_shows_the_latest_exemplar_of_each_series_and_bucket() {
    let text = openmetrics(&registry());
    let exemplar = |line: &str| line.split_once(" # ").map(|(_, e)| e.to_owned());
    let jobs = exemplar(line(&text, "jobs_total ")).unwrap();
    assert!(
        jobs.starts_with(&format!(
            "{{trace_id=\"{TRACE}\",span_id=\"00f067aa0ba902b7\"}} 1.0 "
        )),
        "{jobs}"
    );
    // One per bucket, the latest of those in it.
    let low = exemplar(line(&text, "latency_seconds_bucket{le=\"0.25\"}")).unwrap();
    assert!(low.starts_with("{trace_id=\"low-later\"} 0.2 "), "{low}");
    let mid = exemplar(line(&text, "latency_seconds_bucket{le=\"1.0\"}")).unwrap();
    assert!(mid.starts_with("{trace_id=\"mid\"} 0.5 "), "{mid}");
    let high = exemplar(line(&text, "latency_seconds_bucket{le=\"+Inf\"}")).unwrap();
    assert!(high.starts_with("{trace_id=\"high\"} 3.0 "), "{high}");
    // A native histogram without `le` bounds: on its `+Inf` bucket.
    let native = exemplar(line(&text, "native_seconds_bucket{le=\"+Inf\"}")).unwrap();
    assert!(native.starts_with("{trace_id=\"n1\"} 0.042 "), "{native}");
    // Timestamps are now, in seconds.
    let timestamp: f64 = high.rsplit(' ').next().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - timestamp).abs() < 600.0, "{timestamp} vs {now}");

    let families =
        parse(&text, Format::OpenMetrics).unwrap_or_else(|error| panic!("{error}\n{text}"));
    let exemplars = families
        .iter()
        .flat_map(|family| &family.samples)
        .filter(|sample| sample.exemplar.is_some())
        .count();
    assert_eq!(exemplars, 5);
    if let Some(parsed) = support::python::parse_exposition("openmetrics", &text) {
        parsed.unwrap_or_else(|complaint| panic!("{complaint}\n{text}"));
    }
}

#[test]
fn text_0_0_4_has_no_exemplars() {
    let text = registry().to_prometheus();
    assert!(!text.contains(" # "), "{text}");
    parse(&text, Format::Text).unwrap();
    if support::external_program("promtool", &["--version"], "prometheus") {
        support::prometheus::promtool_check(&text);
    }
    if let Some(parsed) = support::python::parse_exposition("text", &text) {
        parsed.unwrap_or_else(|complaint| panic!("{complaint}\n{text}"));
    }
}

#[test]
fn hostile_exemplars_are_refused_and_counted_and_the_values_still_count() {
    let counter = Counter::new();
    let before = refused_exemplars();
    let long = "x".repeat(MAX_EXEMPLAR_LABEL_CHARS);
    assert_eq!(
        counter.inc_with_exemplar(&[("trace_id", &long)]),
        Err(ExemplarError::TooLong {
            chars: MAX_EXEMPLAR_LABEL_CHARS + 8
        })
    );
    assert_eq!(
        counter.inc_with_exemplar(&[("trace id", "x")]),
        Err(ExemplarError::BadName("trace id".into()))
    );
    assert_eq!(
        counter.inc_with_exemplar(&[("__ok", "x"), ("", "y")]),
        Err(ExemplarError::BadName(String::new()))
    );
    // Exactly the budget is fine: 8 + 120 characters.
    let fits = "é".repeat(MAX_EXEMPLAR_LABEL_CHARS - 8);
    counter.inc_with_exemplar(&[("trace_id", &fits)]).unwrap();
    assert_eq!(counter.get(), 4, "every call counted");
    assert!(refused_exemplars() >= before + 3);
    assert!(ExemplarError::TooLong { chars: 200 }
        .to_string()
        .contains("128"));

    let histogram = Histogram::new();
    assert!(histogram.record_with_exemplar(1.0, &[("1x", "y")]).is_err());
    histogram
        .record_with_exemplar(f64::NAN, &[("ok", "y")])
        .unwrap();
    assert_eq!(
        histogram.count(),
        1,
        "NaN refused by the histogram, with no exemplar"
    );
}

/// Exemplars a type of its own hands the encoders: the invalid ones are left out of
/// the document, the rest shown.
struct Handmade;

impl Var for Handmade {
    fn write(&self, out: Writer<'_>) {
        let long = "y".repeat(200);
        let exemplars = [
            Exemplar {
                labels: &[("trace_id", "kept")],
                value: 0.5,
                timestamp: 1.7e9,
            },
            Exemplar {
                labels: &[("bad-name", "x")],
                value: 0.6,
                timestamp: 1.7e9,
            },
            Exemplar {
                labels: &[("trace_id", &long)],
                value: 0.7,
                timestamp: 1.7e9,
            },
            Exemplar {
                labels: &[("trace_id", "nan")],
                value: f64::NAN,
                timestamp: 1.7e9,
            },
            Exemplar {
                labels: &[("trace_id", "when")],
                value: 2.0,
                timestamp: f64::INFINITY,
            },
        ];
        out.distribution_with(
            &Distribution {
                count: 2,
                sum: 1.5,
                min: 0.5,
                max: 1.0,
                buckets: &[(1.0, 2)],
                quantiles: &[],
            },
            None,
            &exemplars,
        );
    }
}

#[test]
fn invalid_exemplars_from_a_var_are_left_out_of_the_document() {
    let registry = Registry::new();
    registry.publish("handmade", Arc::new(Handmade)).unwrap();
    let text = openmetrics(&registry);
    assert!(
        line(&text, "handmade_bucket{le=\"1.0\"}")
            .ends_with(" # {trace_id=\"kept\"} 0.5 1700000000.0"),
        "{text}"
    );
    assert!(
        !line(&text, "handmade_bucket{le=\"+Inf\"}").contains('#'),
        "{text}"
    );
    parse(&text, Format::OpenMetrics).unwrap_or_else(|error| panic!("{error}\n{text}"));
    if let Some(parsed) = support::python::parse_exposition("openmetrics", &text) {
        parsed.unwrap_or_else(|complaint| panic!("{complaint}\n{text}"));
    }
}
