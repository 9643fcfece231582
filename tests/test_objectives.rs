//! Objectives: declared on the attribute (the global registry's `objectives`) and with
//! `Objective` (a registry of their own), shown in `/debug/vars` and `/metrics` with
//! exact counts, refused with a reason, answered by health and by the rules endpoint.
//!
//! The burn arithmetic has exact unit tests (`runtime/src/objectives/burn.rs`); the
//! windows over time are shown end to end by `test_objectives_e2e.rs`.

use std::sync::Arc;
use std::time::Duration;

use expvar::objectives::{self, ObjectiveError, State};
use expvar::{counted, timed, Counter, Histogram, Objective, Registry};
use serde_json::Value;

#[derive(Debug)]
struct Declined;

#[counted(objective = "99.9%")]
fn authorize(ok: bool) -> Result<(), Declined> {
    if ok {
        Ok(())
    } else {
        Err(Declined)
    }
}

// Two functions, one objective: their calls add up.
#[counted(objective = "99%", objective_name = "test_checkout", window = "7d")]
#[timed(objective = "99% < 250ms")]
fn checkout_cart(ok: bool) -> Option<()> {
    ok.then_some(())
}

#[counted(objective = "99%", objective_name = "test_checkout", window = "7d")]
#[timed(objective = "99% < 250ms")]
fn checkout_pay(ok: bool) -> Option<()> {
    ok.then_some(())
}

fn global_objective(name: &str) -> Value {
    let document: Value = serde_json::from_str(&expvar::to_json()).unwrap();
    document["objectives"][name].clone()
}

#[test]
fn declared_objectives_count_what_the_functions_count() {
    for ok in [true, true, true, false] {
        let _ = authorize(ok);
    }
    let authorize = global_objective(concat!(module_path!(), "::authorize"));
    assert_eq!(authorize["window"], "30d");
    assert_eq!(authorize["slis"]["success"]["target"], 0.999);
    assert_eq!(authorize["slis"]["success"]["total"], 4);
    assert_eq!(authorize["slis"]["success"]["errors"], 1);
    assert!(authorize["slis"].get("latency").is_none());

    for ok in [true, false] {
        checkout_cart(ok);
    }
    for ok in [true, true, true] {
        checkout_pay(ok);
    }
    let checkout = global_objective("test_checkout");
    assert_eq!(checkout["window"], "7d");
    assert_eq!(checkout["window_seconds"], 7 * 86_400);
    let success = &checkout["slis"]["success"];
    assert_eq!(
        (success["total"].as_u64(), success["errors"].as_u64()),
        (Some(5), Some(1))
    );
    // Every call took far less than 250 ms.
    let latency = &checkout["slis"]["latency"];
    assert_eq!(latency["target"], 0.99);
    assert_eq!(latency["threshold"], 0.25);
    assert_eq!(
        (latency["total"].as_u64(), latency["errors"].as_u64()),
        (Some(5), Some(0))
    );

    let metrics = expvar::to_prometheus();
    for line in [
        "expvar_objective_requests_total{objective=\"test_checkout\",sli=\"success\"} 5",
        "expvar_objective_errors_total{objective=\"test_checkout\",sli=\"success\"} 1",
        "expvar_objective_requests_total{objective=\"test_checkout\",sli=\"latency\"} 5",
        "expvar_objective_target_ratio{objective=\"test_checkout\",sli=\"latency\"} 0.99",
        "expvar_objective_latency_threshold_seconds{objective=\"test_checkout\",sli=\"latency\"} 0.25",
        "expvar_objective_window_seconds{objective=\"test_checkout\"} 604800",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing:\n{metrics}");
    }
    assert!(objectives::conflicts().is_empty());
    let specs = objectives::specs(Registry::global());
    let checkout = specs
        .iter()
        .find(|spec| spec.name == "test_checkout")
        .unwrap();
    assert_eq!(
        checkout.to_string(),
        "test_checkout: success 99%, latency 99% < 250ms over 7d"
    );
}

