//! Bounds under hostile use: thread bursts keep counts exact and reads cheap, and a
//! `Map` keyed by outside input stops growing at its key limit, and takes no key longer
//! than its byte limit, without losing counts.

use std::sync::{Arc, Barrier};
use std::thread;

use expvar::{vars::OVERFLOW_KEY, Counter, Gauge, Histogram, Map};

#[test]
fn counts_are_exact_after_a_burst_of_short_lived_threads() {
    const THREADS: usize = 1_000;
    static BURST: Counter = Counter::new();
    let sizes = Histogram::new();
    BURST.add(7);
    let barrier = Barrier::new(THREADS + 1);
    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                BURST.inc();
                sizes.record(0.5);
                // Every thread alive at once, then all exit together.
                barrier.wait();
                BURST.add(2);
            });
        }
        barrier.wait();
        // Read while threads exit and their counts move to the shared total: a read
        // never counts anything twice.
        let during = BURST.get();
        assert!(
            (7 + THREADS as u64..=7 + 3 * THREADS as u64).contains(&during),
            "{during}"
        );
    });
    assert_eq!(BURST.get(), 7 + 3 * THREADS as u64);
    assert_eq!(sizes.summary().count, THREADS as u64);
    assert_eq!(sizes.sum(), 0.5 * THREADS as f64);
    // Counting goes on from the exited threads' totals, and a new counter starts at 0.
    BURST.inc();
    assert_eq!(BURST.get(), 8 + 3 * THREADS as u64);
    let fresh = Counter::new();
    fresh.inc();
    assert_eq!(fresh.get(), 1);
}

#[test]
fn dropped_counters_counted_by_exited_threads_leave_nothing_behind() {
    for round in 1..=50 {
        let counter = Arc::new(Counter::new());
        let worker = {
            let counter = Arc::clone(&counter);
            thread::spawn(move || counter.add(round))
        };
        worker.join().unwrap();
        assert_eq!(counter.get(), round);
        drop(counter);
        let next = Counter::new();
        next.inc();
        assert_eq!(next.get(), 1, "round {round}");
    }
}

#[test]
fn a_map_stops_at_its_limit_and_counts_the_rest_under_the_overflow_key() {
    let map: Map<Counter> = Map::with_limit(100);
    for key in 0..10_000_u64 {
        map.add(&format!("hostile-{key}"), key % 3);
    }
    // Keys already in keep their own entries past the limit.
    map.add("hostile-0", 5);
    assert_eq!(map.len(), 101);
    assert_eq!(map.limit(), 100);
    let total: u64 = map.entries().iter().map(|(_, counter)| counter.get()).sum();
    let added: u64 = (0..10_000_u64).map(|key| key % 3).sum::<u64>() + 5;
    assert_eq!(total, added, "nothing is lost");
    assert_eq!(map.get("hostile-0").unwrap().get(), 5);
    let in_map: u64 = (0..100_u64).map(|key| key % 3).sum();
    assert_eq!(map.get(OVERFLOW_KEY).unwrap().get(), added - 5 - in_map);
    assert!(map.get("hostile-5000").is_none());

    // Every way in respects the limit; removing makes room again.
    assert!(Arc::ptr_eq(
        &map.get_or_create("late"),
        &map.get(OVERFLOW_KEY).unwrap()
    ));
    map.remove("hostile-1");
    map.inc("late");
    assert_eq!(map.get("late").unwrap().get(), 1);
    assert_eq!(map.len(), 101);
}

#[test]
fn set_past_the_limit_sets_the_overflow_entry_and_gauges_overflow_too() {
    let gauges: Map<Gauge> = Map::with_label("pool").limited(2);
    assert_eq!(gauges.label(), "pool");
    for pool in ["a", "b", "c", "d"] {
        gauges.add(pool, 1);
    }
    gauges.add("c", -1);
    assert_eq!(gauges.keys(), [OVERFLOW_KEY, "a", "b"]);
    assert_eq!(gauges.get(OVERFLOW_KEY).unwrap().get(), 1);
    gauges.set("e", Gauge::new());
    assert_eq!(gauges.get(OVERFLOW_KEY).unwrap().get(), 0);
    assert_eq!(gauges.len(), 3);
}

#[test]
fn the_default_limit_is_2000_and_settable_for_the_process() {
    // Maps created here without a limit: this test alone changes the default.
    let early: Map<Counter> = Map::new();
    assert_eq!(expvar::vars::default_map_limit(), 2000);
    for key in 0..3_000 {
        early.inc(&key.to_string());
    }
    assert_eq!(early.len(), 2001);
    assert_eq!(early.get(OVERFLOW_KEY).unwrap().get(), 1000);

    expvar::vars::set_default_map_limit(10);
    let later: Map<Counter> = Map::new();
    for key in 0..20 {
        later.inc(&key.to_string());
    }
    assert_eq!(later.len(), 11);
    // A map keeps the limit it read first.
    assert_eq!(early.limit(), 2000);
    expvar::vars::set_default_map_limit(expvar::vars::DEFAULT_MAP_LIMIT);
    assert_eq!(later.limit(), 10);
}

#[test]
fn long_keys_are_counted_under_the_overflow_key() {
    // Was: 100,000 keys of 64 KiB kept 2,001 of them, 113 MB, and a 246 MB render.
    let map: Map<Counter> = Map::new();
    let long = "k".repeat(64 * 1024);
    for key in 0..1_000 {
        map.inc(&format!("{key}{long}"));
    }
    let fits = "f".repeat(expvar::vars::DEFAULT_MAX_MAP_KEY_BYTES);
    map.inc(&fits);
    assert_eq!(map.keys(), [OVERFLOW_KEY.to_owned(), fits]);
    assert_eq!(map.get(OVERFLOW_KEY).unwrap().get(), 1_000);
    let json = expvar::render_json(&map);
    assert!(json.len() < 1024, "{} bytes", json.len());
    // Every way in: `set` and `get_or_create` too.
    let gauges: Map<Gauge> = Map::new();
    gauges.set(long.clone(), Gauge::new());
    assert!(Arc::ptr_eq(
        &gauges.get_or_create(&long),
        &gauges.get(OVERFLOW_KEY).unwrap()
    ));
    assert_eq!(gauges.len(), 1);
}
