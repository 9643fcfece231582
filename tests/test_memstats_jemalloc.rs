//! `memstats` with jemalloc as the global allocator and no `CountingAlloc`: `Mallocs`,
//! `Frees`, `HeapObjects`, `TotalAlloc` and `BySize` come from jemalloc's statistics of
//! each size class. Known numbers of objects of known sizes are held and freed, and the
//! counts checked; then Go's strict decode reads the served document.
//!
//! jemalloc counts a thread's cached requests and frees when its cache fills or flushes,
//! so the test flushes this thread's cache (`thread.tcache.flush`) before each reading:
//! the counts of the size classes only the test uses are then exact. The totals also
//! move with what the reading itself allocates, so they are checked against the same
//! reading with nothing held: exact too, or within what one flushed cache refills for
//! the reading (stated below).
//!
//! `cargo test --features jemalloc --test test_memstats_jemalloc`
#![cfg(all(feature = "jemalloc", feature = "server"))]

use expvar_test_support as support;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Objects of 5,000 bytes: jemalloc's 5,120-byte bin, counted in Go's 5,376-byte class,
/// which no other jemalloc class maps to.
const SMALL: (usize, u64) = (5_000, 5_376);
/// Objects of 16,000 bytes: jemalloc's first large size (16 KiB), Go's 16,384-byte class.
const LARGE: (usize, u64) = (16_000, 16_384);
/// Objects of 100,000 bytes: a large size no thread caches, in no class of Go's.
const HUGE: usize = 100_000;
const HELD: usize = 1_000;
const HELD_LARGE: usize = 100;
const HELD_HUGE: usize = 10;

/// Returns this thread's cached regions to the arenas and merges its cached counts.
fn flush_this_thread() {
    // SAFETY: `thread.tcache.flush` reads and writes nothing; all pointers are null.
    let result = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"thread.tcache.flush".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    assert_eq!(result, 0, "thread.tcache.flush");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reading {
    mallocs: u64,
    frees: u64,
    heap_objects: u64,
    total_alloc: u64,
    heap_alloc: u64,
    /// `(Mallocs, Frees)` of Go's classes `SMALL.1` and `LARGE.1`.
    small: (u64, u64),
    large: (u64, u64),
}

impl Reading {
    /// `memstats` now, after flushing this thread's cache. Nothing of the reading stays
    /// allocated afterwards.
    fn take() -> Reading {
        flush_this_thread();
        let memstats = expvar::get("memstats").expect("the memstats variable");
        let json: serde_json::Value =
            serde_json::from_str(&expvar::render_json(&*memstats)).unwrap();
        let field = |name: &str| json[name].as_u64().unwrap();
        let class = |size: u64| {
            let entry = json["BySize"]
                .as_array()
                .unwrap()
                .iter()
                .find(|entry| entry["Size"] == size)
                .unwrap();
            (
                entry["Mallocs"].as_u64().unwrap(),
                entry["Frees"].as_u64().unwrap(),
            )
        };
        Reading {
            mallocs: field("Mallocs"),
            frees: field("Frees"),
            heap_objects: field("HeapObjects"),
            total_alloc: field("TotalAlloc"),
            heap_alloc: field("HeapAlloc"),
            small: class(SMALL.1),
            large: class(LARGE.1),
        }
    }

    fn since(self, earlier: Reading) -> [i64; 7] {
        let d = |now: u64, then: u64| now as i64 - then as i64;
        [
            d(self.mallocs, earlier.mallocs),
            d(self.frees, earlier.frees),
            d(self.heap_objects, earlier.heap_objects),
            d(self.small.0, earlier.small.0),
            d(self.small.1, earlier.small.1),
            d(self.large.0, earlier.large.0),
            d(self.large.1, earlier.large.1),
        ]
    }
}

#[test]
fn memstats_counts_come_from_jemalloc_and_go_decodes_them() {
    let mut held: Vec<Box<[u8]>> = Vec::with_capacity(HELD + HELD_LARGE + HELD_HUGE);
    for _ in 0..3 {
        Reading::take(); // warm: what a reading allocates once is allocated
    }
    // What a reading adds by itself, with nothing held between two.
    let first = Reading::take();
    let second = Reading::take();
    let reading_itself = second.since(first);
    assert_eq!(
        &reading_itself[3..],
        [0, 0, 0, 0],
        "only the test uses its classes"
    );

    for _ in 0..HELD {
        held.push(vec![1u8; SMALL.0].into_boxed_slice());
    }
    for _ in 0..HELD_LARGE {
        held.push(vec![2u8; LARGE.0].into_boxed_slice());
    }
    for _ in 0..HELD_HUGE {
        held.push(vec![3u8; HUGE].into_boxed_slice());
    }
    let holding = Reading::take();
    held.clear();
    let freed = Reading::take();

    let objects = (HELD + HELD_LARGE + HELD_HUGE) as i64;
    let allocated = holding.since(second);
    let released = freed.since(holding);
    // The test's own classes, exactly.
    assert_eq!(
        allocated[3..],
        [HELD as i64, 0, HELD_LARGE as i64, 0],
        "{holding:?}"
    );
    assert_eq!(
        released[3..],
        [0, HELD as i64, 0, HELD_LARGE as i64],
        "{freed:?}"
    );
    // The totals: the objects, plus what a reading adds by itself. A reading begins
    // with an empty cache and refills it as it allocates, so the regions cached at the
    // moment it reads the figures count as live: the same number in each reading but
    // for a cache garbage collection falling inside one of them, which can flush at
    // most the 200 regions a small class caches (`opt.tcache_nslots_small_max`).
    const SLACK: i64 = 200;
    let near = |what: &str, got: i64, expected: i64| {
        assert!(
            (got - expected).abs() <= SLACK,
            "{what}: {got}, expected {expected} (within {SLACK})"
        );
    };
    near("Mallocs held", allocated[0], objects + reading_itself[0]);
    near(
        "HeapObjects held",
        allocated[2],
        objects + reading_itself[2],
    );
    near("Frees released", released[1], objects + reading_itself[1]);
    near(
        "HeapObjects released",
        released[2],
        -objects + reading_itself[2],
    );
    // Go's identities, and the bytes.
    for reading in [first, second, holding, freed] {
        assert_eq!(reading.mallocs - reading.frees, reading.heap_objects);
        assert!(reading.total_alloc >= reading.heap_alloc, "{reading:?}");
    }
    let bytes = (HELD as u64) * 5_120 + (HELD_LARGE as u64) * 16_384 + (HELD_HUGE * HUGE) as u64;
    assert!(holding.total_alloc - second.total_alloc >= bytes);
    assert!(holding.heap_alloc >= second.heap_alloc + bytes - (1 << 20));
    println!("reading itself: {reading_itself:?}; held: {allocated:?}; freed: {released:?}");

    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start()
        .expect("bind");
    let url = format!("http://{}/debug/vars", server.local_addr());
    if let Some(stdout) = support::targets::go_decode_memstats(&url, true) {
        println!("{stdout}");
    }
    server.shutdown();
}