#[test]
fn the_default_buckets_are_the_powers_of_two_the_macros_check_against() {
    let powers: Vec<f64> = (-12..=4).map(|exponent| 2f64.powi(exponent)).collect();
    assert_eq!(expvar::vars::DEFAULT_BUCKETS, powers.as_slice());
}

#[test]
fn an_objective_of_counters_and_a_histogram_in_a_registry_of_its_own() {
    let registry = Registry::new();
    let total = Arc::new(Counter::new());
    let failed = Arc::new(Counter::new());
    let latency = Arc::new(Histogram::with_buckets(&[0.1, 0.5]));
    Objective::success_rate("search", 0.995)
        .counters(Arc::clone(&total), Arc::clone(&failed))
        .latency(Duration::from_millis(500), 0.9)
        .histogram(Arc::clone(&latency))
        .register(&registry)
        .unwrap();
    total.add(200);
    failed.add(3);
    for seconds in [0.05, 0.2, 0.7] {
        latency.record(seconds);
    }
    let document: Value = serde_json::from_str(&registry.to_json()).unwrap();
    let search = &document["objectives"]["search"];
    assert_eq!(search["state"], "ok");
    assert_eq!(search["slis"]["success"]["total"], 200);
    assert_eq!(search["slis"]["success"]["errors"], 3);
    // 0.7 s is over the threshold.
    assert_eq!(search["slis"]["latency"]["total"], 3);
    assert_eq!(search["slis"]["latency"]["errors"], 1);
    // Nothing counted when it was registered: the windows start empty.
    let status = &objectives::statuses(&registry)[0];
    assert_eq!(status.name, "search");
    assert_eq!(status.state, State::Ok);
    assert!(status
        .indicators
        .iter()
        .all(|sli| sli.windows.iter().all(|w| w.since_start)));
    assert_eq!(
        objectives::specs(&registry)[0].to_string(),
        "search: success 99.5%, latency 90% < 500ms over 30d"
    );
    // A second objective of another name joins the same `objectives` variable.
    Objective::new("search_latency")
        .latency(Duration::from_millis(100), 0.5)
        .histogram(Arc::clone(&latency))
        .register(&registry)
        .unwrap();
    assert_eq!(objectives::statuses(&registry).len(), 2);
}

#[test]
fn a_native_histogram_takes_any_latency_threshold_counting_conservatively() {
    let registry = Registry::new();
    let latency = Arc::new(Histogram::native());
    // 300 ms is no power of two, refused for a classic histogram, counted for a native one.
    Objective::new("native_latency")
        .latency(Duration::from_millis(300), 0.9)
        .histogram(Arc::clone(&latency))
        .register(&registry)
        .unwrap();
    // Fine buckets are 16 per power of two: 0.25 s is a bound, 0.3 s is not; the
    // largest bound under it is 2^(-2 + 4/16) s, about 0.2973 s.
    for seconds in [0.1, 0.25, 0.29, 0.2995, 0.31, 0.5] {
        latency.record(seconds);
    }
    let document: Value = serde_json::from_str(&registry.to_json()).unwrap();
    let sli = &document["objectives"]["native_latency"]["slis"]["latency"];
    assert_eq!(sli["total"], 6);
    // 0.31 and 0.5 are slow; 0.2995 is within 300 ms but past the last bound under it,
    // so it counts as slow too: never the other way round.
    assert_eq!(sli["errors"], 3);
}

