//! Feature `opentelemetry`: `#[counted]` and `#[timed]` attach the sampled span's
//! `trace_id` and `span_id` as exemplars of what they record, and nothing when no
//! sampled span is active. Run with `--features opentelemetry`.

use expvar::prometheus::{PrometheusFormat, PrometheusOptions};
use expvar::{counted, timed};
use expvar_test_support as support;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use support::exposition::{parse, Format};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

#[timed]
fn otel_timed(fail: bool) -> Result<(), ()> {
    if fail {
        Err(())
    } else {
        Ok(())
    }
}

#[counted]
fn otel_counted() {}

#[counted]
fn otel_untraced() {}

/// Runs `work` inside a span with `flags`.
fn in_span(flags: TraceFlags, work: impl FnOnce()) {
    let span = SpanContext::new(
        TraceId::from_hex(TRACE).unwrap(),
        SpanId::from_hex(SPAN).unwrap(),
        flags,
        true,
        TraceState::default(),
    );
    let _attached = Context::current().with_remote_span_context(span).attach();
    work();
}

fn line<'a>(text: &'a str, start: &str, function: &str) -> &'a str {
    text.lines()
        .find(|line| line.starts_with(start) && line.contains(&format!("function=\"{function}\"")))
        .unwrap_or_else(|| panic!("no {start} for {function}\n{text}"))
}

#[test]
fn sampled_spans_become_exemplars_and_others_do_not() {
    in_span(TraceFlags::SAMPLED, || {
        let _ = otel_timed(false);
        let _ = otel_timed(true);
        otel_counted();
    });
    in_span(TraceFlags::default(), otel_untraced);
    otel_untraced();

    let options = PrometheusOptions::new().format(PrometheusFormat::OpenMetrics);
    let text = expvar::prometheus::to_prometheus_with(&options);
    let ids = format!("{{trace_id=\"{TRACE}\",span_id=\"{SPAN}\"}}");
    let ok = line(&text, "function_calls_total{", "otel_counted");
    assert!(
        ok.contains("result=\"ok\"") && ok.contains(&format!(" # {ids} 1.0 ")),
        "{ok}"
    );
    let error = text
        .lines()
        .find(|line| line.contains("function=\"otel_timed\"") && line.contains("result=\"error\""))
        .unwrap();
    assert!(error.contains(&format!("}} 1 # {ids} 1.0 ")), "{error}");
    let bucket = line(
        &text,
        "function_calls_duration_seconds_bucket{",
        "otel_timed",
    );
    assert!(bucket.contains(&format!(" # {ids} ")), "{bucket}");
    for line in text.lines().filter(|line| line.contains("otel_untraced")) {
        assert!(
            !line.contains(" # "),
            "an unsampled span gave an exemplar: {line}"
        );
    }
    parse(&text, Format::OpenMetrics).unwrap_or_else(|error| panic!("{error}\n{text}"));
    if let Some(parsed) = support::python::parse_exposition("openmetrics", &text) {
        parsed.unwrap_or_else(|complaint| panic!("{complaint}\n{text}"));
    }
}
