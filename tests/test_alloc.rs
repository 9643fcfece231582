//! Exact allocator accounting. A dedicated binary without the test harness, so no other
//! thread allocates between two reads of the counts.

use std::hint::black_box;
use std::sync::{Arc, Barrier};

use expvar::{stats::AllocStats, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Class index of Go's 112-byte class, which holds a 100-byte allocation.
const CLASS_112: usize = 9;
/// Class index of Go's 512-byte class (481 to 512 bytes), counted by exact size: a
/// class nothing else in this binary allocates in.
const CLASS_512: usize = 26;
/// Class index of Go's 13,568-byte class: a size nothing else in this binary allocates.
const CLASS_13568: usize = 57;

fn read() -> AllocStats {
    AllocStats::read().expect("CountingAlloc is the global allocator")
}

fn single_allocation() {
    let before = read();
    let buffer: Vec<u8> = black_box(Vec::with_capacity(100));
    let during = read();
    assert_eq!(during.mallocs - before.mallocs, 1);
    assert_eq!(during.frees, before.frees);
    assert_eq!(during.total_bytes - before.total_bytes, 100);
    assert_eq!(during.live_bytes - before.live_bytes, 100);
    assert_eq!(during.live_objects - before.live_objects, 1);
    assert_eq!(during.by_size[CLASS_112].size, 112);
    assert_eq!(
        during.by_size[CLASS_112].mallocs - before.by_size[CLASS_112].mallocs,
        1
    );
    drop(buffer);
    let after = read();
    assert_eq!(after.mallocs, during.mallocs);
    assert_eq!(after.frees - during.frees, 1);
    assert_eq!(after.freed_bytes - during.freed_bytes, 100);
    assert_eq!(after.live_bytes, before.live_bytes);
    assert_eq!(after.live_objects, before.live_objects);
    assert_eq!(after.total_bytes, during.total_bytes);
}

fn realloc_counts_as_free_and_malloc() {
    let mut buffer: Vec<u8> = black_box(Vec::with_capacity(100));
    let before = read();
    // An empty vector reserving 1000 grows its 100-byte buffer to 1000 bytes.
    buffer.reserve_exact(1000);
    let after = read();
    assert_eq!(after.mallocs - before.mallocs, 1);
    assert_eq!(after.frees - before.frees, 1);
    assert_eq!(after.total_bytes - before.total_bytes, 1000);
    assert_eq!(after.freed_bytes - before.freed_bytes, 100);
    assert_eq!(after.live_bytes - before.live_bytes, 900);
    drop(black_box(buffer));
}

fn large_allocations_are_only_in_totals() {
    let before = read();
    let buffer: Vec<u8> = black_box(vec![0; 1 << 20]);
    let after = read();
    assert_eq!(after.mallocs - before.mallocs, 1);
    assert_eq!(after.total_bytes - before.total_bytes, 1 << 20);
    let class_mallocs = |stats: &AllocStats| stats.by_size.iter().map(|c| c.mallocs).sum::<u64>();
    assert_eq!(class_mallocs(&after), class_mallocs(&before));
    drop(buffer);
}

/// Sizes counted one by one (up to 1,024 bytes) and by class (above) land in Go's class,
/// with their exact bytes, on both sides of each boundary.
fn every_size_lands_in_its_class() {
    for size in [
        1, 8, 9, 100, 255, 512, 513, 1000, 1023, 1024, 1025, 1100, 18432,
    ] {
        let layout = std::alloc::Layout::from_size_align(size, 1).unwrap();
        let before = read();
        let class = before
            .by_size
            .iter()
            .position(|class| class.size as usize >= size)
            .unwrap();
        // SAFETY: a non-zero size; freed below with the same layout.
        let block = unsafe { std::alloc::alloc(layout) };
        assert!(!block.is_null());
        let during = read();
        // SAFETY: allocated above with this layout.
        unsafe { std::alloc::dealloc(black_box(block), layout) };
        let after = read();
        assert_eq!(during.mallocs - before.mallocs, 1, "size {size}");
        assert_eq!(
            during.total_bytes - before.total_bytes,
            size as u64,
            "size {size}"
        );
        let class_mallocs = during.by_size[class].mallocs - before.by_size[class].mallocs;
        assert_eq!(class_mallocs, 1, "size {size} in class {class}");
        assert_eq!(after.frees - during.frees, 1, "size {size}");
        assert_eq!(
            after.freed_bytes - during.freed_bytes,
            size as u64,
            "size {size}"
        );
        assert_eq!(after.by_size[class].frees - during.by_size[class].frees, 1);
    }
}

/// More threads than shards, alive at once: some count in the shared shard. Then many
/// short-lived threads, which reuse the shards of exited ones. Every count is kept, of
/// sizes counted by class and by exact size alike.
fn many_threads() {
    const PER_THREAD: u64 = 500;
    let run = |threads: usize, together: bool| {
        let before = read();
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let work = move || {
                    if together {
                        barrier.wait();
                    }
                    for _ in 0..PER_THREAD {
                        drop(black_box(Vec::<u8>::with_capacity(13_000)));
                        drop(black_box(Vec::<u8>::with_capacity(490)));
                    }
                };
                let handle = std::thread::spawn(work);
                if !together {
                    handle.join().unwrap();
                    None
                } else {
                    Some(handle)
                }
            })
            .collect();
        for handle in handles.into_iter().flatten() {
            handle.join().unwrap();
        }
        let after = read();
        for class in [CLASS_13568, CLASS_512] {
            let (after, before) = (after.by_size[class], before.by_size[class]);
            assert_eq!(after.mallocs - before.mallocs, threads as u64 * PER_THREAD);
            assert_eq!(after.frees - before.frees, threads as u64 * PER_THREAD);
        }
    };
    run(100, true);
    run(200, false);
}