#[test]
fn objectives_that_cannot_be_measured_are_refused_with_the_reason() {
    static TOTAL: Counter = Counter::new();
    static FAILED: Counter = Counter::new();
    static DURATIONS: Histogram = Histogram::new();
    let registry = Registry::new();
    let refused = |objective: Objective| objective.register(&registry).unwrap_err().to_string();

    assert!(
        refused(Objective::success_rate("a", 1.0).counters(&TOTAL, &FAILED))
            .contains("the success target must be more than 0 and less than 1")
    );
    assert!(
        refused(Objective::success_rate("a", 0.0).counters(&TOTAL, &FAILED))
            .contains("more than 0")
    );
    assert!(refused(Objective::success_rate("a", 0.99)).contains("nothing feeds its success"));
    assert!(refused(Objective::new("a")).contains("it has no indicator"));
    assert!(refused(Objective::new("a").counters(&TOTAL, &FAILED))
        .contains("its success indicator has no target"));
    assert!(refused(
        Objective::success_rate("a", 0.99)
            .counters(&TOTAL, &FAILED)
            .window(Duration::from_secs(91 * 86_400))
    )
    .contains("at most 90 days"));
    // 100 ms is not a power of two: not one of the default bounds.
    let error = Objective::new("a")
        .latency(Duration::from_millis(100), 0.99)
        .histogram(&DURATIONS)
        .register(&registry)
        .unwrap_err();
    assert!(matches!(error, ObjectiveError::NotABucketBound { .. }));
    assert!(
        error
            .to_string()
            .contains("latency threshold 100ms is not a bucket bound"),
        "{error}"
    );
    assert!(
        error.to_string().contains("62.5ms, 125ms, 250ms"),
        "{error}"
    );
    let error = Objective::success_rate("a", 0.99)
        .function("no::such::function")
        .unwrap_err();
    assert!(error
        .to_string()
        .contains("no instrumented function has the key"));

    Objective::success_rate("a", 0.99)
        .counters(&TOTAL, &FAILED)
        .register(&registry)
        .unwrap();
    let duplicate = refused(Objective::success_rate("a", 0.9).counters(&TOTAL, &FAILED));
    assert!(duplicate.contains("\"a\" is already registered (at tests/test_objectives.rs:"));

    // `objectives` taken by another variable.
    let taken = Registry::new();
    taken
        .publish("objectives", Arc::new(Counter::new()))
        .unwrap();
    let error = Objective::success_rate("a", 0.99)
        .counters(&TOTAL, &FAILED)
        .register(&taken)
        .unwrap_err();
    assert!(matches!(error, ObjectiveError::Publish(_)));
    assert!(std::error::Error::source(&error).is_some());
}

// Counted and timed, with no objective on the attribute.
#[counted]
#[timed]
fn refund(ok: bool) -> Result<(), Declined> {
    if ok {
        Ok(())
    } else {
        Err(Declined)
    }
}

#[test]
fn an_objective_fed_by_an_instrumented_function() {
    let registry = Registry::new();
    Objective::success_rate("refunds", 0.9)
        .latency(Duration::from_secs(1), 0.99)
        .function(concat!(module_path!(), "::refund"))
        .unwrap()
        .register(&registry)
        .unwrap();
    for ok in [true, false, false] {
        let _ = refund(ok);
    }
    let document: Value = serde_json::from_str(&registry.to_json()).unwrap();
    let slis = &document["objectives"]["refunds"]["slis"];
    assert_eq!(
        (
            slis["success"]["total"].as_u64(),
            slis["success"]["errors"].as_u64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(
        (
            slis["latency"]["total"].as_u64(),
            slis["latency"]["errors"].as_u64()
        ),
        (Some(3), Some(0))
    );
}

#[cfg(feature = "server")]
#[test]
fn health_stays_ok_and_the_rules_endpoint_serves_the_objectives() {
    use http_body_util::BodyExt as _;

    static TOTAL: Counter = Counter::new();
    static FAILED: Counter = Counter::new();
    let registry = Arc::new(Registry::new());
    Objective::success_rate("payments", 0.999)
        .counters(&TOTAL, &FAILED)
        .register(&registry)
        .unwrap();
    let service = expvar::service_for(Arc::clone(&registry));
    let body = |path: &str| {
        let response = service.respond(&hyper::Request::get(path).body(()).unwrap());
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        (
            status,
            content_type,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    };
    let (status, _, text) = body("/status/health");
    assert_eq!((status, text.as_str()), (200, "OK"));
    let (status, content_type, rules) = body("/debug/objectives/rules.yml");
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/yaml; charset=utf-8");
    assert!(
        rules.contains("  - name: \"expvar-objective-payments\"\n"),
        "{rules}"
    );
    assert_eq!(
        rules,
        objectives::rules_yaml(&objectives::specs(&registry), 1.0)
    );
}
