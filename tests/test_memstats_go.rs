//! A Go program decodes the served `memstats` into `runtime.MemStats` with
//! `encoding/json`, as Metricbeat's golang module does.
//!
//! Needs `go` (Debian `golang-go`). Without it the test is skipped with a message, unless
//! `EXPVAR_REQUIRE_E2E=1`, which makes a missing `go` a failure.
#![cfg(feature = "server")]

use expvar_test_support as support;
use std::path::Path;

use std::process::Command;

#[global_allocator]
static ALLOC: expvar::CountingAlloc = expvar::CountingAlloc::new();

#[test]
fn go_decodes_memstats_into_runtime_memstats() {
    if !support::external_program("go", &["version"], "golang-go") {
        return;
    }
    let keep: Vec<String> = (0..100).map(|n| n.to_string()).collect();
    let server = expvar::ServerBuilder::new()
        .addr("127.0.0.1:0")
        .start()
        .expect("bind");
    let url = format!("http://{}/debug/vars", server.local_addr());

    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/memstats_decode.go");
    let output = Command::new("go")
        .arg("run")
        .arg(&program)
        .arg("-counting")
        .arg(&url)
        // Standard library only; never reach for a module proxy or a newer toolchain.
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "off")
        .env("GOPATH", scratch.join("path"))
        .env("GOCACHE", scratch.join("cache"))
        .output()
        .expect("run go");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "go program failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.starts_with("ok: "), "{stdout}");
    println!("{stdout}");
    drop(keep);
    server.shutdown();
}
