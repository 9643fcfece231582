//! Publishing: names, duplicates (runtime and link time), lookup and iteration.

use std::sync::Arc;

use expvar::{registry::PublishError, Counter, Gauge, Var, Writer};

fn twice_registered() -> &'static dyn Var {
    static TWICE: Counter = Counter::new();
    &TWICE
}

// Two link-time entries with one name, as two crates or two macros could produce.
expvar::__private::inventory::submit! {
    expvar::__private::Entry::new("test_registry_twice", twice_registered, "src/first.rs", 10)
}
expvar::__private::inventory::submit! {
    expvar::__private::Entry::new("test_registry_twice", twice_registered, "src/second.rs", 20)
}

// Two instrumented functions given one key (two `#[counted(name = "...")]` alike).
static FIRST_FUNCTION: expvar::__private::FunctionStats = expvar::__private::FunctionStats::new();
static SECOND_FUNCTION: expvar::__private::FunctionStats = expvar::__private::FunctionStats::new();

const fn function_info(file: &'static str, line: u32) -> expvar::__private::FunctionInfo {
    expvar::__private::FunctionInfo {
        key: "test_registry_twice_fn",
        module: "test_registry",
        function: "twice_fn",
        timed: false,
        fallible: false,
        site: expvar::__private::Site { file, line },
    }
}

expvar::__private::inventory::submit! {
    expvar::__private::FunctionEntry::new(&FIRST_FUNCTION, function_info("src/a.rs", 1))
}
expvar::__private::inventory::submit! {
    expvar::__private::FunctionEntry::new(&SECOND_FUNCTION, function_info("src/b.rs", 2))
}

#[test]
fn duplicate_function_keys_are_reported_with_both_sites() {
    let conflicts = expvar::registry::conflicts();
    let conflict = conflicts
        .iter()
        .find(|conflict| conflict.name == "test_registry_twice_fn")
        .expect("the duplicate function key is reported");
    assert_eq!(conflict.kept.to_string(), "src/a.rs:1");
    assert_eq!(conflict.ignored.to_string(), "src/b.rs:2");
    assert!(std::ptr::eq(
        expvar::functions::function_stats("test_registry_twice_fn").unwrap(),
        &FIRST_FUNCTION
    ));
}

#[test]
fn link_time_duplicates_are_reported_with_both_sites() {
    let conflicts = expvar::registry::conflicts();
    let conflict = conflicts
        .iter()
        .find(|conflict| conflict.name == "test_registry_twice")
        .expect("the duplicate is reported");
    assert_eq!(conflict.kept.to_string(), "src/first.rs:10");
    assert_eq!(conflict.ignored.to_string(), "src/second.rs:20");
    let message = conflict.to_string();
    assert!(message.contains("src/first.rs:10") && message.contains("src/second.rs:20"));
    // The first one is still served.
    assert!(expvar::get("test_registry_twice").is_some());
}

#[test]
fn publish_get_and_iterate() {
    static REQUESTS: Counter = Counter::new();
    expvar::publish("test_registry_requests", &REQUESTS).unwrap();
    REQUESTS.add(3);
    let found = expvar::get("test_registry_requests").unwrap();
    assert_eq!(expvar::render_json(&*found), "3");
    assert!(expvar::get("test_registry_absent").is_none());

    let mut names = Vec::new();
    expvar::registry::for_each(|name, _| names.push(name.to_owned()));
    assert!(names.contains(&"test_registry_requests".to_owned()));
    assert!(names.contains(&"cmdline".to_owned()));
    assert!(names.contains(&"memstats".to_owned()));
    let mut sorted = names.clone();
    sorted.sort(); // byte-wise for `String`
    assert_eq!(names, sorted);
}

#[test]
fn runtime_duplicates_are_errors_naming_both_sites() {
    let first = Arc::new(Gauge::new());
    first.set(1);
    expvar::publish("test_registry_dup", Arc::clone(&first)).unwrap();
    let line_of_second = line!() + 1;
    let error = expvar::publish("test_registry_dup", Arc::new(Gauge::new())).unwrap_err();
    match &error {
        PublishError::Duplicate {
            name,
            existing,
            rejected,
        } => {
            assert_eq!(name, "test_registry_dup");
            assert_eq!(existing.line, line_of_second - 2);
            assert_eq!(rejected.line, line_of_second);
            assert!(rejected.file.ends_with("test_registry.rs"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("test_registry_dup"), "{message}");
    assert!(
        message.contains(&format!("test_registry.rs:{line_of_second}")),
        "{message}"
    );
    // The original is untouched.
    assert_eq!(
        expvar::render_json(&*expvar::get("test_registry_dup").unwrap()),
        "1"
    );
}

#[test]
fn runtime_name_clashing_with_link_time_name_is_an_error() {
    let error = expvar::publish("cmdline", Arc::new(Counter::new())).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("\"cmdline\""), "{message}");
    assert!(
        message.contains("stats/cmdline.rs"),
        "names the built-in's site: {message}"
    );
    assert!(
        expvar::unpublish("cmdline").is_none(),
        "link-time entries stay"
    );
}

#[test]
fn empty_names_are_refused() {
    assert!(matches!(
        expvar::publish("", Arc::new(Counter::new())),
        Err(PublishError::EmptyName { .. })
    ));
}

#[test]
fn unpublish_frees_the_name() {
    expvar::publish("test_registry_pool", Arc::new(Gauge::new())).unwrap();
    assert!(expvar::unpublish("test_registry_pool").is_some());
    assert!(expvar::unpublish("test_registry_pool").is_none());
    expvar::publish("test_registry_pool", Arc::new(Gauge::new())).unwrap();
}

#[test]
fn publish_func_and_user_vars() {
    struct Pair(u32, u32);
    impl Var for Pair {
        fn write(&self, out: Writer<'_>) {
            out.object(|fields| {
                fields.field("left").counter(self.0.into());
                fields
                    .field_with_help("right", "the right one")
                    .counter(self.1.into());
            });
        }
    }
    expvar::publish("test_registry_pair", Arc::new(Pair(1, 2))).unwrap();
    expvar::publish_func("test_registry_func", || vec!["a", "b"]).unwrap();
    let json: serde_json::Value = serde_json::from_str(&expvar::to_json()).unwrap();
    assert_eq!(
        json["test_registry_pair"],
        serde_json::json!({"left": 1, "right": 2})
    );
    assert_eq!(json["test_registry_func"], serde_json::json!(["a", "b"]));
}

#[test]
fn a_writer_left_unused_writes_null() {
    struct Lazy;
    impl Var for Lazy {
        fn write(&self, _out: Writer<'_>) {}
    }
    assert_eq!(expvar::render_json(&Lazy), "null");
}
