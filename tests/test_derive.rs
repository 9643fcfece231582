//! `#[derive(Expvar)]`: field order, names, help text, labels, nesting, `global()`,
//! run-time instances.

use std::sync::{Arc, Mutex};

use expvar::{Counter, Expvar, Gauge, Histogram, Map, Var, Writer};

#[derive(Expvar, Default)]
struct TestDeriveApiStats {
    total: Counter,
    success: Counter,
    fail: Counter,
}

#[test]
fn global_is_published_under_the_snake_case_name() {
    let stats = TestDeriveApiStats::global();
    stats.total.inc();
    stats.success.inc();
    assert!(std::ptr::eq(stats, TestDeriveApiStats::global()));
    let published = expvar::get("test_derive_api_stats").unwrap();
    // Declaration order, not sorted.
    assert_eq!(
        expvar::render_json(&*published),
        r#"{"total": 1, "success": 1, "fail": 0}"#
    );
}

/// A user type implementing `Var` by hand.
#[derive(Default)]
struct Ratio {
    hits: Mutex<(u64, u64)>,
}

impl Var for Ratio {
    fn write(&self, out: Writer<'_>) {
        let (hits, total) = *self.hits.lock().unwrap();
        #[allow(clippy::cast_precision_loss)]
        out.float(if total == 0 {
            0.0
        } else {
            hits as f64 / total as f64
        });
    }
}

#[derive(Expvar, Default)]
#[expvar(name = "test_derive_queue")]
struct QueueStatus {
    /// Tasks waiting to run.
    pending: Gauge,
    done: Counter,
    #[expvar(rename = "latency")]
    wait: Histogram,
    /// Finished tasks
    /// by kind.
    #[expvar(label = "kind")]
    by_kind: Map<Counter>,
    #[expvar(skip)]
    #[allow(dead_code)]
    scratch: Mutex<Vec<u8>>,
    nested: TestDeriveApiStats,
    ratio: Ratio,
}

#[test]
fn attributes_rename_label_skip_and_nest() {
    let queue = QueueStatus::global();
    queue.pending.set(2);
    queue.done.add(5);
    queue.by_kind.inc("email");
    queue.nested.fail.inc();
    *queue.ratio.hits.lock().unwrap() = (1, 4);
    let text = expvar::render_json(&*expvar::get("test_derive_queue").unwrap());
    // Declaration order, `scratch` left out.
    let positions: Vec<usize> = ["pending", "done", "latency", "by_kind", "nested", "ratio"]
        .iter()
        .map(|key| text.find(&format!("\"{key}\": ")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
    assert!(!text.contains("scratch"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 6);
    assert_eq!(json["pending"], 2);
    assert_eq!(json["done"], 5);
    assert_eq!(json["latency"]["count"], 0);
    assert_eq!(json["by_kind"], serde_json::json!({"email": 1}));
    assert_eq!(
        json["nested"],
        serde_json::json!({"total": 0, "success": 0, "fail": 1})
    );
    assert_eq!(json["ratio"], 0.25);
}

#[test]
fn a_label_does_not_change_the_map() {
    // The map is created by `Default`, labelled `key`; `#[expvar(label = "kind")]` names
    // its keys when the struct is written (`Map::write_with_label`), which only formats
    // with labels show, and leaves the map itself as it is.
    let queue = QueueStatus::default();
    assert_eq!(queue.by_kind.label(), expvar::vars::DEFAULT_LABEL);
    queue.by_kind.inc("sms");
    assert!(expvar::render_json(&queue).contains(r#""by_kind": {"sms": 1}"#));
}

#[test]
fn other_instances_can_be_published_at_run_time() {
    let pool_a = Arc::new(TestDeriveApiStats::default());
    expvar::publish("test_derive_pool_a", Arc::clone(&pool_a)).unwrap();
    pool_a.total.add(7);
    assert_eq!(
        expvar::render_json(&*expvar::get("test_derive_pool_a").unwrap()),
        r#"{"total": 7, "success": 0, "fail": 0}"#
    );
    // The process-wide instance is a different one.
    assert!(!std::ptr::eq(&*pool_a, TestDeriveApiStats::global()));
}

mod reexport {
    //! A crate that re-exports `expvar` under another path.
    pub mod metrics {
        pub use expvar::*;
    }
}

#[derive(Expvar, Default)]
#[expvar(crate = reexport::metrics, name = "test_derive_reexported")]
struct Reexported {
    hits: reexport::metrics::Counter,
}

#[test]
fn crate_path_can_be_overridden() {
    Reexported::global().hits.inc();
    assert_eq!(
        expvar::render_json(&*expvar::get("test_derive_reexported").unwrap()),
        r#"{"hits": 1}"#
    );
}
