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

use expvar_test_support as support;

use expvar::prometheus::PrometheusFormat;
use support::exposition::{parse, Format};
use support::hostile::{hostile_registry, options};
use support::prometheus::run_promtool;

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
    // Infinity and NaN are refused; -1 counts as 0.
    assert_eq!(parsed["latency_seconds"]["count"], 2);
}

/// Runs Python's strict parser on `text`, if a Python with `prometheus_client` is here.
fn strict_python(format: PrometheusFormat, text: &str) {
    let name = match format {
        PrometheusFormat::OpenMetrics => "openmetrics",
        _ => "text",
    };
    if let Some(parsed) = support::python::parse_exposition(name, text) {
        let figures = parsed.unwrap_or_else(|complaint| panic!("{complaint}\n{text}"));
        eprintln!("{}", figures.trim());
    }
}

fn promtool(text: &str) {
    if !support::external_program("promtool", &["--version"], "prometheus") {
        return;
    }
    let output = run_promtool(&["check", "metrics"], Some(text));
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
