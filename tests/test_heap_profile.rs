//! `/debug/pprof/heap` (feature `heap-profile`): jemalloc's heap profile, which
//! `go tool pprof` reads, for a program whose global allocator is jemalloc with
//! profiling on; `/debug/pprof/` lists it. Also: with jemalloc as the global allocator,
//! `memstats` takes its heap figures from jemalloc and keeps Go's orderings.
//!
//! `go tool pprof` needs Go (Debian `golang-go`); without it that check is skipped with
//! a message, unless `EXPVAR_REQUIRE_E2E=1`.

use expvar_test_support as support;

use std::hint::black_box;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this symbol (prefixed, as `tikv-jemallocator` builds
/// it): profiling on, a sample every 2^16 bytes on average.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"prof:true,prof_active:true,lg_prof_sample:16\0";

#[inline(never)]
fn hold_heap_profile_blocks() -> Vec<Vec<u8>> {
    (0..256)
        .map(|n| black_box(vec![n as u8; 64 << 10]))
        .collect()
}

#[test]
fn heap_profile_is_served_and_go_reads_it() {
    let held = hold_heap_profile_blocks();
    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start()
        .unwrap();
    let addr = server.local_addr();

    let index = support::get(addr, "/debug/pprof/");
    assert_eq!(index.status, 200);
    assert!(
        index.body.contains("<a href=\"heap\">heap</a>"),
        "{}",
        index.body
    );

    // The profile is gzip, not text: its bytes.
    let profile = support::get(addr, "/debug/pprof/heap");
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert!(profile.bytes.len() > 100);
    go_pprof_reads(&profile.bytes);

    let vars: serde_json::Value =
        serde_json::from_str(&support::get(addr, "/debug/vars").body).unwrap();
    assert_eq!(vars["process"]["memstats_source"], "jemalloc");
    let memstats = |name: &str| vars["memstats"][name].as_u64().unwrap();
    assert!(
        memstats("HeapAlloc") >= 16 << 20,
        "256 blocks of 64 KiB are held"
    );
    assert!(memstats("Sys") >= memstats("HeapSys"));
    assert!(memstats("HeapSys") >= memstats("HeapInuse"));
    assert!(memstats("HeapInuse") >= memstats("HeapAlloc"));
    assert_eq!(
        memstats("HeapSys"),
        memstats("HeapInuse") + memstats("HeapIdle")
    );
    assert!(memstats("HeapReleased") <= memstats("HeapIdle"));
    // Without `CountingAlloc`, the counts are jemalloc's own (per size class).
    assert!(memstats("TotalAlloc") >= memstats("HeapAlloc"));
    assert!(memstats("HeapObjects") >= 256, "256 blocks are held");
    assert_eq!(
        memstats("Mallocs") - memstats("Frees"),
        memstats("HeapObjects")
    );
    drop(held);
    server.shutdown();
}

fn go_pprof_reads(profile: &[u8]) {
    if let Some(stdout) = support::go_pprof_raw(profile, "heap-profile") {
        assert!(stdout.contains("space bytes"), "{stdout}");
    }
}
