//! What a user of prometheus-client or metrics reaches for: bucket bounds for
//! `#[timed]` and for a derived `Histogram` field, a label per level of nested maps,
//! and doc comments of `#[expvar::publish]` statics as `HELP` text.

use std::time::Duration;

use expvar::{timed, Counter, Expvar, Histogram, Map};

fn metrics() -> String {
    expvar::to_prometheus()
}

fn lines_starting_with(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[timed(buckets = [0.00005, 0.0001, 0.001])]
fn fast_handler(x: u32) -> u32 {
    x + 1
}

#[test]
fn timed_buckets_set_the_le_bounds_of_the_duration() {
    assert_eq!(fast_handler(1), 2);
    let stats =
        expvar::functions::function_stats(concat!(module_path!(), "::fast_handler")).unwrap();
    assert_eq!(stats.calls(), 1);
    let text = metrics();
    let buckets = lines_starting_with(
        &text,
        "function_calls_duration_seconds_bucket{function=\"fast_handler\"",
    );
    let bounds: Vec<&str> = buckets
        .iter()
        .map(|line| {
            line.split(",le=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(bounds, ["0.00005", "0.0001", "0.001", "+Inf"], "{text}");
}

// `#[timed(..)]` second, absorbed by the `#[counted]` that expands first: its buckets
// still apply (they were dropped before the macros merged every argument of siblings).
#[expvar::counted]
#[timed(buckets = [0.25, 0.5])]
fn counted_then_timed() {}

#[test]
fn buckets_of_a_sibling_timed_apply() {
    counted_then_timed();
    let stats =
        expvar::functions::function_stats(concat!(module_path!(), "::counted_then_timed")).unwrap();
    assert_eq!(stats.duration().buckets(), [0.25, 0.5]);
}

#[derive(Expvar, Default)]
#[expvar(name = "test_options_sizes")]
struct Sizes {
    #[expvar(buckets = [64.0, 512, 4096.0])]
    response_bytes: Histogram,
    plain: Histogram,
}

#[test]
fn derived_histogram_fields_take_buckets() {
    let sizes = Sizes::global();
    sizes.response_bytes.record(100.0);
    sizes.plain.record_duration(Duration::from_millis(1));
    let text = metrics();
    let custom = lines_starting_with(&text, "test_options_sizes_response_bytes_bucket");
    assert_eq!(
        custom,
        [
            "test_options_sizes_response_bytes_bucket{le=\"64.0\"} 0",
            "test_options_sizes_response_bytes_bucket{le=\"512.0\"} 1",
            "test_options_sizes_response_bytes_bucket{le=\"4096.0\"} 1",
            "test_options_sizes_response_bytes_bucket{le=\"+Inf\"} 1",
        ],
        "{text}"
    );
    // The other field keeps the default bounds; the JSON is unchanged.
    let plain = lines_starting_with(&text, "test_options_sizes_plain_bucket");
    assert_eq!(
        plain.len(),
        expvar::vars::DEFAULT_BUCKETS.len() + 1,
        "{text}"
    );
    let json = expvar::render_json(sizes);
    assert!(
        json.starts_with(r#"{"response_bytes": {"count": 1,"#),
        "{json}"
    );
}

#[derive(Expvar, Default)]
#[expvar(name = "test_options_http")]
struct Http {
    #[expvar(labels = ["method", "status"])]
    responses: Map<Map<Counter>>,
}

#[test]
fn derived_nested_maps_name_each_level() {
    Http::global().responses.get_or_create("GET").inc("404");
    let text = metrics();
    assert!(
        text.contains("test_options_http_responses_total{method=\"GET\",status=\"404\"} 1\n"),
        "{text}"
    );
}

static RESPONSES: Map<Map<Counter>> = Map::with_labels(&["method", "status"]);

#[test]
fn nested_maps_name_each_level() {
    expvar::publish("test_options_responses", &RESPONSES).unwrap();
    RESPONSES.get_or_create("GET").inc("200");
    RESPONSES.get_or_create("GET").inc("200");
    RESPONSES.get_or_create("POST").inc("500");
    let text = metrics();
    let series = lines_starting_with(&text, "test_options_responses_total{");
    assert_eq!(
        series,
        [
            "test_options_responses_total{method=\"GET\",status=\"200\"} 2",
            "test_options_responses_total{method=\"POST\",status=\"500\"} 1",
        ],
        "{text}"
    );
    assert_eq!(
        expvar::render_json(&RESPONSES),
        r#"{"GET": {"200": 2}, "POST": {"500": 1}}"#
    );
}

/// Jobs taken from the queue.
///
/// Counted once per job, retries included.
#[expvar::publish]
static TEST_OPTIONS_JOBS: Counter = Counter::new();

#[test]
fn doc_comments_of_published_statics_become_help() {
    TEST_OPTIONS_JOBS.inc();
    let text = metrics();
    assert!(
        text.contains(
            "# HELP test_options_jobs_total Jobs taken from the queue. Counted once per job, retries included.\n"
        ),
        "{text}"
    );
    assert!(text.contains("test_options_jobs_total 1\n"), "{text}");
    assert_eq!(
        expvar::render_json(&*expvar::get("test_options_jobs").unwrap()),
        "1"
    );
}
