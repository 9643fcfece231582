//! A Go program decodes the served `memstats` into `runtime.MemStats` with
//! `encoding/json`, as Metricbeat's golang module does.
//!
//! Needs `go` (Debian `golang-go`). Without it the test is skipped with a message, unless
//! `EXPVAR_REQUIRE_E2E=1`, which makes a missing `go` a failure.
#![cfg(feature = "server")]

use expvar_test_support as support;

#[global_allocator]
static ALLOC: expvar::CountingAlloc = expvar::CountingAlloc::new();

#[test]
fn go_decodes_memstats_into_runtime_memstats() {
    let keep: Vec<String> = (0..100).map(|n| n.to_string()).collect();
    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start()
        .expect("bind");
    let url = format!("http://{}/debug/vars", server.local_addr());
    if let Some(stdout) = support::targets::go_decode_memstats(&url, true) {
        println!("{stdout}");
    }
    drop(keep);
    server.shutdown();
}
