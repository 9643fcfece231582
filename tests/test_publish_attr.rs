//! `#[expvar::publish]` on a `static`: published at link time, no call needed.

use expvar::{Counter, Gauge, Map};

#[expvar::publish]
static TEST_PUBLISH_REQUESTS: Counter = Counter::new();

#[expvar::publish(name = "test_publish_results")]
static RESULTS: Map<Counter> = Map::with_label("result");

/// A doc comment and other attributes stay on the static.
#[expvar::publish]
#[allow(dead_code)]
pub static TEST_PUBLISH_LEVEL: Gauge = Gauge::new();

#[test]
fn the_name_defaults_to_the_lowercased_static_name() {
    TEST_PUBLISH_REQUESTS.add(3);
    let var = expvar::get("test_publish_requests").unwrap();
    assert_eq!(expvar::render_json(&*var), "3");
    assert!(expvar::get("test_publish_level").is_some());
}

#[test]
fn a_name_can_be_given() {
    RESULTS.inc("ok");
    RESULTS.inc("ok");
    let var = expvar::get("test_publish_results").unwrap();
    assert_eq!(expvar::render_json(&*var), r#"{"ok": 2}"#);
}

#[test]
fn the_attribute_and_the_publish_function_coexist() {
    static RUNTIME: Counter = Counter::new();
    expvar::publish("test_publish_runtime", &RUNTIME).unwrap();
    RUNTIME.inc();
    assert_eq!(
        expvar::render_json(&*expvar::get("test_publish_runtime").unwrap()),
        "1"
    );
    // A link-time name is taken like any other.
    let err = expvar::publish("test_publish_requests", &RUNTIME).unwrap_err();
    assert!(err.to_string().contains("already published"));
}

#[test]
fn a_static_inside_a_function_can_be_published() {
    #[expvar::publish(name = "test_publish_local")]
    static LOCAL: Counter = Counter::new();
    LOCAL.inc();
    assert_eq!(
        expvar::render_json(&*expvar::get("test_publish_local").unwrap()),
        "1"
    );
}
