//! The variable types: exact values, including under concurrency.

use std::sync::Arc;
use std::thread;

use expvar::{Counter, Float, Func, Gauge, Histogram, Map, Str};

const THREADS: u64 = 8;
const INCREMENTS: u64 = 100_000;

#[test]
fn counter_is_exact_across_threads() {
    static HITS: Counter = Counter::new();
    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..INCREMENTS {
                    HITS.inc();
                }
            });
        }
    });
    assert_eq!(HITS.get(), THREADS * INCREMENTS);
}

#[test]
fn counter_counts_from_threads_that_exited_and_still_run() {
    let counter = Arc::new(Counter::new());
    let exited: Vec<_> = (0..4)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || counter.add(10))
        })
        .collect();
    for handle in exited {
        handle.join().unwrap();
    }
    counter.add(3);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let running = {
        let counter = Arc::clone(&counter);
        thread::spawn(move || {
            counter.add(100);
            ready_tx.send(()).unwrap();
            done_rx.recv().unwrap();
        })
    };
    ready_rx.recv().unwrap();
    assert_eq!(counter.get(), 4 * 10 + 3 + 100);
    done_tx.send(()).unwrap();
    running.join().unwrap();
    assert_eq!(counter.get(), 143);
}

#[test]
fn dropped_counters_do_not_leak_into_new_ones() {
    for round in 0..100 {
        let counter = Counter::new();
        assert_eq!(counter.get(), 0, "round {round}");
        counter.add(round + 1);
        assert_eq!(counter.get(), round + 1);
    }
}

#[test]
fn counter_and_histogram_sizes_are_as_documented() {
    // Documented costs: an idle counter is 24 bytes, an idle histogram 136.
    assert_eq!(std::mem::size_of::<Counter>(), 24);
    assert_eq!(std::mem::size_of::<Histogram>(), 136);
    // 10,000 idle counters: 240 KB, no per-thread slots until first use.
    let idle: Vec<Counter> = (0..10_000).map(|_| Counter::new()).collect();
    assert!(idle.iter().all(|counter| counter.get() == 0));
}

#[test]
fn many_counters_used_from_several_threads() {
    let counters: Vec<Counter> = (0..5_000).map(|_| Counter::new()).collect();
    thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for (index, counter) in counters.iter().enumerate() {
                    counter.add(index as u64);
                }
            });
        }
    });
    for (index, counter) in counters.iter().enumerate() {
        assert_eq!(counter.get(), 4 * index as u64);
    }
}

#[test]
fn gauge_goes_both_ways() {
    static DEPTH: Gauge = Gauge::new();
    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..10_000 {
                    DEPTH.inc();
                    DEPTH.add(2);
                    DEPTH.dec();
                    DEPTH.sub(1);
                }
            });
        }
    });
    assert_eq!(DEPTH.get(), THREADS as i64 * 10_000);
    DEPTH.set(-7);
    assert_eq!(DEPTH.get(), -7);
}

#[test]
fn float_add_never_loses_an_update() {
    static TOTAL: Float = Float::new();
    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..10_000 {
                    TOTAL.add(0.5); // exact in binary, so the sum is exact too
                }
            });
        }
    });
    assert_eq!(TOTAL.get(), THREADS as f64 * 10_000.0 * 0.5);
    TOTAL.set(f64::NAN);
    assert!(TOTAL.get().is_nan());
    assert_eq!(expvar::render_json(&TOTAL), "null");
}

#[test]
fn str_set_and_get() {
    let mode = Str::new();
    assert_eq!(mode.get(), "");
    mode.set("ready");
    mode.set(String::from("draining \"now\""));
    assert_eq!(mode.get(), "draining \"now\"");
    assert_eq!(expvar::render_json(&mode), r#""draining \"now\"""#);
}

#[test]
fn map_operations() {
    let map: Map<Counter> = Map::new();
    assert_eq!(map.label(), "key");
    assert!(map.is_empty());
    map.add("b", 2);
    map.inc("a");
    map.set("c", Counter::new());
    assert_eq!(map.keys(), ["a", "b", "c"]);
    assert_eq!(map.get("b").unwrap().get(), 2);
    assert!(map.get("zzz").is_none());
    assert_eq!(map.get_or_create("a").get(), 1);
    let mut seen = Vec::new();
    map.for_each(|key, value| seen.push((key.to_owned(), value.get())));
    assert_eq!(seen, [("a".into(), 1), ("b".into(), 2), ("c".into(), 0)]);
    assert_eq!(map.remove("c").unwrap().get(), 0);
    assert_eq!(map.len(), 2);
    assert_eq!(expvar::render_json(&map), r#"{"a": 1, "b": 2}"#);
    map.clear();
    assert_eq!(expvar::render_json(&map), "{}");

    let labelled: Map<Gauge> = Map::with_label("pool");
    assert_eq!(labelled.label(), "pool");
    labelled.add("x", -3);
    assert_eq!(labelled.get("x").unwrap().get(), -3);
    let floats: Map<Float> = Map::new();
    floats.add("ratio", 0.25);
    floats.add("ratio", 0.25);
    assert_eq!(floats.get("ratio").unwrap().get(), 0.5);
}

#[test]
fn map_add_is_exact_across_threads_creating_keys() {
    let map: Map<Counter> = Map::new();
    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for i in 0..10_000 {
                    map.add(["x", "y", "z"][i % 3], 1);
                }
            });
        }
    });
    let total: u64 = map.entries().iter().map(|(_, counter)| counter.get()).sum();
    assert_eq!(total, THREADS * 10_000);
    assert_eq!(map.get("x").unwrap().get(), THREADS * 3334);
}

