//! A variable that fails on every scrape is counted every time, logged at most once a
//! minute, and never prints the panic hook's message and backtrace.
//!
//! One test: the panic hook and the logger are process-wide.

use expvar_test_support as support;
use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn panicking_variables_are_counted_each_time_but_logged_once_and_quietly() {
    support::logs::capture("render_failures_", log::LevelFilter::Warn);
    // Stands for the default hook (which prints the message and a backtrace): expvar's
    // hook goes in front of it on the first render and must pass other panics on.
    panic::set_hook(Box::new(|_| {
        HOOK_CALLS.fetch_add(1, Relaxed);
    }));

    expvar::publish_func("render_failures_broken", || -> u64 {
        panic!("database gone")
    })
    .unwrap();
    expvar::publish_func("render_failures_also_broken", || -> u64 { panic!("other") }).unwrap();
    let failures_before = expvar::registry::render_failures();
    for _ in 0..3 {
        let json = expvar::to_json();
        assert!(json.contains("\"render_failures_broken\": null"), "{json}");
        let text = expvar::to_prometheus();
        assert!(!text.contains("render_failures_broken"));
    }

    // 2 variables x 3 scrapes x 2 formats, every one counted.
    assert_eq!(expvar::registry::render_failures() - failures_before, 12);
    assert_eq!(HOOK_CALLS.load(Relaxed), 0, "the panic hook stayed quiet");
    let lines = support::logs::logged();
    assert_eq!(lines.len(), 2, "one line per variable: {lines:#?}");
    let broken = lines
        .iter()
        .find(|line| line.contains("\"render_failures_broken\""))
        .unwrap();
    assert!(broken.contains("panicked: database gone"), "{broken}");
    assert!(broken.contains("test_render_failures.rs:"), "{broken}");

    // A panic outside rendering still reaches the hook installed before.
    let outside = panic::catch_unwind(|| panic!("not expvar's"));
    assert!(outside.is_err());
    assert_eq!(HOOK_CALLS.load(Relaxed), 1);
}
