//! The README's demo: the quickstart example serves live data at `/debug/vars`.
#![cfg(feature = "server")]

use expvar_test_support as support;

use std::io::BufReader;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{example_path, get, wait_for_line, ChildGuard};

#[test]
fn quickstart_serves_live_data() {
    let mut child = ChildGuard(
        Command::new(example_path("quickstart"))
            .args(["--vars", "3"])
            .env("EXPVAR_ADDR", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the quickstart example"),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let url = wait_for_line(&mut stdout, "serving http://");
    let addr: SocketAddr = url.trim_end_matches("/debug/vars").parse().unwrap();
    // The other endpoints a newcomer opens next are printed too, and answer.
    let metrics = wait_for_line(&mut stdout, "Prometheus metrics at http://");
    assert_eq!(metrics, format!("{addr}/metrics"));
    let dashboard = wait_for_line(&mut stdout, "live dashboard at http://");
    assert_eq!(dashboard, format!("{addr}/debug/dashboard"));
    for path in ["/metrics", "/debug/dashboard"] {
        assert_eq!(get(addr, path).status, 200, "{path}");
    }

    let read = || -> serde_json::Value {
        let response = get(addr, "/debug/vars");
        assert_eq!(response.status, 200);
        serde_json::from_str(&response.body).expect("valid JSON")
    };
    let first = read();
    for key in [
        "requests",
        "errors",
        "api_results",
        "uptime_seconds",
        "cmdline",
        "memstats",
    ] {
        assert!(first.get(key).is_some(), "{key} missing from {first}");
    }
    assert_eq!(first["counter_00002"], 2);
    assert_eq!(first["version"], env!("CARGO_PKG_VERSION"));

    // Live: the workers keep handling requests, so the counts move.
    let mut later = read();
    for _ in 0..100 {
        if later["requests"].as_u64() > first["requests"].as_u64() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        later = read();
    }
    assert!(
        later["requests"].as_u64() > first["requests"].as_u64(),
        "{first} -> {later}"
    );
    let results: u64 = later["api_results"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    // Each request is counted in `requests` before its result lands in `api_results`.
    let requests = later["requests"].as_u64().unwrap();
    assert!(results <= requests && requests - results <= 2, "{later}");
}