#[test]
fn maps_nest() {
    let outer: Map<Map<Counter>> = Map::new();
    outer.get_or_create("eu").add("ok", 1);
    outer.get_or_create("us").add("ok", 2);
    assert_eq!(
        expvar::render_json(&outer),
        r#"{"eu": {"ok": 1}, "us": {"ok": 2}}"#
    );
}

#[test]
fn a_func_in_a_map_may_change_that_map_while_it_is_written() {
    // Values that run user code are written from a snapshot, outside the map's lock.
    static REENTRANT: Map<Func<fn() -> usize>> = Map::new();
    fn grows() -> usize {
        REENTRANT.set("zz_added_while_writing", Func::new(len));
        REENTRANT.len()
    }
    fn len() -> usize {
        REENTRANT.len()
    }
    REENTRANT.set("a", Func::new(grows));
    assert_eq!(expvar::render_json(&REENTRANT), r#"{"a": 2}"#);
    assert_eq!(
        expvar::render_json(&REENTRANT),
        r#"{"a": 2, "zz_added_while_writing": 2}"#
    );
}

#[test]
fn func_computes_on_read() {
    let calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let func = {
        let calls = Arc::clone(&calls);
        Func::new(move || calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1)
    };
    assert_eq!(expvar::render_json(&func), "1");
    assert_eq!(expvar::render_json(&func), "2");
    #[derive(serde::Serialize)]
    struct Limits {
        max: u32,
        names: Vec<&'static str>,
    }
    let structured = Func::new(|| Limits {
        max: 3,
        names: vec!["a"],
    });
    assert_eq!(
        expvar::render_json(&structured),
        r#"{"max":3,"names":["a"]}"#
    );
}

#[test]
fn histogram_counts_exactly_across_threads() {
    let histogram = Histogram::new();
    thread::scope(|scope| {
        for thread in 0..THREADS {
            let histogram = &histogram;
            scope.spawn(move || {
                for i in 0..1_000 {
                    histogram.record(f64::from(i + 1) * 0.001 * (thread + 1) as f64);
                }
            });
        }
    });
    let summary = histogram.summary();
    assert_eq!(summary.count, THREADS * 1_000);
    assert_eq!(summary.min, 0.001);
    assert_eq!(summary.max, 8.0);
    let expected_sum: f64 = (1..=THREADS).map(|t| t as f64 * 0.001 * 500_500.0).sum();
    assert!((summary.sum - expected_sum).abs() < 1e-6 * expected_sum);
    let json: serde_json::Value = serde_json::from_str(&expvar::render_json(&histogram)).unwrap();
    for key in [
        "count", "sum", "min", "max", "mean", "p50", "p90", "p99", "p999",
    ] {
        assert!(json[key].is_number(), "{key} in {json}");
    }
    assert_eq!(json["count"], THREADS * 1_000);
}

#[test]
fn empty_histogram_reads_as_zeros() {
    let histogram = Histogram::new();
    assert_eq!(
        expvar::render_json(&histogram),
        r#"{"count": 0, "sum": 0.0, "min": 0.0, "max": 0.0, "mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "p999": 0.0}"#
    );
}

#[test]
fn all_variable_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Counter>();
    assert_send_sync::<Gauge>();
    assert_send_sync::<Float>();
    assert_send_sync::<Str>();
    assert_send_sync::<Map<Counter>>();
    assert_send_sync::<Histogram>();
    assert_send_sync::<Func<fn() -> u8>>();
}
