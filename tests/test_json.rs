//! The `/debug/vars` document: Go's layout, always valid JSON. Each test renders a
//! registry of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use expvar::{Counter, Float, Map, Registry, Str};

fn parse(json: &str) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::from_str(json) {
        Ok(serde_json::Value::Object(map)) => map,
        other => panic!("not a JSON object ({other:?}):\n{json}"),
    }
}

#[test]
fn layout_matches_go() {
    // Go's layout of the whole document, built-in variables included: the global one.
    let registry = Registry::global();
    static LAYOUT: Counter = Counter::new();
    registry.publish("test_json_layout", &LAYOUT).unwrap();
    let json = registry.to_json();
    assert!(json.starts_with("{\n\""), "{json}");
    assert!(json.ends_with("\n}\n"));
    // One variable per line, `"name": value`, keys sorted byte-wise.
    let lines: Vec<&str> = json.trim_end().lines().collect();
    let keys: Vec<String> = lines[1..lines.len() - 1]
        .iter()
        .map(|line| {
            let (key, _) = line.split_once(": ").expect("`\"name\": value` line");
            serde_json::from_str::<String>(key).expect("quoted key")
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(keys, sorted);
    assert!(lines
        .iter()
        .any(|line| line.trim_end_matches(',') == "\"test_json_layout\": 0"));
    let cmdline = &parse(&json)["cmdline"];
    assert!(cmdline
        .as_array()
        .unwrap()
        .iter()
        .all(|arg| arg.is_string()));
    assert!(parse(&json)["memstats"].is_object());
}

#[test]
fn names_and_strings_are_escaped() {
    let registry = &Registry::new();
    static ODD: Str = Str::new();
    ODD.set("tab\tquote\"nul\u{0}é✓");
    let name = "test_json_odd \"name\"\n\u{1}ü";
    registry.publish(name, &ODD).unwrap();
    let parsed = parse(&registry.to_json());
    assert_eq!(parsed[name], "tab\tquote\"nul\u{0}é✓");
}

#[test]
fn non_finite_floats_are_null() {
    let registry = &Registry::new();
    static NAN: Float = Float::new();
    static INF: Float = Float::new();
    NAN.set(f64::NAN);
    INF.set(f64::INFINITY);
    registry.publish("test_json_nan", &NAN).unwrap();
    registry.publish("test_json_inf", &INF).unwrap();
    registry
        .publish_func("test_json_func_nan", || f64::NAN)
        .unwrap();
    let parsed = parse(&registry.to_json());
    assert!(parsed["test_json_nan"].is_null());
    assert!(parsed["test_json_inf"].is_null());
    assert!(parsed["test_json_func_nan"].is_null());
}

#[test]
fn failing_funcs_are_null_and_counted_and_the_rest_survives() {
    let registry = &Registry::new();
    static AFTER: Counter = Counter::new();
    AFTER.add(7);
    registry
        .publish(
            "test_json_panics",
            Arc::new(expvar::Func::new(|| -> u32 { panic!("boom") })),
        )
        .unwrap();
    // Tuple keys cannot be JSON object keys: serialization fails.
    registry
        .publish_func("test_json_bad_serialize", || HashMap::from([((1, 2), 3)]))
        .unwrap();
    registry.publish("test_json_z_after", &AFTER).unwrap();
    let before = expvar::registry::render_failures();
    let parsed = parse(&registry.to_json());
    assert!(parsed["test_json_panics"].is_null());
    assert!(parsed["test_json_bad_serialize"].is_null());
    assert_eq!(parsed["test_json_z_after"], 7);
    assert!(expvar::registry::render_failures() >= before + 2);
    // And it keeps working afterwards.
    assert_eq!(parse(&registry.to_json())["test_json_z_after"], 7);
}

#[test]
fn a_panic_inside_a_nested_value_leaves_valid_json() {
    let registry = &Registry::new();
    let outer: Map<expvar::Func<fn() -> u8>> = Map::new();
    fn fine() -> u8 {
        1
    }
    fn broken() -> u8 {
        panic!("nested boom")
    }
    outer.set("a", expvar::Func::new(fine));
    outer.set("b", expvar::Func::new(broken));
    registry
        .publish("test_json_nested_panic", Arc::new(outer))
        .unwrap();
    let parsed = parse(&registry.to_json());
    assert!(parsed["test_json_nested_panic"].is_null());
}

#[test]
fn every_document_is_valid_json_under_concurrent_writes() {
    let registry = &Registry::new();
    static CHURN: Map<Counter> = Map::new();
    static FLOAT: Float = Float::new();
    registry.publish("test_json_churn", &CHURN).unwrap();
    registry.publish("test_json_churn_float", &FLOAT).unwrap();
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        for writer in 0..3 {
            let stop = &stop;
            scope.spawn(move || {
                let mut i = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("k{}", (i * 7 + writer) % 50);
                    CHURN.add(&key, 1);
                    if i % 5 == 0 {
                        CHURN.remove(&key);
                    }
                    FLOAT.add(0.1);
                    let runtime = Arc::new(Counter::new());
                    let name = format!("test_json_churn_rt_{writer}_{}", i % 10);
                    if registry.publish(name.clone(), runtime).is_ok() && i % 2 == 0 {
                        registry.unpublish(&name);
                    }
                    i += 1;
                }
            });
        }
        for _ in 0..200 {
            let parsed = parse(&registry.to_json());
            assert!(parsed["test_json_churn"].is_object());
        }
        stop.store(true, Ordering::Relaxed);
    });
}