fn totals_never_decrease() {
    let mut last = read();
    for round in 0..1000 {
        let keep: Vec<Box<[u8]>> = (0..round % 7).map(|n| vec![0u8; n * 50].into()).collect();
        let now = read();
        assert!(now.total_bytes >= last.total_bytes);
        assert!(now.mallocs >= last.mallocs);
        assert!(now.frees >= last.frees);
        drop(black_box(keep));
        last = now;
    }
}

fn memstats_reports_the_counts() {
    let json: serde_json::Value = serde_json::from_str(&expvar::to_json()).unwrap();
    let memstats = &json["memstats"];
    let stats = read();
    assert!(memstats["Mallocs"].as_u64().unwrap() > 0);
    assert!(memstats["Mallocs"].as_u64().unwrap() <= stats.mallocs);
    assert!(memstats["TotalAlloc"].as_u64().unwrap() <= stats.total_bytes);
    assert!(memstats["HeapObjects"].as_u64().unwrap() > 0);
    assert_eq!(memstats["BySize"][CLASS_112]["Size"], 112);
    assert!(memstats["BySize"][CLASS_112]["Mallocs"].as_u64().unwrap() > 0);
}

/// Go's orderings hold with counts from `CountingAlloc` and sizes from the allocator.
fn memstats_invariants_with_counting() {
    let held = black_box(vec![1u8; 8 << 20]);
    let json: serde_json::Value = serde_json::from_str(&expvar::to_json()).unwrap();
    let memstats = |name: &str| json["memstats"][name].as_u64().unwrap();
    let source = json["process"]["memstats_source"].as_str().unwrap();
    assert!(source.starts_with("CountingAlloc+"), "{source}");
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert_eq!(source, "CountingAlloc+glibc");
    }
    assert!(memstats("Sys") >= memstats("HeapSys"));
    assert!(memstats("HeapSys") >= memstats("HeapInuse"));
    assert!(memstats("HeapInuse") >= memstats("HeapAlloc"));
    assert!(memstats("HeapAlloc") >= 8 << 20);
    assert!(memstats("TotalAlloc") >= memstats("HeapAlloc"));
    assert!(memstats("Mallocs") >= memstats("Frees") + memstats("HeapObjects"));
    drop(held);
}

fn main() {
    let tests: [(&str, fn()); 8] = [
        ("single_allocation", single_allocation),
        (
            "every_size_lands_in_its_class",
            every_size_lands_in_its_class,
        ),
        (
            "realloc_counts_as_free_and_malloc",
            realloc_counts_as_free_and_malloc,
        ),
        (
            "large_allocations_are_only_in_totals",
            large_allocations_are_only_in_totals,
        ),
        ("many_threads", many_threads),
        ("totals_never_decrease", totals_never_decrease),
        ("memstats_reports_the_counts", memstats_reports_the_counts),
        (
            "memstats_invariants_with_counting",
            memstats_invariants_with_counting,
        ),
    ];
    for (name, test) in tests {
        test();
        println!("test {name} ... ok");
    }
    println!(
        "\ntest result: ok. {} passed; 0 failed; 0 ignored",
        tests.len()
    );
}
